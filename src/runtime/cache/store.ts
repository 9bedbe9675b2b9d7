/**
 * The embedded cache store: a directory (`.memopipe/` under the working directory unless the
 * caller says otherwise).
 *
 * Layout:
 * ```
 * <dir>/entries/<stage-dir>/<key>/entry.json      the EntryRecord, pretty JSON (manifest, code, outputs info)
 * <dir>/entries/<stage-dir>/<key>/outputs.json    outputs as pretty JSON, or
 * <dir>/entries/<stage-dir>/<key>/outputs.bin     outputs as v8 structured clone (see codec.ts)
 * <dir>/entries/<stage-dir>/latest                {"stage", "key"} of the stage's last published entry
 * <dir>/tmp/put-*, latest-*                       work in progress (or left by a crash: gc removes it after an hour)
 * <dir>/tmp/corrupt-*, trash-*                    entries moved aside on a failed read, or being removed
 * ```
 * `<stage-dir>` comes from `stageDirName` (safe-name.ts) and `<key>` must be 64 lowercase hex digits,
 * so nothing a caller passes can name a path outside `<dir>/entries`.
 *
 * The protocol, which is what makes a crash at any instant harmless: an entry directory is never
 * written in place. It is assembled in `<dir>/tmp/put-*` (each file fsynced, `entry.json` last as the
 * commit mark, then the directory itself), and published by one `rename` into `entries/`; it is
 * removed by one `rename` back into `tmp/` and only then deleted. So `entries/` holds only whole
 * entries, and a reader sees an entry entirely or not at all. Reads still verify everything (the
 * record's own checksum and its location, the outputs' size and SHA-256) because disks, people and
 * other programs damage files; a damaged entry reads as `corrupt` and is moved aside, never
 * returned.
 */

import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CacheCorruptionError, MemopipeError, UnrecordableValueError } from "../errors.js";
import { decodeOutputs, encodeOutputs } from "./codec.js";
import { assertKey, isKey, stageDirName } from "./safe-name.js";
import type { CacheStore, EntryRecord, NewEntry, ReadResult } from "./types.js";
import { checkRecord, errorCode, pathExists, sizeOnDisk, syncDir, writeSynced } from "./store-files.js";

/**
 * The cache directory callers use when none is given, relative to the working directory.
 *
 * @example
 * new DirectoryStore(join(process.cwd(), DEFAULT_CACHE_DIR));
 */
export const DEFAULT_CACHE_DIR = ".memopipe";

/** Temporary work older than this is taken for a crash leftover by `gc` (no publish takes an hour). */
const STALE_TMP_MS = 3_600_000;

/**
 * An entry as `list()` returns it: its record and the bytes its directory takes.
 *
 * @example
 * const [oldest]: ListedEntry[] = await store.list(); // oldest?.bytes
 */
export interface ListedEntry extends EntryRecord {
  /** Bytes of `entry.json` plus the outputs file. */
  readonly bytes: number;
}

/**
 * What `stats()` returns.
 *
 * @example
 * const s: StoreStats = await store.stats(); // { entries: 3, bytes: 5120, stages: { register: { entries: 3, bytes: 5120 } } }
 */
export interface StoreStats {
  readonly entries: number;
  readonly bytes: number;
  readonly stages: Record<string, { entries: number; bytes: number }>;
}

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

type Verdict =
  | { readonly status: "hit"; readonly record: EntryRecord; readonly outputs: unknown; readonly bytes: number }
  | { readonly status: "miss" }
  | { readonly status: "corrupt"; readonly reason: string; readonly bytes: number };

/** How far a read checks the outputs: `stat` (size only: list, stats, gc), `hash` (digest) or `decode` (digest, then the value). */
type Depth = "stat" | "hash" | "decode";

/** One entry directory found by a scan. */
interface Found {
  readonly stageDir: string;
  readonly key: string;
  readonly path: string;
  readonly verdict: Verdict;
}

/**
 * A `CacheStore` in a directory: atomic publication, verified reads, and the management calls
 * behind `memopipe cache ls | stats | gc | clear`.
 *
 * @example
 * const store = new DirectoryStore(".memopipe");
 * await store.put("register", key, { inputs: {}, code: { fingerprint, source: "function-source" }, outputs: { shift: 3 } });
 * const read = await store.get("register", key); // { status: "hit", record, outputs: { shift: 3 } }
 */
