import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
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
