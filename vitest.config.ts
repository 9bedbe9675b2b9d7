import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // the runtime brings code fingerprints up to date itself; in this repository the project would
    // be memopipe itself: only the tests about fingerprints turn it on, with projects of their own
    env: { MEMOPIPE_FINGERPRINT_REFRESH: "0" },
    // fails a test file that leaves a temp dir or a process behind (see the file)
    setupFiles: ["test/setup/leaks.ts"],
    globalSetup: ["test/setup/run-temp.ts"],
    // the JSON report gives .ci/run its closing "N passed, N failed" line
    reporters: ["default", ["json", { outputFile: "node_modules/.cache/vitest-report.json" }]],
  },
});