export class DirectoryStore implements CacheStore {
  /** The cache directory, absolute. */
  readonly dir: string;
  private readonly entriesDir: string;
  private readonly tmpDir: string;

  /**
   * @param dir the cache directory; created on the first `put`.
   * @example
   * const store = new DirectoryStore(join(process.cwd(), DEFAULT_CACHE_DIR));
   */
  constructor(dir: string) {
    this.dir = resolve(dir);
    this.entriesDir = join(this.dir, "entries");
    this.tmpDir = join(this.dir, "tmp");
  }

  /**
   * Reads and verifies an entry: `miss` when it is absent, `corrupt` (with the reason, and the entry
   * moved aside) when any check fails. Throws only for a malformed key.
   *
   * @example
   * const r = await store.get("register", key);
   * if (r.status === "hit") use(r.outputs); else if (r.status === "corrupt") warn(r.reason);
   */
  async get(stage: string, key: string): Promise<ReadResult> {
    const verdict = await this.read(stage, key, "decode");
    return verdict.status === "hit" ? { status: "hit", record: verdict.record, outputs: verdict.outputs } : verdict.status === "miss" ? { status: "miss" } : { status: "corrupt", reason: verdict.reason };
  }

  /**
   * Publishes an entry atomically and returns its record. If the key was published meanwhile (by
   * another process computing the same thing), the first entry is kept and its record returned; a
   * damaged one in the way is moved aside and replaced.
   *
   * @throws UnrecordableValueError when the outputs (or the inputs manifest) cannot be recorded; nothing is written then.
   * @example
   * const record = await store.put("register", key, { inputs, code, outputs: new Map([["sub-01", 3]]) });
   * record.outputs.codec; // "v8"
   */
  async put(stage: string, key: string, entry: NewEntry): Promise<EntryRecord> {
    const stageDir = join(this.entriesDir, stageDirName(stage));
    const finalDir = join(stageDir, assertKey(key));
    const encoded = encodeOutputs(entry.outputs, stage);
    const { text, record } = recordText(stage, key, entry, encoded.codec, encoded.file, encoded.bytes);

    await mkdir(this.tmpDir, { recursive: true });
    const work = await mkdtemp(join(this.tmpDir, "put-"));
    try {
      await writeSynced(join(work, encoded.file), encoded.bytes);
      await writeSynced(join(work, "entry.json"), text); // the commit mark, last
      await syncDir(work);
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw error;
    }
    const published = await this.publish(work, stageDir, finalDir, stage, key);
    await this.setLatest(stageDir, stage, key);
    return published ?? record;
  }

  /**
   * The stage's most recently published entry, verified, or `undefined` (none, or it is gone or damaged).
   *
   * @example
   * const last = await store.latest("register"); // to explain a miss: diff last?.inputs against the new manifest
   */
  async latest(stage: string): Promise<EntryRecord | undefined> {
    const key = await this.readLatest(join(this.entriesDir, stageDirName(stage)), stage);
    if (key === undefined) return undefined;
    const verdict = await this.read(stage, key, "hash");
    return verdict.status === "hit" ? verdict.record : undefined;
  }

  /**
   * Every valid entry, oldest first, with the bytes it takes. Checks records fully but outputs by
   * size only (re-hashing a whole cache to list it is what made cacache's `verify()` slow); `get`
   * checks digests.
   *
   * @example
   * for (const e of await store.list()) console.log(e.stage, e.key.slice(0, 12), e.createdAt, e.bytes);
   */
  async list(): Promise<ListedEntry[]> {
    const { found } = await this.scan();
    return sortOldestFirst(found.flatMap((f) => (f.verdict.status === "hit" ? [{ ...f.verdict.record, bytes: f.verdict.bytes }] : [])));
  }

  /**
   * Counts and sizes of the valid entries, in all and per stage.
   *
   * @example
   * const { entries, bytes, stages } = await store.stats(); // stages["register"].entries
   */
  async stats(): Promise<StoreStats> {
    const stages: Record<string, { entries: number; bytes: number }> = {};
    let entries = 0;
    let bytes = 0;
    for (const e of await this.list()) {
      const s = (stages[e.stage] ??= { entries: 0, bytes: 0 });
      s.entries++;
      s.bytes += e.bytes;
      entries++;
      bytes += e.bytes;
    }
    return { entries, bytes, stages };
  }

