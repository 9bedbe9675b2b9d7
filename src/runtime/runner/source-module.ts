/**
 * The TypeScript twin of a task module's address. A TypeScript project names its modules by their
 * compiled name (`new URL("./points.js", import.meta.url)` in `points.ts`'s neighbour), as
 * TypeScript's node16/nodenext resolution wants; run from its sources (tsx, the repository's own
 * runner), only `points.ts` exists. tsx maps `.js` to `.ts` for imports written in TypeScript files,
 * but not for the worker thread's `import(url)` (its importer is the JavaScript worker script), which
 * failed with "Cannot find module …/points.js". So a `file:` address whose `.js`/`.mjs`/`.cjs` file
 * does not exist, next to a `.ts`/`.mts`/`.cts` file that does, is taken to mean that file; the
 * worker then loads it through tsx (or says to install tsx). An address whose file exists is
 * never changed.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * `href`, or the URL of its TypeScript twin when only that exists (see the file's comment).
 *
 * @example
 * // only /app/points.ts exists
 * typeScriptTwin("file:///app/points.js"); // "file:///app/points.ts"
 * typeScriptTwin("file:///app/main.js");   // "file:///app/main.js" (it exists, or neither does)
 */
export function typeScriptTwin(href: string): string {
  if (!href.startsWith("file:")) return href;
  let file: string;
  try {
    file = fileURLToPath(href);
  } catch {
    return href;
  }
  const m = /\.([mc]?)js$/.exec(file);
  if (!m || existsSync(file)) return href;
  const twin = `${file.slice(0, -m[0].length)}.${m[1]}ts`;
  if (!existsSync(twin)) return href;
  const url = pathToFileURL(twin);
  url.search = new URL(href).search;
  return url.href;
}
