/**
 * File-level helpers of the directory store: error codes, existence, sizes, durable syncs.
 */
import { closeSync, fsyncSync, openSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The `code` of a Node system error (`ENOENT`…), if it has one.
 *
 * @example
 * try { await stat(p); } catch (e) { if (errorCode(e) === "ENOENT") return undefined; throw e; }
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether anything exists at `path` (a dangling symlink counts).
 *
 * @example
 * if (await pathExists(join(dir, "entries"))) ...
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes of the files under `path` (or of the file itself); 0 for what is gone. Symlinks are not followed.
 *
 * @example
 * await sizeOnDisk(join(dir, "tmp")); // 1048623
 */
export async function sizeOnDisk(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOnDisk(join(path, name));
  return total;
}

/**
 * Fsyncs a directory, making the names created or renamed in it durable (`durable: true`). Best
 * effort: some systems cannot open a directory for that.
 *
 * @example
 * syncDirSync(shardDir); // after linking an entry into it
 */
export function syncDirSync(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}
