import { readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import type { Plugin } from "esbuild";
import { defineConfig, type Options } from "tsup";

// tsup keeps dependencies and peerDependencies external by itself, not optionalDependencies
// (ts-morph): without this it would bundle ts-morph and its TypeScript (14 MB) into dist/.
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { optionalDependencies?: Record<string, string> };
const external = Object.keys(pkg.optionalDependencies ?? {});

// Source maps map stack traces (`node --enable-source-maps`) to src/ lines, without embedding the
// sources: they made 60% of the tarball, and the TypeScript sources are not what a user debugs.
const noSources: Options["esbuildOptions"] = (options) => {
  options.sourcesContent = false;
};

// Node built-ins through `process.getBuiltinModule` in the ESM build (issue 11, import time).
//
// Why: an ESM `import … from "node:fs"` makes Node build the module's ESM facade, which reads every
// export of `fs`, and reading `fs.ReadStream`, `fs.promises`, … runs their lazy getters: they load
// the whole streams stack (~20 internal modules, `EventEmitterMixin`), ~5 ms of a ~8 ms empty
// import, in every program that imports memopipe, whether it uses a stream or not. CommonJS's
// `require("fs")` touches nothing and does not pay this. Measured: an ESM file importing the
// built-ins memopipe imports takes 13.5 ms to import, the same file with `process.getBuiltinModule`
// 7.5 ms, an empty file 7.5 ms (/work: docs/benchmarks.md#import).
//
// How: every built-in import of the ESM bundle resolves to a small virtual module that takes the
// built-in from `process.getBuiltinModule` (Node >= 20.16, synchronous, from the CJS object, so no
// facade and no getter runs) and exports its default and each of its plain (non-accessor)
// properties. Each export is a `/* @__PURE__ */` call, so esbuild drops the ones nothing uses, here
// and in a user's bundle of dist/index.js (the built-in is then not even looked up). A name that is
// an accessor on the built-in (`fs.promises`) is not exported, and the build fails on its import:
// import it from its own module (`node:fs/promises`).
const builtinsByGetBuiltinModule: Plugin = {
  name: "builtins-by-getBuiltinModule",
  setup(build) {
    if (build.initialOptions.format !== "esm") return;
    const requireBuiltin = createRequire(import.meta.url);
    const names = new Set(builtinModules);
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, "");
      return names.has(name) ? { path: name, namespace: "node-builtin" } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: "node-builtin" }, (args) => {
      const mod = requireBuiltin(`node:${args.path}`) as object;
      const plain = Object.entries(Object.getOwnPropertyDescriptors(mod))
        .filter(([key, d]) => "value" in d && key !== "default" && /^[A-Za-z_$][\w$]*$/.test(key))
        .map(([key]) => key);
      const lines = [
        `const builtin = /* @__PURE__ */ process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
        `const get = (key) => builtin[key];`,
        `export default builtin;`,
        ...plain.map((key) => `export const ${key} = /* @__PURE__ */ get(${JSON.stringify(key)});`),
      ];
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

export default defineConfig([
  {
    // runner-worker: the generic worker-thread script of the threads Runner (src/runtime/runner)
    entry: { index: "src/index.ts", "runner-worker": "src/runtime/runner/worker.ts" },
    format: ["esm", "cjs"],
    shims: true,
    dts: true,
    tsconfig: "tsconfig.build.json",
    target: "node20",
    platform: "node",
    sourcemap: true,
    esbuildOptions: noSources,
    external,
    esbuildPlugins: [builtinsByGetBuiltinModule],
    // tsup's own node: plugin would mark the built-ins external before the one above sees them
    removeNodeProtocol: false,
    clean: true,
  },
  {
    // fingerprint-refresh: the runtime's incremental `memopipe fingerprint` (with TypeScript), which
    // the library imports by path, only when a source file changed (src/runtime/project-fingerprints.ts)
    entry: { cli: "src/cli.ts", "fingerprint-refresh": "src/codegen/refresh.ts" },
    format: ["esm"],
    tsconfig: "tsconfig.build.json",
    target: "node20",
    platform: "node",
    sourcemap: true,
    esbuildOptions: noSources,
    external,
  },
]);
