/**
 * Puts an output file back where an entry says it was written, from bytes a shared store kept
 * (the Redis store keeps output files as content-addressed blobs, so a machine that reads an entry
 * another machine computed gets its files too, as Bazel's remote cache does).
 *
 * Only ever *creates* a missing file, inside the working directory, never through a symbolic link:
 * an entry comes from another machine, and nothing it says may make this one write elsewhere
 * (`/etc/…`, `../../.ssh/…`, a planted link) or replace a file that exists (a file that exists and
 * differs makes the hit a miss, as with the directory store: the stage runs again).
 */
import { constants, linkSync, lstatSync, mkdirSync, openSync, closeSync, unlinkSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { randomBytes } from "../lazy-builtins.js";

const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Creates `path` (relative to `root`, or absolute inside it) with `bytes`, unless something is
 * there already. Returns whether it wrote the file; never throws.
 *
 * @example
 * restoreFile("/repo", "out/sub-01.nii", bytes); // true: /repo/out/sub-01.nii created
 * restoreFile("/repo", "/etc/passwd", bytes);    // false: outside the root
 */
export function restoreFile(root: string, path: string, bytes: Uint8Array): boolean {
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return false;
  if (lstatSync(target, { throwIfNoEntry: false }) !== undefined) return false;
  // Every directory between the root and the file: a real directory (made if missing), never a link.
  let dir = root;
  for (const part of dirname(rel) === "." ? [] : dirname(rel).split(sep)) {
    dir = join(dir, part);
    let info = lstatSync(dir, { throwIfNoEntry: false });
    if (info === undefined) {
      try {
        mkdirSync(dir);
      } catch {
        // made meanwhile, or not possible: checked below
      }
      info = lstatSync(dir, { throwIfNoEntry: false });
    }
    if (!info?.isDirectory() || info.isSymbolicLink()) return false;
  }
  const temp = join(dirname(target), `.memopipe-restore-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    const fd = openSync(temp, CREATE_EXCLUSIVE, 0o666);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, target); // fails if the file appeared meanwhile: it is left alone
    return true;
  } catch {
    return false;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
  }
}
