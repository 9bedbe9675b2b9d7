/**
 * The project a process works in: its root directory and its name. Machines that share a queue or
 * a cache agree on code by *relative* places (a task module is `src/points.ts` under the root, on
 * every machine's checkout) and keep their cache entries apart by project (a Redis namespace).
 *
 * The root is `$MEMOPIPE_ROOT` when set, otherwise the nearest directory at or above the working
 * directory that holds a `package.json`, otherwise the working directory. The name is that
 * `package.json`'s `name`, otherwise the root's directory name.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/**
 * The project root (see the file's comment).
 *
 * @example
 * projectRoot(); // "/home/ada/imaging" (where package.json is), from /home/ada/imaging/scripts
 */
export function projectRoot(from: string = process.cwd()): string {
  const fromEnv = process.env.MEMOPIPE_ROOT;
  if (fromEnv) return resolve(fromEnv);
  const start = resolve(from);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/**
 * The project's name: its package.json `name`, or the root directory's name.
 *
 * @example
 * projectName("/home/ada/imaging"); // "imaging-pipeline" (package.json says so)
 */
export function projectName(root: string = projectRoot()): string {
  try {
    const name = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: unknown }).name;
    if (typeof name === "string" && name.length > 0) return name;
  } catch {
    // no package.json, or not JSON
  }
  return basename(root) || "project";
}
