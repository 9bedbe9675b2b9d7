/**
 * A task as machines agree on it: its module *relative to the project root* (so the same job
 * names the same file in every checkout) and its export, and the fingerprint of its code (so a
 * worker running other code than the caller refuses the job instead of computing something else
 * under the caller's name).
 *
 * The fingerprint: see `taskFingerprint`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { createHash } from "../../lazy-builtins.js";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MemopipeError } from "../../errors.js";
import { typeScriptTwin } from "../source-module.js";

/**
 * A module's place under the project root, as jobs name it: relative, `/`-separated.
 *
 * @throws MemopipeError for a module outside the root (no other machine could find it).
 * @example
 * relativeModule("file:///home/ada/proj/src/points.ts", "/home/ada/proj"); // "src/points.ts"
 */
export function relativeModule(href: string, root: string): string {
  if (!href.startsWith("file:")) throw new MemopipeError(`the bullmq Runner addresses a task by a file in the project, got the module '${href}'`);
  const file = fileURLToPath(href);
  const rel = relative(root, file);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
    throw new MemopipeError(
      `the task module ${file} is outside the project root ${root}: workers find a task by its path under the root (set MEMOPIPE_ROOT, or run from the project)`,
    );
  }
  return rel.split(sep).join("/");
}

/**
 * The `file:` URL of a job's module on this machine: `module` under `root`, refused when it leaves
 * the root or is not a JavaScript or TypeScript file (a job names code to run: nothing else).
 *
 * @returns the URL, or what is wrong as text.
 * @example
 * moduleUnderRoot("src/points.ts", "/srv/proj"); // "file:///srv/proj/src/points.ts"
 * moduleUnderRoot("../../etc/x.js", "/srv/proj"); // "the module ../../etc/x.js is outside the project root"
 */
export function moduleUnderRoot(module: string, root: string): string {
  if (module.includes("\0") || isAbsolute(module) || /^[a-z]:/i.test(module)) return `the module ${JSON.stringify(module)} is not a path relative to the project root`;
  const file = resolve(root, ...module.split("/"));
  const rel = relative(root, file);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === "..") return `the module ${module} is outside the project root`;
  if (!/\.(?:[mc]?[jt]s|tsx|jsx)$/.test(file)) return `the module ${module} is not a JavaScript or TypeScript file`;
  const href = typeScriptTwin(pathToFileURL(file).href);
  if (!existsSync(fileURLToPath(href))) return `the module ${module} does not exist under the project root ${root} (is this machine's checkout the caller's?)`;
  return href;
}

/**
 * The fingerprint of a sweep task's code, as two machines must agree on it whatever runs them
 * (tsx, vitest, compiled JavaScript): the SHA-256 of the task module's file and of every project
 * file it imports (relative imports, followed transitively), byte for byte. Not the function's own
 * text, which is no common ground: each loader transforms it its own way (vitest renames imported
 * names), so two machines running the same code would disagree. (A DAG's stages carry their cache
 * fingerprint, `codeFingerprint`, which is part of their key anyway.)
 *
 * @example
 * taskFingerprint("/repo/src/points.ts", "simulate"); // "9f…"
 */
export function taskFingerprint(file: string, exportName: string): string {
  return sourceFilesDigest(file, exportName);
}

/** Relative import specifiers of a module: `import … from "./x"`, `export … from "../y"`, `import("./z")`, `require("./w")`. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](\.{1,2}\/[^"'\n]+)["']/g;

/** SHA-256 over a module's bytes and those of the project files it imports, in a stable order. */
function sourceFilesDigest(file: string, exportName: string): string {
  const seen = new Map<string, Buffer>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return; // a file that is not there (a type-only import of a .d.ts, say)
    }
    seen.set(path, bytes);
    for (const m of bytes.toString("utf8").matchAll(RELATIVE_IMPORT)) {
      const target = resolveSource(resolve(dirname(path), m[1]!));
      if (target) visit(target);
    }
  };
  visit(file);
  const hash = createHash("sha256").update(`memopipe-task-sources 1\0${exportName}\0`);
  const root = dirname(file);
  for (const path of [...seen.keys()].sort()) hash.update(`${relative(root, path)}\0${seen.get(path)!.length}\0`).update(seen.get(path)!);
  return hash.digest("hex");
}

/** The file an import names: as written, its TypeScript twin (`./x.js` → `x.ts`), or with an extension or `/index` added. */
function resolveSource(path: string): string | undefined {
  const candidates = [path];
  const m = /\.([mc]?)js$/.exec(path);
  if (m) candidates.push(`${path.slice(0, -m[0].length)}.${m[1]}ts`, `${path.slice(0, -m[0].length)}.tsx`);
  for (const ext of [".ts", ".tsx", ".js", ".mjs", ".cjs", ".mts", ".cts"]) candidates.push(`${path}${ext}`, `${path}/index${ext}`);
  return candidates.find((c) => existsSync(c) && !/\.d\.[mc]?ts$/.test(c));
}

/**
 * How a task is named in messages and fingerprints: `src/points.ts#simulate`.
 *
 * @example
 * taskName("src/points.ts", "simulate"); // "src/points.ts#simulate"
 */
export function taskName(module: string, exportName: string): string {
  return `${module}#${exportName}`;
}
