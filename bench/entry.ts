import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Runs a benchmark's `main` when its file is the process's entry point (`npx tsx bench/x.ts`),
 * not when bench/run.ts imports it. A failure sets the exit code instead of throwing away the
 * other output.
 *
 * @example
 * runIfEntryPoint(import.meta.url, main);
 */
export function runIfEntryPoint(moduleUrl: string, main: () => unknown): void {
  let entry = false;
  try {
    entry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    entry = false;
  }
  if (!entry) return;
  Promise.resolve()
    .then(main)
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
