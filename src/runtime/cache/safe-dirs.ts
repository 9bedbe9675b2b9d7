/**
 * Directories inside a cache directory that are safe to write into: real directories, never
 * symbolic links, created with the process's umask (so a group-shared cache stays shared).
 *
 * Why: anyone who can write into the cache directory could plant `entries/<stage> -> /etc` or
 * `tmp -> ~/.ssh`; a store that follows the link would write outside the cache. Every directory the
 * store writes into is `lstat`ed once per process below the cache root (the root itself may be a
 * link: that is the user's choice, e.g. a cache on a bigger disk), and a link or a non-directory is
 * refused with a `CacheWriteError`. Files are created with `O_EXCL | O_NOFOLLOW`, so a planted link
 * at a file's name is refused too, and renames replace a link rather than follow it.
 */
import { constants, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { CacheWriteError } from "../errors.js";
import { errorCode } from "./store-files.js";

/** Flags for a new file that must not exist and must not be reached through a link. */
export const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** Flags for appending to a file (created if missing), never through a link. */
export const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

/** `CACHEDIR.TAG` (bford.net/cachedir): tells backup tools to skip the directory. */
const CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by memopipe.\n";

/** A directory checked earlier is gone: `ensure` starts again from the root. */
class ParentGone extends Error {}

/**
 * The real directories below one cache root that this process has checked (or made).
 *
 * @example
 * const dirs = new SafeDirs("/repo/.memopipe");
 * dirs.ensure("/repo/.memopipe/entries/register/9f"); // made if missing; throws CacheWriteError at a link
 */
export class SafeDirs {
  private readonly known = new Set<string>();

  constructor(readonly root: string) {}

  /**
   * Makes sure `dir` (inside the root) and every directory between it and the root are real
   * directories, creating the missing ones (mode 0777 minus the umask).
   *
   * @throws CacheWriteError at a symbolic link or a non-directory, or when a directory cannot be made.
   */
  ensure(dir: string): void {
    if (this.known.has(dir)) return;
    try {
      this.walk(dir);
    } catch (error) {
      // A directory this process had checked was removed meanwhile (another process's `gc` or
      // `cache clear`): forget what was checked and walk down again from the root, once.
      if (!(error instanceof ParentGone)) throw error;
      this.known.clear();
      this.walk(dir);
    }
  }

  private walk(dir: string): void {
    const rel = relative(this.root, dir);
    if (rel.startsWith("..") || rel.includes(`..${sep}`)) throw new CacheWriteError(`refusing to write outside the cache directory ${this.root}: ${dir}`, dir);
    this.ensureRoot();
    let current = this.root;
    for (const part of rel === "" ? [] : rel.split(sep)) {
      current = join(current, part);
      if (this.known.has(current)) continue;
      this.check(current);
      this.known.add(current);
    }
  }

  /** Forgets what was checked (after `cache clear` removed directories under a running process). */
  forget(): void {
    this.known.clear();
  }

  private ensureRoot(): void {
    if (this.known.has(this.root)) return;
    try {
      mkdirSync(this.root, { recursive: false });
      try {
        writeFileSync(join(this.root, "CACHEDIR.TAG"), CACHEDIR_TAG, { flag: "wx" });
      } catch {
        // best effort
      }
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT") mkdirSync(this.root, { recursive: true });
      else if (code !== "EEXIST") throw new CacheWriteError(`cannot create the cache directory ${this.root} (${code ?? String(error)})`, this.root, code, { cause: error });
    }
    this.known.add(this.root);
  }

  private check(path: string): void {
    let info = lstatSync(path, { throwIfNoEntry: false });
    if (info === undefined) {
      try {
        mkdirSync(path);
      } catch (error) {
        const code = errorCode(error);
        if (code === "ENOENT" && this.known.size > 0) throw new ParentGone();
        if (code !== "EEXIST") throw new CacheWriteError(`cannot create ${path} (${code ?? String(error)})`, path, code, { cause: error });
      }
      info = lstatSync(path, { throwIfNoEntry: false });
    }
    if (info?.isSymbolicLink()) throw new CacheWriteError(`refusing to write through the symbolic link ${path} inside the cache directory`, path, "ELOOP");
    if (!info?.isDirectory()) throw new CacheWriteError(`${path} inside the cache directory is not a directory`, path, "ENOTDIR");
  }
}