  /**
   * Collects garbage: damaged entries, entries older than `maxAgeMs`, then the oldest entries until
   * the rest fit in `maxBytes`; crash leftovers in `tmp/` older than an hour and every entry moved
   * aside; stray files under `entries/`. `latest` pointers to removed entries are repointed to the
   * stage's newest remaining entry (or removed with the then-empty stage directory).
   *
   * @example
   * await store.gc({ maxBytes: 500 * 2 ** 20, maxAgeMs: 30 * 86_400_000 }); // { removed: 12, freedBytes: 73400320 }
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const now = options.now ?? Date.now();
    let removed = 0;
    let freedBytes = 0;
    const remove = async (path: string, bytes: number, isEntry: boolean): Promise<void> => {
      if (await this.removeDir(path)) {
        if (isEntry) removed++;
        freedBytes += bytes;
      }
    };

    // 1. tmp/: moved-aside entries always; work in progress only once it is clearly abandoned.
    for (const name of await listDir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info) continue;
      if (name.startsWith("corrupt-") || name.startsWith("trash-") || now - info.mtimeMs > STALE_TMP_MS) {
        const bytes = await sizeOnDisk(path);
        await rm(path, { recursive: true, force: true }).catch(() => undefined);
        freedBytes += bytes;
      }
    }

    // 2. entries/: damaged entries and strays, then by age, then by size (oldest first).
    const { found, strays, stageDirs } = await this.scan();
    for (const stray of strays) await remove(stray, await sizeOnDisk(stray), false);
    const valid: (Found & { verdict: { status: "hit" } })[] = [];
    for (const f of found) {
      if (f.verdict.status === "hit") valid.push(f as Found & { verdict: { status: "hit" } });
      else await remove(f.path, await sizeOnDisk(f.path), true);
    }
    valid.sort((a, b) => compareCreated(a.verdict.record, b.verdict.record));
    let kept = valid;
    if (options.maxAgeMs !== undefined) {
      const cutoff = now - options.maxAgeMs;
      kept = [];
      for (const f of valid) {
        if (Date.parse(f.verdict.record.createdAt) < cutoff) await remove(f.path, f.verdict.bytes, true);
        else kept.push(f);
      }
    }
    if (options.maxBytes !== undefined) {
      let total = kept.reduce((sum, f) => sum + f.verdict.bytes, 0);
      while (total > options.maxBytes && kept.length > 0) {
        const oldest = kept.shift()!;
        await remove(oldest.path, oldest.verdict.bytes, true);
        total -= oldest.verdict.bytes;
      }
    }

    // 3. latest pointers: repoint (or drop, with the empty stage directory) those whose entry is gone.
    for (const stageDir of stageDirs) {
      const path = join(this.entriesDir, stageDir);
      const remaining = kept.filter((f) => f.stageDir === stageDir);
      const pointed = await this.readLatest(path, undefined);
      if (pointed !== undefined && (await pathExists(join(path, pointed, "entry.json")))) continue;
      const newest = remaining.at(-1);
      if (newest) await this.setLatest(path, newest.verdict.record.stage, newest.key);
      else {
        await rm(join(path, "latest"), { force: true });
        await rmdir(path).catch(() => undefined); // not empty: a put landed meanwhile
      }
    }
    return { removed, freedBytes };
  }

  /**
   * Removes every entry and all temporary work. A `put` running meanwhile in another process fails
   * with a MemopipeError saying the cache was cleared.
   *
   * @example
   * await store.clear(); // `memopipe cache clear`
   */
  async clear(): Promise<void> {
    if (await pathExists(this.entriesDir)) await this.removeDir(this.entriesDir);
    await rm(this.tmpDir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------

  /** Reads one entry to the given depth; a damaged one is moved aside. */
  private async read(stage: string, key: string, depth: Depth): Promise<Verdict> {
    const stageDir = stageDirName(stage);
    const path = join(this.entriesDir, stageDir, assertKey(key));
    const verdict = await verifyEntry(path, { stage, stageDir, key }, depth);
    if (verdict.status === "corrupt") await this.moveAside(path, "corrupt");
    return verdict;
  }

  /**
   * Renames the assembled entry into place. Returns `undefined` when ours was published, or the
   * record of the entry that another process published first. Retries when `gc` removed the empty
   * stage directory between our `mkdir` and `rename`, and once when a damaged entry is in the way.
   */
  private async publish(work: string, stageDir: string, finalDir: string, stage: string, key: string): Promise<EntryRecord | undefined> {
    let replacedDamaged = false;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await mkdir(stageDir, { recursive: true });
        await rename(work, finalDir);
        await syncDir(stageDir);
        return undefined;
      } catch (error) {
        if (!(await pathExists(finalDir))) {
          if (!(await pathExists(work))) {
            throw new MemopipeError(`entry ${key} of stage '${stage}' could not be published: its temporary directory ${work} disappeared (was the cache cleared meanwhile?)`, { cause: error });
          }
          if (errorCode(error) === "ENOENT") continue; // the stage directory went away: make it again
          await rm(work, { recursive: true, force: true });
          throw error;
        }
        // The key is taken: another process published it first (Linux: ENOTEMPTY/EEXIST, Windows: EPERM).
        const existing = await verifyEntry(finalDir, { stage, stageDir: stageDirName(stage), key }, "hash");
        if (existing.status === "hit" || replacedDamaged) {
          await rm(work, { recursive: true, force: true });
          if (existing.status === "hit") return existing.record;
          throw new CacheCorruptionError(`entry ${key} of stage '${stage}' could not be published: a damaged entry is in the way again after being moved aside (${existing.status === "corrupt" ? existing.reason : "incomplete"})`);
        }
        await this.moveAside(finalDir, "corrupt");
        replacedDamaged = true;
      }
    }
    await rm(work, { recursive: true, force: true });
    throw new MemopipeError(`entry ${key} of stage '${stage}' could not be published: its stage directory kept disappearing`);
  }

