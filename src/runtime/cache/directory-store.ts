/**
 * The embedded cache store: a directory (`.memopipe/` under the working directory unless the
 * caller says otherwise).
 *
 * Layout:
 * ```
 * <dir>/CACHEDIR.TAG                          tells backup tools this is a cache
 * <dir>/entries/<stage-dir>/<kk>/<key>        one file per entry (entry-file.ts), <kk> = the key's first two hex digits
 * <dir>/entries/<stage-dir>/latest            the keys of the stage's entries, newest last (to explain a miss)
 * <dir>/locks/<key>.lock                      a computation under way (dir-claim.ts)
 * <dir>/tmp/                                  entries being written, or moved aside (damaged, removed)
 * <dir>/events.jsonl                          what each run did (events.ts)
 * <dir>/stat-cache.json                       file digests by stat (file-digest.ts)
 * ```
 * `<stage-dir>` comes from `stageDirName` (safe-name.ts) and `<key>` must be 64 lowercase hex
 * digits, so nothing a caller passes can name a path outside `<dir>/entries`; planted symbolic
 * links are refused (safe-dirs.ts).
 *
 * ## Publishing
 * An entry is written whole to `tmp/`, then *linked* to its name: `link` fails when the name
 * exists, so the first writer wins atomically and a reader sees an entry entirely or not at all.
 * No fsync by default: a power loss may leave a renamed-but-empty or partial file, which the
 * checksum every read verifies detects (the entry is then recomputed); `durable: true` fsyncs the
 * file before linking it and the directory after. Files are created with mode 0666 and directories
 * 0777, both minus the umask, so a group-shared cache works.
 *
 * ## Reading
 * A hit is synchronous: one open, one fstat, one read, a CRC-32 over the bytes, a small JSON header
 * parsed, the payload decoded. (An async read costs a thread-pool round trip, 35–235 µs on a 2-core
 * machine, more than the rest of the hit; payloads above 1 MiB are read asynchronously, where that
 * is noise.) A damaged entry is moved aside and reported `corrupt`; a permission or I/O error is
 * `unreadable` and left alone (it is not damage).
 */
