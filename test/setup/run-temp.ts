/**
 * vitest globalSetup: one temp dir for the whole run, under which each test file gets its own
 * TMPDIR (test/setup/leaks.ts). The leak check removes a file's dir when the file ends; a file
 * that never gets there (a worker that crashed, a file that failed to load) would leave its dir
 * behind, so the run's dir is removed at the end whatever happened. Per run, not a sweep of the
 * shared temp dir: other checkouts may be running their suites on the same machine.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), "memopipe-testrun-"));
  chmodSync(runDir, 0o755); // children run as another user reach their file's dir through it
  // read by leaks.ts in each worker (workers inherit this process's environment)
  process.env.MEMOPIPE_TEST_RUN_DIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
}
