/**
 * How the CLI reports a mistake: one line, `memopipe <command>: <what is wrong and what to do>`, on
 * stderr, and exit status 1. A `UsageError` is a mistake the CLI found itself (an unknown stage, a
 * missing directory); anything else thrown is turned into such a line too: a file-system error
 * names the file and says what is wrong in words (never a bare `ENOENT: no such file or
 * directory, open …`), and a message that already starts with `memopipe …:` is not prefixed again.
 * `MEMOPIPE_DEBUG=1` adds the stack trace.
 */
import { existsSync, statSync } from "node:fs";

/**
 * A mistake in how the CLI was called: reported as one line, exit status 1.
 *
 * @example
 * throw new UsageError("no stage 'x' in the last run (its stages: load, fit)");
 */
export class UsageError extends Error {
  override name = "UsageError";
}

const errnoText: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory, not a file",
  ENOTDIR: "a part of the path is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EEXIST: "already exists",
  ENOTEMPTY: "directory not empty",
};

/**
 * The one line that describes `error` (without the `memopipe <command>:` prefix).
 *
 * @example
 * describeError(Object.assign(new Error("ENOENT: no such file or directory, open 'r.jsonl'"), { code: "ENOENT", path: "r.jsonl" }));
 * // "r.jsonl: no such file or directory"
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const errno = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof errno.code === "string" && errno.code in errnoText && typeof errno.path === "string") {
    return `${errno.path}${errno.dest ? ` → ${errno.dest}` : ""}: ${errnoText[errno.code]}`;
  }
  // "memopipe fingerprint: no tsconfig at …" from a library function: the CLI prefixes it already
  const message = error.message.replace(/^memopipe(?: [a-z-]+)*: /, "");
  return message.split("\n")[0]!.trim() || error.name;
}

/**
 * Fails with a UsageError unless `dir` is an existing directory.
 *
 * @example
 * requireDirectory(".memopipe", "no cache directory at .memopipe: run a cached stage first, or give it with --dir");
 */
export function requireDirectory(dir: string, missing: string): void {
  if (!existsSync(dir)) throw new UsageError(missing);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file, not a directory`);
}

/**
 * Fails with a UsageError unless `file` is an existing regular file.
 *
 * @example
 * requireFile("results.jsonl", "the records file");
 */
export function requireFile(file: string, what: string): void {
  if (!existsSync(file)) throw new UsageError(`${what} ${file} does not exist`);
  if (!statSync(file).isFile()) throw new UsageError(`${what} ${file} is not a file`);
}
