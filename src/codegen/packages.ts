/**
 * Installed packages as fingerprint parts: a stage that uses `lodash` depends on the installed
 * `lodash` by its version (the part "dependency `lodash`" has the value "4.17.21"), not on its
 * code. The label does not carry the version, so a bump is one changed part, not a removed one
 * and an added one.
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";

/**
 * An installed package a stage uses, counted by its version.
 *
 * @example
 * // { label: "dependency `lodash`", name: "lodash", digest: "4.17.21",
 * //   packageJson: "/repo/node_modules/lodash/package.json" }
 */
export interface Dependency {
  /** "dependency `lodash`". */
  readonly label: string;
  readonly name: string;
  /** The part's value: the installed version ("4.17.21"), or "unresolved" when it is not installed. */
  readonly digest: string;
  /** Its package.json (absolute), listed in the stage's `files` so an upgrade makes the entry stale. */
  readonly packageJson: string | undefined;
}

/**
 * A package.json with a name.
 *
 * @example
 * // { name: "lodash", version: "4.17.21", file: "/repo/node_modules/lodash/package.json" }
 */
export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  /** The package.json (absolute). */
  readonly file: string;
}

const builtins = new Set(builtinModules);

/**
 * Package lookups, memoised for one analysis.
 *
 * @example
 * const packages = new Packages();
 * packages.ofSpecifier("lodash/fp", "/repo/src")?.digest; // "4.17.21"
 * packages.ofFile("/repo/node_modules/lodash/fp.d.ts")?.version; // "4.17.21"
 */
export class Packages {
  /** The package.json files of the dependencies found (absolute): inputs of the analysis. */
  readonly files = new Set<string>();
  private readonly byName = new Map<string, Dependency | undefined>();
  private readonly byDir = new Map<string, PackageInfo | undefined>();

  /**
   * The dependency a bare module specifier imported from `dir` stands for; `undefined` for Node
   * built-ins (`fs`, `node:fs`) and relative specifiers.
   */
  ofSpecifier(specifier: string, dir: string): Dependency | undefined {
    if (specifier === "" || specifier.startsWith(".") || path.isAbsolute(specifier)) return undefined;
    if (specifier.startsWith("node:") || builtins.has(specifier) || builtins.has(specifier.split("/")[0]!)) return undefined;
    const parts = specifier.split("/");
    return this.dependency(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!, dir);
  }

  /**
   * The dependency part of a package, by the `version` of the package.json it resolves to from
   * `dir` (Node's lookup: `node_modules/<name>` in each parent directory, then the package itself
   * through its self-reference). `@types/x` stands for `x` when `x` is installed, else for nothing
   * (types have no run-time code). A package that cannot be found counts as `@unresolved`.
   */
  dependency(name: string, dir: string): Dependency | undefined {
    // memopipe itself is not a stage's code (its `stage` is in every factory): its formats are versioned on their own
    if (name === "memopipe") return undefined;
    let real = name;
    if (name.startsWith("@types/")) {
      const bare = name.slice("@types/".length);
      real = bare.includes("__") ? `@${bare.replace("__", "/")}` : bare;
    }
    const key = `${real}\u0000${dir}`;
    if (this.byName.has(key)) return this.byName.get(key);
    let found: PackageInfo | undefined;
    for (let d = dir; ; d = path.dirname(d)) {
      const candidate = path.join(d, "node_modules", real, "package.json");
      if (existsSync(candidate)) {
        found = readPackage(candidate);
        break;
      }
      if (path.dirname(d) === d) break;
    }
    if (!found) {
      const self = this.ofFile(path.join(dir, "x"));
      if (self?.name === real) found = self;
    }
    let dep: Dependency | undefined;
    if (found) {
      this.files.add(found.file);
      dep = { label: `dependency \`${found.name}\``, name: found.name, digest: found.version, packageJson: found.file };
    } else if (real === name) {
      dep = { label: `dependency \`${real}\``, name: real, digest: "unresolved", packageJson: undefined };
    }
    this.byName.set(key, dep);
    return dep;
  }

  /** The nearest package.json above a file that has a name (skipping `{"type": "module"}` stubs in dist folders). */
  ofFile(file: string): PackageInfo | undefined {
    const dir = path.dirname(file);
    if (this.byDir.has(dir)) return this.byDir.get(dir);
    const candidate = path.join(dir, "package.json");
    let info = existsSync(candidate) ? readPackage(candidate) : undefined;
    if (!info && path.dirname(dir) !== dir && path.basename(dir) !== "node_modules") info = this.ofFile(dir);
    this.byDir.set(dir, info);
    return info;
  }
}

function readPackage(file: string): PackageInfo | undefined {
  try {
    const json = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
    if (typeof json.name !== "string") return undefined;
    return { name: json.name, version: typeof json.version === "string" ? json.version : "0.0.0", file };
  } catch {
    return undefined;
  }
}
