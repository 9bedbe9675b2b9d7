/**
 * Where a stage was made: the modules on the stack when `stage(name, fn)` was called, so that a
 * DAG run on BullMQ workers (dag-remote.ts) can tell the workers which module exports the stage
 * without being told (`g.run(inputs, { runner })`, no `module`).
 *
 * ## Why a stack, and why lazily
 * A function does not know the module that defined it, and ES modules keep no registry a library
 * could search. The call stack of `stage()` does know: its first frame outside memopipe is the
 * module that made the stage (usually the one that exports it). Only the capture happens in
 * `stage()` (an `Error` object: V8 records the frames, ~1 µs); the text of the stack — the costly
 * part, with source maps applied — is formatted only when a DAG run on a Runner asks for it.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { isAbsolute } from "node:path";

const sites = new WeakMap<object, Error>();

/**
 * Records where `spec`'s stage is being made (`maker`: the function whose frame and callers' frames
 * above it are left out, i.e. `stage` itself).
 *
 * @example
 * noteSite(spec, stage);
 */
export function noteSite(spec: object, maker: Function): void {
  if (Error.stackTraceLimit === 0) return;
  const holder = {} as Error;
  Error.captureStackTrace(holder, maker);
  sites.set(spec, holder);
}

/**
 * The `file:` URLs of the modules on the stack where the stage was made, nearest first, each once
 * (empty when the stack was not recorded or names no file).
 *
 * @example
 * siteModules(specOf(register)); // ["file:///app/src/pipeline.ts", "file:///app/src/main.ts"]
 */
export function siteModules(spec: object): string[] {
  const holder = sites.get(spec);
  const stack = holder?.stack;
  if (typeof stack !== "string") return [];
  const found: string[] = [];
  for (const line of stack.split("\n").slice(1)) {
    // `    at fn (file:///a/b.ts:3:9)`, `    at file:///a/b.ts:3:9`, `    at /a/b.js:3:9`
    const m = /(?:\(|\s)((?:file:\/\/)?\/[^()\s][^()]*?):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    let href: string;
    try {
      href = m[1]!.startsWith("file:") ? new URL(m[1]!).href : isAbsolute(m[1]!) ? pathToFileURL(m[1]!).href : "";
      if (href) fileURLToPath(href);
    } catch {
      continue;
    }
    if (href && !found.includes(href)) found.push(href);
  }
  return found;
}
