/**
 * Optional packages: what only one command or one backend needs is not installed with memopipe
 * (a user who never plots does not download Vega's 75 packages). Such a package is an optional
 * peer dependency (`peerDependenciesMeta` in package.json), or an optional dependency (ts-morph:
 * installed unless `--omit=optional`), and is imported on first use through `importOptional`,
 * which turns "Cannot find package 'vega'" into one line saying what to install to use what.
 *
 * Adding one: a row in `OPTIONAL_PACKAGES` (the range must be the one in package.json, which
 * `test/optional-package.test.ts` checks), then `await importOptional<typeof import("vega")>("plot", "vega")`
 * where the feature starts.
 *
 * Why the package is imported by a name in a variable, not a literal `import("vega")`: bundlers
 * resolve every literal import before they tree-shake, so a user bundling a program that never
 * plots would get "Could not resolve 'vega'" unless they installed Vega. With a variable (and the
 * ignore comments of webpack and Vite), a bundle never contains the optional package: a bundled
 * program that plots finds it in node_modules at run time, or gets the "install" line.
 */
import { MemopipeError } from "./errors.js";

/**
 * What each optional feature needs: the packages (with the version range of package.json) and how
 * the feature is called in the message.
 */
export const OPTIONAL_PACKAGES = {
  plot: { feature: "plots (memopipe plot, renderSvg, plotFile)", packages: { vega: "~6.4.0", "vega-lite": "~6.4.0" } },
  fingerprint: { feature: "code fingerprints (memopipe fingerprint)", packages: { "ts-morph": "^28.0.0" } },
  svg: { feature: "SVG graphs (memopipe graph --format svg|html, memopipe report, renderGraphSvg)", packages: { "@viz-js/viz": "^3.31.0" } },
  redis: { feature: "a cache shared over Redis (RedisStore)", packages: { ioredis: "^5.9.3" } },
  bullmq: { feature: "BullMQ workers (the bullmq Runner, memopipe worker)", packages: { bullmq: "^6.7.0", ioredis: "^5.9.3" } },
} as const satisfies Record<string, { feature: string; packages: Record<string, string> }>;

/** A feature that needs optional packages (a key of `OPTIONAL_PACKAGES`). */
export type OptionalFeature = keyof typeof OPTIONAL_PACKAGES;

/**
 * A feature needs a package that is not installed. The message is one line with the command that
 * installs it; `packageName` is the missing package, `install` the whole command.
 *
 * @example
 * try { await plotFile("r.jsonl", "r.svg", { x: "a", y: "b" }); }
 * catch (e) { if (e instanceof MissingPackageError) console.error(e.message); }
 * // install vega and vega-lite to use plots (memopipe plot, renderSvg, plotFile): npm install vega@~6.4.0 vega-lite@~6.4.0
 */
export class MissingPackageError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_MISSING_PACKAGE";

  constructor(
    /** The package that could not be found, e.g. `vega`. */
    readonly packageName: string,
    /** The feature that needs it, e.g. `plot`. */
    readonly feature: OptionalFeature,
    /** The command that installs what the feature needs, e.g. `npm install vega@~6.4.0 vega-lite@~6.4.0`. */
    readonly install: string,
    cause: unknown,
  ) {
    const names = Object.keys(OPTIONAL_PACKAGES[feature].packages);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
    super(`install ${list} to use ${OPTIONAL_PACKAGES[feature].feature}: ${install}`, { cause });
  }
}

/**
 * Imports the optional package `specifier` (or runs `load`: an import of one of memopipe's own
 * modules that imports the package) and turns "the package is not installed" into a
 * `MissingPackageError`. Any other failure (a package that is installed but broken, a module
 * missing *inside* it) is re-thrown as it is.
 *
 * @example
 * const vega = await importOptional<typeof import("vega")>("plot", "vega");
 * const codegen = await importOptional("fingerprint", () => import("../codegen/index.js"));
 */
export async function importOptional<T>(feature: OptionalFeature, specifier: string | (() => Promise<T>)): Promise<T> {
  try {
    return typeof specifier === "string" ? ((await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as T) : await specifier();
  } catch (error) {
    const missing = missingPackage(error, Object.keys(OPTIONAL_PACKAGES[feature].packages));
    if (missing === undefined) throw error;
    const install = `npm install ${Object.entries(OPTIONAL_PACKAGES[feature].packages)
      .map(([name, range]) => `${name}@${range}`)
      .join(" ")}`;
    throw new MissingPackageError(missing, feature, install, error);
  }
}

/**
 * The name of the package in `names` that `error` says cannot be found, if that is what it says.
 * ESM: `ERR_MODULE_NOT_FOUND`, "Cannot find package 'vega' imported from …"; CJS:
 * `MODULE_NOT_FOUND`, "Cannot find module 'vega'". A module missing inside an installed package
 * ("Cannot find module '…/vega/build/x.js'") names a path, not the package, and is not matched.
 */
function missingPackage(error: unknown, names: readonly string[]): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined;
  const message = String((error as { message?: unknown }).message);
  return names.find((name) => message.includes(`package '${name}'`) || message.includes(`module '${name}'`));
}
