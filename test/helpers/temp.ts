/**
 * Temp dirs that remove themselves: `tempDir("memopipe-x-")` makes one in `os.tmpdir()` and
 * removes it after the test that made it (or, when made outside a test, after the file). The leak
 * check (test/setup/leaks.ts) fails a file that leaves one behind.
 *
 * @example
 * const dir = tempDir("memopipe-cache-");
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, onTestFinished } from "vitest";

const outsideTests: string[] = [];
afterAll(() => {
  for (const dir of outsideTests.splice(0)) remove(dir);
});

function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** A fresh directory under `os.tmpdir()` named `<prefix>XXXXXX`, removed after the current test (or file). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    onTestFinished(() => remove(dir));
  } catch {
    outsideTests.push(dir); // not inside a test (a describe body, a beforeAll): removed after the file
  }
  return dir;
}
