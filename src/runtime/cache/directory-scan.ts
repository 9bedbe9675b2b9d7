/**
 * Reading a directory store's entries as a whole, for `list`, `stats`, `show` and `gc`: every entry
 * file's head (its header and record, without hashing the payload — re-hashing a whole cache to
 * list it is what made cacache's `verify()` slow; `get` verifies checksums), the strays among them,
 * and a stage's `latest` key. Nothing here writes.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { line1End } from "./entry-file.js";
import { isKey, stageDirName } from "./safe-name.js";
import { errorCode } from "./store-files.js";
import type { EntryRecord } from "./types.js";

/** One entry file found by a scan, with its head read (checksum not verified: see `list`). */
export interface Found {
  readonly stageDir: string;
  readonly key: string;
  readonly path: string;
  readonly bytes: number;
  readonly record: EntryRecord | undefined;
  readonly problem?: string;
}

/**
 * What {@link scanEntries} found under `entries/`.
 *
 * @example
 * const { found, strays, stageDirs }: Scan = await scanEntries(entriesDir);
 */
export interface Scan {
  readonly found: Found[];
  readonly strays: string[];
  readonly stageDirs: string[];
}

/**
 * Every entry file under `entries/` with its head, plus strays (anything that is no entry file in
 * its place: entries of format 1 among them) and the stage directories.
 *
 * @example
 * const { found, strays } = await scanEntries(join(dir, "entries"));
 */
export async function scanEntries(entriesDir: string): Promise<Scan> {
  const found: Found[] = [];
  const strays: string[] = [];
  const stageDirs: string[] = [];
  for (const stageDir of await listDir(entriesDir)) {
    const stagePath = join(entriesDir, stageDir);
    if (!(await lstat(stagePath).catch(() => undefined))?.isDirectory()) {
      strays.push(stagePath);
      continue;
    }
    stageDirs.push(stageDir);
    for (const shard of await listDir(stagePath)) {
      if (shard === "latest") continue;
      const shardPath = join(stagePath, shard);
      if (!/^[0-9a-f]{2}$/.test(shard) || !(await lstat(shardPath).catch(() => undefined))?.isDirectory()) {
        strays.push(shardPath); // an entry directory of format 1, or anything else
        continue;
      }
      for (const name of await listDir(shardPath)) {
        const path = join(shardPath, name);
        if (!isKey(name) || !name.startsWith(shard)) {
          strays.push(path);
          continue;
        }
        found.push(await readHead(path, stageDir, name));
      }
    }
  }
  return { found, strays, stageDirs };
}

/** The last key noted in `<stage-dir>/latest` (see `DirectoryStore.setLatest`), read from the file's end. */
export function readLatest(stageDirPath: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(join(stageDirPath, "latest"), "r");
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 65 * 8));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const lines = tail.toString("latin1").split("\n");
    for (let i = lines.length - 1; i >= 0; i--) if (isKey(lines[i])) return lines[i];
    return undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads an entry file's head (first line, header and record) without hashing the payload: what
 * `list`, `stats` and `gc` need. A file whose head or size does not add up is reported with a problem.
 *
 * @example
 * const f = await readHead(path, "register", key); // f.record, or f.problem: "size mismatch"
 */
export async function readHead(path: string, stageDir: string, key: string): Promise<Found> {
  let bytes = 0;
  try {
    const handle = await open(path, "r");
    try {
      bytes = (await handle.stat()).size;
      let buffer = Buffer.alloc(Math.min(bytes, 64 * 1024));
      await handle.read(buffer, 0, buffer.length, 0);
      let parsed = parseHead(buffer, bytes, stageDir, key);
      if (parsed === "short") {
        buffer = Buffer.alloc(bytes);
        await handle.read(buffer, 0, bytes, 0);
        parsed = parseHead(buffer, bytes, stageDir, key);
      }
      if (typeof parsed === "string") return { stageDir, key, path, bytes, record: undefined, problem: parsed };
      return { stageDir, key, path, bytes, record: parsed };
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { stageDir, key, path, bytes, record: undefined, problem: errorCode(error) ?? String(error) };
  }
}

function parseHead(buffer: Buffer, fileSize: number, stageDir: string, key: string): EntryRecord | string {
  const line1 = line1End(buffer);
  if (line1 < 0) return "not an entry";
  const hotEnd = buffer.indexOf(0x0a, line1);
  if (hotEnd < 0) return buffer.length < fileSize ? "short" : "no header";
  let hot: { stage?: unknown; key?: unknown; size?: unknown; record?: unknown };
  try {
    hot = JSON.parse(buffer.toString("utf8", line1, hotEnd)) as typeof hot;
  } catch {
    return "bad header";
  }
  if (typeof hot.size !== "number" || typeof hot.record !== "number" || typeof hot.stage !== "string") return "bad header";
  if (hot.key !== key || stageDirName(hot.stage) !== stageDir) return "misplaced";
  const payloadStart = hotEnd + 1 + hot.record;
  if (payloadStart + hot.size !== fileSize) return "size mismatch";
  if (buffer.length < payloadStart) return buffer.length < fileSize ? "short" : "truncated";
  try {
    return JSON.parse(buffer.toString("utf8", hotEnd + 1, payloadStart - 1)) as EntryRecord;
  } catch {
    return "bad record";
  }
}

export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

export function compareCreated(a: EntryRecord, b: EntryRecord): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

export function sortOldestFirst<T extends EntryRecord>(records: T[]): T[] {
  return records.sort(compareCreated);
}
