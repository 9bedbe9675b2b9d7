/**
 * Garbage collection of a directory store, in five steps (below, in `collectGarbage`): `tmp/`,
 * then `entries/` (damaged entries and strays, by age, by size), then `latest` pointers and empty
 * directories, then stale locks, then the run log. Removal is a rename into `tmp/` followed by a
 * delete, so a concurrent reader never sees half an entry; the store lends its own removal.
 */
import { lstat, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { trimEvents } from "../events.js";
import { compareCreated, type Found, listDir, readLatest, scanEntries } from "./directory-scan.js";
import { sizeOnDisk } from "./store-files.js";
import type { EntryRecord } from "./types.js";

/** `tmp/` files older than this are crash leftovers (a live put takes milliseconds). */
const STALE_TMP_MS = 3_600_000;

/**
 * What `gc()` may remove.
 *
 * @example
 * const options: GcOptions = { maxBytes: 2 ** 30, maxAgeMs: 7 * 86_400_000 };
 */
export interface GcOptions {
  /** Remove the oldest entries until the valid ones take at most this many bytes. */
  readonly maxBytes?: number;
  /** Remove entries published more than this many milliseconds before `now`. */
  readonly maxAgeMs?: number;
  /** The current time in ms (tests); `Date.now()` by default. */
  readonly now?: number;
  /** Runs kept in `events.jsonl` (default 100). */
  readonly keepRuns?: number;
}

/**
 * What `gc()` did: entries removed (damaged ones included), and the bytes freed (crash leftovers included).
 *
 * @example
 * const { removed, freedBytes }: GcResult = await store.gc({ maxBytes: 0 });
 */
export interface GcResult {
  readonly removed: number;
  readonly freedBytes: number;
}

/**
 * What the collector needs of a store: its directories, and its own ways to remove an entry and
 * to repoint a stage's `latest`.
 *
 * @example
 * const target: GcTarget = { dir, entriesDir, tmpDir, remove: (p) => store.removePath(p), resetLatest };
 */
export interface GcTarget {
  readonly dir: string;
  readonly entriesDir: string;
  readonly tmpDir: string;
  /** Moves a file or directory out of `entries/` and deletes it; false when it was already gone. */
  remove(path: string): boolean;
  resetLatest(latestPath: string, key: string): void;
}

/**
 * Collects garbage in a directory store (`DirectoryStore.gc`, `memopipe cache gc`): damaged entries, entries older than `maxAgeMs`, then the oldest entries until
 * the rest fit in `maxBytes`; crash leftovers in `tmp/` older than an hour and every entry moved
 * aside; strays under `entries/` (entries of the previous format among them); locks of owners that
 * are gone. `latest` pointers to removed entries are repointed to the stage's newest remaining
 * entry (or removed with the then-empty stage directory).
 *
 * @example
 * await collectGarbage(target, { maxBytes: 500 * 2 ** 20, maxAgeMs: 30 * 86_400_000 }); // { removed: 12, freedBytes: 73400320 }
 */
export async function collectGarbage(store: GcTarget, options: GcOptions = {}): Promise<GcResult> {
  const now = options.now ?? Date.now();
  let removed = 0;
  let freedBytes = 0;

  // 1. tmp/: moved-aside entries always; work in progress only once it is clearly abandoned.
  for (const name of await listDir(store.tmpDir)) {
    const path = join(store.tmpDir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    if (name.startsWith("corrupt-") || name.startsWith("trash-") || now - info.mtimeMs > STALE_TMP_MS) {
      const bytes = await sizeOnDisk(path);
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
      freedBytes += bytes;
    }
  }

  // 2. entries/: damaged entries and strays, then by age, then by size (oldest first).
  const { found, strays, stageDirs } = await scanEntries(store.entriesDir);
  for (const stray of strays) {
    const bytes = await sizeOnDisk(stray);
    if (store.remove(stray)) freedBytes += bytes;
  }
  const valid: (Found & { record: EntryRecord })[] = [];
  for (const f of found) {
    if (f.record) valid.push(f as Found & { record: EntryRecord });
    else if (store.remove(f.path)) {
      removed++;
      freedBytes += f.bytes;
    }
  }
  valid.sort((a, b) => compareCreated(a.record, b.record));
  let kept = valid;
  const drop = (f: Found): void => {
    if (store.remove(f.path)) {
      removed++;
      freedBytes += f.bytes;
    }
  };
  if (options.maxAgeMs !== undefined) {
    const cutoff = now - options.maxAgeMs;
    kept = [];
    for (const f of valid) {
      if (Date.parse(f.record.createdAt) < cutoff) drop(f);
      else kept.push(f);
    }
  }
  if (options.maxBytes !== undefined) {
    let total = kept.reduce((sum, f) => sum + f.bytes, 0);
    while (total > options.maxBytes && kept.length > 0) {
      const oldest = kept.shift()!;
      drop(oldest);
      total -= oldest.bytes;
    }
  }

  // 3. latest pointers and empty directories.
  for (const stageDir of stageDirs) {
    const path = join(store.entriesDir, stageDir);
    const remaining = kept.filter((f) => f.stageDir === stageDir);
    const pointed = readLatest(path);
    for (const shard of await listDir(path)) if (shard !== "latest") await rmdir(join(path, shard)).catch(() => undefined);
    if (pointed !== undefined && remaining.some((f) => f.key === pointed)) continue;
    const newest = remaining.at(-1);
    if (newest) store.resetLatest(join(path, "latest"), newest.key);
    else {
      await rm(join(path, "latest"), { force: true });
      await rmdir(path).catch(() => undefined); // not empty: a put landed meanwhile
    }
  }

  // 4. locks left by owners that are gone (an owner alive keeps its lock).
  for (const name of await listDir(join(store.dir, "locks"))) {
    const path = join(store.dir, "locks", name);
    const info = await lstat(path).catch(() => undefined);
    if (info && (name.startsWith(".stale-") || now - info.mtimeMs > STALE_TMP_MS)) await unlink(path).catch(() => undefined);
  }

  // 5. the run log: the last runs only (`memopipe why` reads its end).
  try {
    freedBytes += trimEvents(store.dir, { keepRuns: options.keepRuns ?? 100 }).droppedBytes;
  } catch {
    // a log we cannot rewrite (read-only): left as it is
  }
  return { removed, freedBytes };
}
