import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { TaskAddress } from "../../types/sweep.js";
import { MemopipeError } from "../errors.js";

/**
 * The `file:` URL of a task's module. Accepted: a `URL` (or anything with an `href`), a URL
 * string (`file:…`), an absolute path. A relative path or a package name is refused: a worker
 * thread resolves nothing relative to the caller, so the address must be absolute.
 *
 * @example
 * moduleHref(new URL("./points.js", import.meta.url)); // "file:///app/points.js"
 * moduleHref("/app/points.js");                         // "file:///app/points.js"
 * moduleHref("./points.js");                            // throws: must be absolute
 */
export function moduleHref(module: unknown): string {
  const text = module !== null && typeof module === "object" && typeof (module as { href?: unknown }).href === "string" ? (module as { href: string }).href : module;
  if (typeof text !== "string" || text.length === 0) throw new MemopipeError(`a task's module must be a URL or an absolute path, got ${module === null ? "null" : typeof module}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[a-z]:[\\/]/i.test(text)) return text;
  if (isAbsolute(text)) return pathToFileURL(text).href;
  throw new MemopipeError(
    `a task's module must be absolute (worker threads resolve nothing relative to the caller): got '${text}'; write new URL('${text.startsWith(".") ? text : `./${text}`}', import.meta.url)`,
  );
}

/**
 * Whether `task` is addressed by module and export (rather than being a function).
 *
 * @example
 * isTaskAddress({ module: "file:///app/points.js", export: "simulate" }); // true
 * isTaskAddress(({ n }: { n: number }) => ({ n }));                       // false
 */
export function isTaskAddress(task: unknown): task is TaskAddress {
  return task !== null && typeof task === "object" && "module" in task && typeof (task as { export?: unknown }).export === "string";
}