import { randomBytes } from "../lazy-builtins.js";
import { closeSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { open, readFile, rename, rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { CacheWriteError } from "../errors.js";
import { DirectoryClaims } from "./dir-claim.js";
import { collectGarbage, type GcOptions, type GcResult } from "./directory-gc.js";
import { readLatest, scanEntries, sortOldestFirst } from "./directory-scan.js";
import { encodeEntry, parseEntry, type ParsedEntry } from "./entry-file.js";
import { decodePayload } from "./payload.js";
import { APPEND_NO_FOLLOW, CREATE_EXCLUSIVE, SafeDirs } from "./safe-dirs.js";
import { assertKey, isKey, stageDirName } from "./safe-name.js";
import { errorCode, syncDirSync } from "./store-files.js";
import type { CacheStore, Claim, ClaimOptions, EntryRecord, NewEntry, ReadResult } from "./types.js";

/**
 * The cache directory callers use when none is given, relative to the working directory.
 *
 * @example
 * new DirectoryStore(join(process.cwd(), DEFAULT_CACHE_DIR));
 */
export const DEFAULT_CACHE_DIR = ".memopipe";

/** `<stage-dir>/latest` is compacted to one line past this size (see `setLatest`). */
const LATEST_COMPACT_BYTES = 64 * 1024;
/** Part of every temp name: unique across processes with the pid, drawn once. */
const PROCESS_TAG = Math.random().toString(36).slice(2, 8);
let tempCounter = 0;
/** Payloads up to this size are read synchronously (see "Reading"). */
const SYNC_READ_MAX = 1 << 20;

export type { GcOptions, GcResult } from "./directory-gc.js";

/**
 * Options of a directory store.
 *
 * @example
 * new DirectoryStore(".memopipe", { durable: true }); // fsync every entry (survives power loss)
 */
export interface DirectoryStoreOptions {
  /** Fsync each entry and its directory before it counts as written (default false: the checksum catches torn entries). */
  readonly durable?: boolean;
}

/**
 * An entry as `list()` returns it: its record and the bytes its file takes.
 *
 * @example
 * const [oldest]: ListedEntry[] = await store.list(); // oldest?.bytes
 */
export interface ListedEntry extends EntryRecord {
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
 * A `CacheStore` in a directory: atomic first-writer-wins publication, verified reads, claims across
 * processes, and the management calls behind `memopipe cache ls | stats | show | gc | clear`.
 *
 * @example
 * const store = new DirectoryStore(".memopipe");
 * await store.put("register", key, { inputs: {}, code: { fingerprint, source: "codegen" }, payload: encodePayload({ shift: 3 }, "register") });
 * const read = store.get("register", key); // { status: "hit", outputs: { shift: 3 }, … }
 */
export class DirectoryStore implements CacheStore {
  /** The cache directory, absolute. */
  readonly dir: string;
  readonly location: string;
  private readonly entriesDir: string;
  private readonly tmpDir: string;
  private readonly dirs: SafeDirs;
  private readonly claims: DirectoryClaims;
  private readonly durable: boolean;
  private readonly stageDirs = new Map<string, string>();
  /** `<entries>/<stage-dir>/` by stage name (see `entryPath`). */
  private readonly stagePrefixes = new Map<string, string>();
  /** The size of the entry this store read last, by stage: the first guess of the next read's (see `get`). */
  private readonly sizeGuess = new Map<string, number>();

  /**
   * @param dir the cache directory; created on the first write.
   * @example
   * const store = new DirectoryStore(join(process.cwd(), DEFAULT_CACHE_DIR));
   */
  constructor(dir: string, options: DirectoryStoreOptions = {}) {
    this.dir = resolve(dir);
    this.location = this.dir;
    this.entriesDir = join(this.dir, "entries");
    this.tmpDir = join(this.dir, "tmp");
    this.dirs = new SafeDirs(this.dir);
    this.claims = new DirectoryClaims(this.dirs, join(this.dir, "locks"));
    this.durable = options.durable ?? false;
  }

  /**
   * The file of an entry.
   *
   * @example
   * store.entryPath("register", key); // "/repo/.memopipe/entries/register/9f/9f…"
   */
  entryPath(stage: string, key: string): string {
    // `<entries>/<stage-dir>/` is made once per stage: `path.join` of four parts normalises the
    // whole string again on every call (~1 µs of a hit); the shard and the key are plain hex.
    let prefix = this.stagePrefixes.get(stage);
    if (prefix === undefined) this.stagePrefixes.set(stage, (prefix = `${join(this.entriesDir, this.stageDir(stage))}${sep}`));
    return `${prefix}${assertKey(key).slice(0, 2)}${sep}${key}`;
  }

  /**
   * Reads and verifies an entry: `miss` when it is absent, `corrupt` (with the reason, the entry
   * moved aside) when a check fails, `unreadable` when the system refuses the read. Synchronous for
   * payloads up to 1 MiB. Throws only for a malformed key.
   *
   * @example
   * const r = await store.get("register", key);
   * if (r.status === "hit") use(r.outputs); else if (r.status === "corrupt") warn(r.reason);
   */
  get(stage: string, key: string): ReadResult | Promise<ReadResult> {
    const path = this.entryPath(stage, key);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      return this.openFailed(error, path);
    }
    // One `read` into a buffer sized from the last entry of this stage, and no `fstat` (~2 µs of a
    // hit with the Stats object Node builds): a read that returns less than asked for has reached
    // the end of a regular file. Should it not have (a short read is allowed, if never seen on a
    // local file), the entry's own sizes do not add up and `readWhole` reads it again after an
    // fstat before anything is called corrupt. A full buffer (a larger entry) takes that path too.
    let bytes: Buffer | undefined;
    try {
      const guess = this.sizeGuess.get(stage) ?? 16384;
      const buffer = Buffer.allocUnsafeSlow(guess);
      const n = readSync(fd, buffer, 0, guess, 0);
      if (n < guess) bytes = buffer.subarray(0, n);
    } catch (error) {
      closeQuietly(fd);
      if (errorCode(error) === "EISDIR") return this.openFailed(error, path);
      return this.readFailed(error, path);
    }
    if (bytes !== undefined) {
      const parsed = parseEntry(bytes, { stage, key });
      if (typeof parsed !== "string" || !parsed.startsWith("size mismatch")) {
        closeQuietly(fd);
        this.noteSize(stage, bytes.length);
        return this.verdict(path, parsed);
      }
    }
    return this.readWhole(stage, key, path, fd);
  }

  /** The careful read of `get`: the size from `fstat`, reads until it is all in (closes `fd`). */
  private readWhole(stage: string, key: string, path: string, fd: number): ReadResult | Promise<ReadResult> {
    let bytes: Buffer;
    try {
      const size = fstatSync(fd).size;
      if (size > SYNC_READ_MAX) {
        closeQuietly(fd);
        return this.getAsync(stage, key, path);
      }
      bytes = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, bytes, read, size - read, read);
        if (n === 0) break;
        read += n;
      }
      if (read < size) bytes = bytes.subarray(0, read);
    } catch (error) {
      closeQuietly(fd);
      return this.readFailed(error, path);
    }
    closeQuietly(fd);
    this.noteSize(stage, bytes.length);
    return this.verdict(path, parseEntry(bytes, { stage, key }));
  }

  /** Next read of this stage asks for a little more than this entry's size (up to the sync limit): a read short of it ends the file. */
  private noteSize(stage: string, size: number): void {
    if (size >= SYNC_READ_MAX) return;
    const guess = Math.min(SYNC_READ_MAX, size + (size >> 2) + 4096);
    if (this.sizeGuess.get(stage) !== guess) this.sizeGuess.set(stage, guess);
  }

  private async getAsync(stage: string, key: string, path: string): Promise<ReadResult> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      return this.openFailed(error, path);
    }
    return this.verdict(path, parseEntry(bytes, { stage, key }));
  }

  private openFailed(error: unknown, path: string): ReadResult {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return { status: "miss" };
    if (code === "EISDIR") {
      this.moveAside(path, "corrupt"); // a directory where an entry belongs (an old-format entry or planted)
      return { status: "corrupt", reason: "a directory stands where the entry file belongs" };
    }
    return this.readFailed(error, path);
  }

  private readFailed(error: unknown, path: string): ReadResult {
    const code = errorCode(error);
    return { status: "unreadable", reason: `${code === "EACCES" || code === "EPERM" ? "permission denied" : (code ?? String(error))} reading ${path}` };
  }

  private verdict(path: string, parsed: ParsedEntry | string): ReadResult {
    if (typeof parsed === "string") return this.corrupt(path, parsed);
    let outputs: unknown;
    try {
      outputs = decodePayload(parsed.codec, parsed.bytes, parsed.payloadStart, parsed.bytes.length);
    } catch (error) {
      return this.corrupt(path, `the outputs do not decode (${error instanceof Error ? error.message : String(error)})`);
    }
    return { status: "hit", outputs, bytes: parsed.size, files: parsed.files, payload: payloadOf(parsed), record: parsed.record };
  }

  private corrupt(path: string, reason: string): ReadResult {
    this.moveAside(path, "corrupt");
    return { status: "corrupt", reason };
  }

  /**
   * Publishes an entry and returns its record. If the key was published meanwhile (by another
   * process computing the same thing), the first entry is kept and its record returned; a damaged
   * one in the way is moved aside and replaced.
   *
   * @throws CacheWriteError when the entry cannot be written (full disk, read-only, permissions,
   *   a planted link); nothing is left behind then.
   * @example
   * const record = await store.put("register", key, { inputs, code, payload });
   */
  async put(stage: string, key: string, entry: NewEntry): Promise<EntryRecord> {
    const path = this.entryPath(stage, key);
    const record: EntryRecord = {
      format: 2,
      stage,
      key,
      createdAt: new Date().toISOString(),
      inputs: entry.inputs,
      code: entry.code,
      outputs: { codec: entry.payload.codec, size: entry.payload.bytes.length },
      ...(entry.outputFiles?.length ? { outputFiles: entry.outputFiles } : {}),
    };
    const bytes = encodeEntry(record, entry.payload.bytes);
    const temp = await this.writeTemp(bytes);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          this.dirs.ensure(join(path, ".."));
          linkSync(temp, path);
          break;
        } catch (error) {
          const code = errorCode(error);
          if (code === "EEXIST") {
            const existing = await this.get(stage, key);
            if (existing.status === "hit") return existing.record();
            if (attempt === 0 && existing.status !== "unreadable") continue; // the damaged one was moved aside: try again
            throw new CacheWriteError(`entry ${key} of stage '${stage}' could not be published: ${path} is in the way (${existing.status === "unreadable" || existing.status === "corrupt" ? existing.reason : existing.status})`, path, code);
          }
          if (code === "ENOENT" && attempt < 3) {
            this.dirs.forget(); // `cache clear` removed a directory under us: make it again
            continue;
          }
          if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EXDEV") {
            // no hard links here (some network or FAT file systems): rename, last writer wins with equal content
            renameSync(temp, path);
            break;
          }
          throw error;
        }
      }
      if (this.durable) syncDirSync(join(path, ".."));
    } catch (error) {
      throw error instanceof CacheWriteError ? error : writeError(error, path, `cannot publish entry ${key} of stage '${stage}'`);
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // renamed into place, or gone
      }
    }
    this.setLatest(stage, key);
    return record;
  }

  /** Writes bytes to a new file in tmp/ (fsynced when durable) and returns its path. */
  private async writeTemp(bytes: Buffer): Promise<string> {
    const temp = this.tempPath("put");
    try {
      this.dirs.ensure(this.tmpDir);
      if (bytes.length > SYNC_READ_MAX) {
        const handle = await open(temp, CREATE_EXCLUSIVE, 0o666);
        try {
          await handle.writeFile(bytes);
          if (this.durable) await handle.sync();
        } finally {
          await handle.close();
        }
        return temp;
      }
      let fd: number;
      try {
        fd = openSync(temp, CREATE_EXCLUSIVE, 0o666);
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw error;
        this.dirs.forget(); // tmp/ was removed under us (`cache clear` in another process)
        this.dirs.ensure(this.tmpDir);
        fd = openSync(temp, CREATE_EXCLUSIVE, 0o666);
      }
      try {
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        if (this.durable) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return temp;
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // never created
      }
      throw error instanceof CacheWriteError ? error : writeError(error, temp, "cannot write a new cache entry");
    }
  }

  /**
   * Notes `key` as the stage's latest entry: one line appended to `<stage-dir>/latest` (an
   * `O_APPEND` write of 65 bytes: concurrent writers never interleave). Not a pointer file renamed
   * over the old one: on ext4 a rename that replaces a file forces the new file's data to disk
   * (`auto_da_alloc`), which measured ~2 ms per miss — more than the rest of a miss. The file is
   * compacted to its last line when it passes 64 KiB (every ~1,000 misses). Best effort: a stage
   * without a latest entry only explains its next miss as "no record".
   */
  private setLatest(stage: string, key: string): void {
    const path = join(this.entriesDir, this.stageDir(stage), "latest");
    try {
      const fd = openSync(path, APPEND_NO_FOLLOW, 0o666);
      let size = 0;
      try {
        writeSync(fd, `${key}\n`);
        size = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
      if (size > LATEST_COMPACT_BYTES) this.resetLatest(path, key);
    } catch {
      // best effort
    }
  }

  /** Rewrites `<stage-dir>/latest` to hold only `key` (a temp file renamed over it). Best effort. */
  private resetLatest(path: string, key: string): void {
    const temp = this.tempPath("latest");
    try {
      const fd = openSync(temp, CREATE_EXCLUSIVE, 0o666);
      try {
        writeSync(fd, `${key}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, path);
    } catch {
      try {
        unlinkSync(temp);
      } catch {
        // never created
      }
    }
  }

  /** A fresh name in `tmp/`: pid, a per-process random part and a counter (no random bytes drawn per entry). */
  private tempPath(prefix: string): string {
    return join(this.tmpDir, `${prefix}-${process.pid}-${PROCESS_TAG}-${(tempCounter++).toString(36)}`);
  }

  /**
   * The stage's most recently published entry, verified, or `undefined` (none, or it is gone or damaged).
   *
   * @example
   * const last = await store.latest("register"); // to explain a miss: diff last?.inputs against the new manifest
   */
  async latest(stage: string): Promise<EntryRecord | undefined> {
    const key = readLatest(join(this.entriesDir, this.stageDir(stage)));
    if (key === undefined) return undefined;
    const read = await this.get(stage, key);
    return read.status === "hit" ? read.record() : undefined;
  }

  /**
   * Claims the computation of a key across processes (dir-claim.ts): the first caller computes, the
   * others wait for its entry; a claimant that died is taken over.
   *
   * @example
   * const c = await store.claim("train", key);
   * if (c.owned) try { await store.put("train", key, entry); } finally { c.release(); }
   */
  claim(stage: string, key: string, options?: ClaimOptions): Promise<Claim> {
    const path = this.entryPath(stage, key);
    return this.claims.claim(key, () => lstatExists(path), options);
  }

  /**
   * An entry's record and outputs (verified), for people: `memopipe cache show`. Without a key, the
   * stage's latest entry.
   *
   * @example
   * const shown = await store.show("register"); // { record, outputs } or undefined
   */
  async show(stage: string, key?: string): Promise<{ record: EntryRecord; outputs: unknown } | undefined> {
    const k = key ?? readLatest(join(this.entriesDir, this.stageDir(stage)));
    if (k === undefined) return undefined;
    if (!isKey(k)) {
      const match = (await this.list()).filter((e) => e.stage === stage && e.key.startsWith(k));
      if (match.length !== 1) return undefined;
      return this.show(stage, match[0]!.key);
    }
    const read = await this.get(stage, k);
    return read.status === "hit" ? { record: read.record(), outputs: read.outputs } : undefined;
  }

  /**
   * Every entry whose file is whole, oldest first, with the bytes it takes. Checks each file's
   * header and sizes but not its checksum (re-hashing a whole cache to list it is what made
   * cacache's `verify()` slow); `get` verifies checksums.
   *
   * @example
   * for (const e of await store.list()) console.log(e.stage, e.key.slice(0, 12), e.createdAt, e.bytes);
   */
  async list(): Promise<ListedEntry[]> {
    const { found } = await scanEntries(this.entriesDir);
    return sortOldestFirst(found.flatMap((f) => (f.record ? [{ ...f.record, bytes: f.bytes }] : [])));
  }

  /**
   * Counts and sizes of the entries, in all and per stage.
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
   * the rest fit in `maxBytes`; crash leftovers, strays, stale locks; trims `events.jsonl`
   * (directory-gc.ts says how, in order).
   *
   * @example
   * await store.gc({ maxBytes: 500 * 2 ** 20, maxAgeMs: 30 * 86_400_000 }); // { removed: 12, freedBytes: 73400320 }
   */
  gc(options: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(
      { dir: this.dir, entriesDir: this.entriesDir, tmpDir: this.tmpDir, remove: (path) => this.removePath(path), resetLatest: (path, key) => this.resetLatest(path, key) },
      options,
    );
  }

  /**
   * Removes every entry and all temporary work. A `put` running meanwhile in another process
   * re-creates the directories it needs.
   *
   * @example
   * await store.clear(); // `memopipe cache clear`
   */
  async clear(): Promise<void> {
    const trash = join(this.tmpDir, `trash-${Date.now()}-${randomBytes(6).toString("hex")}`);
    try {
      this.dirs.ensure(this.tmpDir);
      await rename(this.entriesDir, trash);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw writeError(error, this.entriesDir, "cannot clear the cache");
    }
    await rm(this.tmpDir, { recursive: true, force: true });
    this.dirs.forget();
  }

  // ---------------------------------------------------------------------------------------------

  private stageDir(stage: string): string {
    let dir = this.stageDirs.get(stage);
    if (dir === undefined) {
      dir = stageDirName(stage);
      this.stageDirs.set(stage, dir);
    }
    return dir;
  }

  /** Moves an entry out of `entries/` in one rename, so the next run recomputes it cleanly. Best effort (a read-only cache keeps it). */
  private moveAside(path: string, prefix: "corrupt" | "trash"): boolean {
    try {
      this.dirs.ensure(this.tmpDir);
      renameSync(path, join(this.tmpDir, `${prefix}-${Date.now()}-${randomBytes(6).toString("hex")}`));
      return true;
    } catch {
      return false; // already moved or removed by another process, or the cache is read-only
    }
  }

  /** Removes a file or a directory without ever leaving half of it in `entries/`: rename into `tmp/`, then delete. */
  private removePath(path: string): boolean {
    const target = join(this.tmpDir, `trash-${Date.now()}-${randomBytes(6).toString("hex")}`);
    try {
      this.dirs.ensure(this.tmpDir);
      renameSync(path, target);
    } catch {
      return false;
    }
    void rm(target, { recursive: true, force: true }).catch(() => undefined);
    return true;
  }

}

function payloadOf(parsed: ParsedEntry): { codec: string; bytes: Uint8Array } {
  return { codec: parsed.codec, bytes: parsed.bytes.subarray(parsed.payloadStart) };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do: the descriptor is gone either way
  }
}

function lstatExists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

function writeError(error: unknown, path: string, what: string): CacheWriteError {
  const code = errorCode(error);
  const why =
    code === "ENOSPC" || code === "EDQUOT"
      ? "the disk is full"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EROFS"
          ? "the file system is read-only"
          : code === "ELOOP"
            ? "a symbolic link is in the way"
            : (code ?? (error instanceof Error ? error.message : String(error)));
  return new CacheWriteError(`${what}: ${why} (${path})`, path, code, { cause: error });
}

