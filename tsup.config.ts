import { defineConfig } from "tsup";

export default defineConfig([
  {
    // runner-worker: the generic piscina worker script of the threads Runner (src/runtime/runner)
    entry: { index: "src/index.ts", "runner-worker": "src/runtime/runner/worker.ts" },
    format: ["esm", "cjs"],
    shims: true,
    dts: true,
    tsconfig: "tsconfig.build.json",
    target: "node20",
    platform: "node",
    sourcemap: true,
    clean: true,
  },
  {
    entry: { cli: "src/cli.ts" },
    format: ["esm"],
    tsconfig: "tsconfig.build.json",
    target: "node20",
    platform: "node",
    sourcemap: true,
  },
]);
