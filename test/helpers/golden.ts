/** Golden files: output compared byte for byte with test/golden/<name>; `UPDATE_GOLDEN=1` rewrites them. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";

const golden = path.resolve(import.meta.dirname, "..", "golden");

/** Compares `text` with the golden file `name` (or writes it under UPDATE_GOLDEN=1). */
export function expectGolden(name: string, text: string): void {
  const file = path.join(golden, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.CI === "true" && !existsSync(file)) throw new Error(`golden file ${name} is missing: run UPDATE_GOLDEN=1 npx vitest run <the test file>`);
    writeFileSync(file, text);
  }
  expect(text, `differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(file, "utf8"));
}

