import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // fails a test file that leaves a temp dir or a process behind (see the file)
    setupFiles: ["test/setup/leaks.ts"],
    globalSetup: ["test/setup/run-temp.ts"],
    // the JSON report gives .ci/run its closing "N passed, N failed" line
    reporters: ["default", ["json", { outputFile: "node_modules/.cache/vitest-report.json" }]],
  },
});