  /** Points `<stage-dir>/latest` at `key`: a temp file in `tmp/`, then a rename (readers see the old or the new pointer, whole). */
  private async setLatest(stageDirPath: string, stage: string, key: string): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    const temp = join(this.tmpDir, `latest-${randomBytes(8).toString("hex")}`);
    await writeSynced(temp, `${JSON.stringify({ stage, key }, null, 2)}\n`);
    try {
      await rename(temp, join(stageDirPath, "latest"));
    } catch (error) {
      await rm(temp, { force: true });
      if (errorCode(error) !== "ENOENT") throw error; // ENOENT: the stage was collected meanwhile
    }
  }

  /** The key `latest` points to, if it is well-formed (and names `stage`, when given). */
  private async readLatest(stageDirPath: string, stage: string | undefined): Promise<string | undefined> {
    try {
      const pointer = JSON.parse(await readFile(join(stageDirPath, "latest"), "utf8")) as { stage?: unknown; key?: unknown } | null;
      if (!pointer || !isKey(pointer.key) || (stage !== undefined && pointer.stage !== stage)) return undefined;
      return pointer.key;
    } catch {
      return undefined;
    }
  }

  /** Moves an entry out of `entries/` in one rename, so the next run recomputes it cleanly. */
  private async moveAside(path: string, prefix: "corrupt" | "trash"): Promise<string | undefined> {
    const target = join(this.tmpDir, `${prefix}-${Date.now()}-${randomBytes(6).toString("hex")}`);
    try {
      await mkdir(this.tmpDir, { recursive: true });
      await rename(path, target);
      return target;
    } catch {
      return undefined; // already moved or removed by another process
    }
  }

  /** Removes a directory (or file) without ever leaving half of it in `entries/`: rename into `tmp/`, then delete. */
  private async removeDir(path: string): Promise<boolean> {
    const trash = await this.moveAside(path, "trash");
    if (trash === undefined) return false;
    await rm(trash, { recursive: true, force: true });
    return true;
  }

  /** Every entry directory under `entries/` with its verdict (records fully, outputs by size), plus stray files and the stage directories. */
  private async scan(): Promise<{ found: Found[]; strays: string[]; stageDirs: string[] }> {
    const found: Found[] = [];
    const strays: string[] = [];
    const stageDirs: string[] = [];
    for (const stageDir of await listDir(this.entriesDir)) {
      const stagePath = join(this.entriesDir, stageDir);
      if (!(await lstat(stagePath).catch(() => undefined))?.isDirectory()) {
        strays.push(stagePath);
        continue;
      }
      stageDirs.push(stageDir);
      for (const name of await listDir(stagePath)) {
        const path = join(stagePath, name);
        if (name === "latest") continue;
        if (!isKey(name)) strays.push(path);
        else found.push({ stageDir, key: name, path, verdict: await verifyEntry(path, { stageDir, key: name }, "stat") });
      }
    }
    return { found, strays, stageDirs };
  }
}

