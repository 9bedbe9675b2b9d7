import { readFileSync } from "node:fs";
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