/** Builds the record and its text, with its checksum; the returned record is the parsed text, equal to what `get` will read. */
function recordText(stage: string, key: string, entry: NewEntry, codec: "json" | "v8", file: string, bytes: Buffer): { text: string; record: EntryRecord } {
  const body = {
    format: 1 as const,
    stage,
    key,
    createdAt: new Date().toISOString(),
    inputs: entry.inputs,
    code: entry.code,
    outputs: { codec, file, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length },
    ...(entry.outputFiles === undefined ? {} : { outputFiles: entry.outputFiles }),
  };
  let bodyText: string;
  try {
    bodyText = JSON.stringify(body, null, 2);
  } catch (error) {
    throw new UnrecordableValueError("the inputs manifest", `value JSON cannot hold (${error instanceof Error ? error.message : String(error)})`, stage);
  }
  // The checksum is over the body re-read from its own text, so a `value` JSON drops parts of (an
  // `undefined` property) is summed as it will be read back.
  const parsed = JSON.parse(bodyText) as Omit<EntryRecord, "checksum">;
  const checksum = createHash("sha256").update(JSON.stringify(parsed, null, 2)).digest("hex");
  const record: EntryRecord = { ...parsed, checksum };
  return { text: `${JSON.stringify(record, null, 2)}\n`, record };
}

/**
 * Verifies one entry directory: the record (JSON, shape, checksum, location), then its outputs to
 * `depth`. A missing `entry.json` is a miss; so is a missing outputs file whose record has gone too
 * (the entry was removed while we read it), but a missing outputs file beside its record is damage.
 */
async function verifyEntry(path: string, expect: { stage?: string; stageDir: string; key: string }, depth: Depth): Promise<Verdict> {
  let text: Buffer;
  try {
    // Synchronous reads of the (small) record and outputs: on a cache hit, each hand-off to
    // libuv's thread pool cost 35–235 µs on a 2-vCPU machine against ~7 µs for readFileSync
    // (bench/cache.ts); outputs above 1 MiB are read asynchronously, where that cost is noise.
    text = readFileSync(join(path, "entry.json"));
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return { status: "miss" };
    return { status: "corrupt", reason: `entry.json could not be read (${code ?? String(error)})`, bytes: 0 };
  }
  const corrupt = (reason: string, extra = 0): Verdict => ({ status: "corrupt", reason, bytes: text.length + extra });
  const checked = checkRecord(text);
  if (typeof checked === "string") return corrupt(checked);
  const record = checked;
  const stageMatches = expect.stage !== undefined ? record.stage === expect.stage : stageDirName(record.stage) === expect.stageDir;
  if (!stageMatches || record.key !== expect.key) return corrupt("record's key/stage does not match its location");

  const { file, size, sha256, codec } = record.outputs;
  let outputs: Buffer | undefined;
  let actualSize: number;
  try {
    if (depth === "stat") actualSize = (await stat(join(path, file))).size;
    else if (size <= 1 << 20) actualSize = (outputs = readFileSync(join(path, file))).length;
    else actualSize = (outputs = await readFile(join(path, file))).length;
  } catch (error) {
    if (errorCode(error) === "ENOENT" && !(await pathExists(join(path, "entry.json")))) return { status: "miss" };
    return corrupt(errorCode(error) === "ENOENT" ? `${file} is missing` : `${file} could not be read (${errorCode(error) ?? String(error)})`);
  }
  if (actualSize !== size) return corrupt(`${file} size mismatch (record says ${size} bytes, file has ${actualSize})`, actualSize);
  if (outputs !== undefined && createHash("sha256").update(outputs).digest("hex") !== sha256) return corrupt(`${file} checksum mismatch`, actualSize);
  let value: unknown;
  if (depth === "decode") {
    try {
      value = decodeOutputs(codec, outputs!);
    } catch (error) {
      return corrupt(`${file} does not decode (${error instanceof Error ? error.message : String(error)})`, actualSize);
    }
  }
  return { status: "hit", record, outputs: value, bytes: text.length + actualSize };
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

function compareCreated(a: EntryRecord, b: EntryRecord): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

function sortOldestFirst<T extends EntryRecord>(records: T[]): T[] {
  return records.sort(compareCreated);
}
