/**
 * Content digests of files, with a stat cache so an unchanged file costs one `stat`, not a re-read.
 *
 * A file's digest is the SHA-256 of its contents (node:crypto, which uses the CPU's SHA
 * instructions: on this project's reference machine about 4× `sha256sum` from coreutils 9.1).
 * The stat cache is keyed by absolute path and stores device, inode, size, mtime and ctime in
 * nanoseconds: ctime matters because tools that restore mtimes (`tar`, `cp -p`, `utimes`) cannot
 * restore ctime (Bazel had a false hit without it: bazel#14723).
 */
import { statSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { MemopipeError } from "../errors.js";
import { FileRef, ResolvedFile } from "./types.js";

/** Read size: 1 MiB measured fastest (stream 64 KiB: −30 %; 4 MiB: no gain; double buffering: no gain). */
const CHUNK = 1 << 20;
/** How many times a file that changes while it is hashed is hashed again before giving up. */
const MAX_TRIES = 3;
/** The "racy" window (git's racy-git problem), in ns: see {@link FileDigests.digest}. */
const RACY_WINDOW_NS = 2_000_000_000n;
const STAT_CACHE_FORMAT = "memopipe-stat-cache-v1";

/** One stat-cache record. Bigints are kept exact (JSON stores them as decimal strings). */
interface StatRecord {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  sha256: string;
  /** Wall-clock time (ns since the epoch) just before the contents were read. */
  hashedAtNs: bigint;
}

const STAT_FIELDS = ["dev", "ino", "size", "mtimeNs", "ctimeNs"] as const;

function sameStat(a: Pick<StatRecord, (typeof STAT_FIELDS)[number]>, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}

/**
 * Computes and caches file content digests.
 *
 * @example
 * const digests = new FileDigests(".memopipe/stat-cache.json");
 * await digests.load();
 * const f = await digests.digest("data/sub-01.nii"); // ResolvedFile { path, sha256, size }
 * await digests.digest("data/sub-01.nii");           // unchanged and old enough: one stat, no read
 * await digests.save();
 */
export class FileDigests {
  private readonly entries = new Map<string, StatRecord>();
  private loading: Promise<void> | undefined;
  private dirty = false;

  /**
   * Counters: `hits` served from the stat cache, `hashes` files read and hashed (retries included).
   *
   * @example
   * await digests.digest("a.bin"); digests.stats; // { hits: 0, hashes: 1 }
   */
  readonly stats = { hits: 0, hashes: 0 };

  /**
   * @param statCachePath where the stat cache is persisted as JSON (`load()` / `save()`); in memory only when omitted.
   */
  constructor(readonly statCachePath?: string) {}

  /**
   * Reads the persisted stat cache (a missing or damaged file is an empty cache). Called lazily by
   * the first {@link digest}; records already in memory win over the file's.
   *
   * @example
   * const digests = new FileDigests("/tmp/stat-cache.json"); await digests.load();
   */
  load(): Promise<void> {
    this.loading ??= this.readStatCache();
    return this.loading;
  }

  private async readStatCache(): Promise<void> {
    if (this.statCachePath === undefined) return;
    let data: unknown;
    try {
      data = JSON.parse(await readFile(this.statCachePath, "utf8"));
    } catch {
      return; // missing or unreadable: start empty, it is only a cache
    }
    if (typeof data !== "object" || data === null || (data as { format?: unknown }).format !== STAT_CACHE_FORMAT) return;
    const entries = (data as { entries?: unknown }).entries;
    if (typeof entries !== "object" || entries === null) return;
    for (const [path, raw] of Object.entries(entries as Record<string, unknown>)) {
      if (this.entries.has(path) || typeof raw !== "object" || raw === null) continue;
      const r = raw as Record<string, unknown>;
      try {
        if (typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(r.sha256)) continue;
        const big = (k: string): bigint => {
          const v = r[k];
          if (typeof v !== "string" || !/^\d+$/.test(v)) throw new Error(k);
          return BigInt(v);
        };
        this.entries.set(path, {
          dev: big("dev"),
          ino: big("ino"),
          size: big("size"),
          mtimeNs: big("mtimeNs"),
          ctimeNs: big("ctimeNs"),
          hashedAtNs: big("hashedAtNs"),
          sha256: r.sha256,
        });
      } catch {
        /* a malformed record: skip it */
      }
    }
  }

  /**
   * Writes the stat cache to `statCachePath` atomically (a temp file in the same directory, then
   * rename), so a crash never leaves a half-written file; concurrent savers: the last one wins.
   * Does nothing without a path or when nothing changed.
   *
   * @example
   * await digests.save();
   */
  async save(): Promise<void> {
    if (this.statCachePath === undefined || !this.dirty) return;
    await this.load();
    const entries: Record<string, Record<string, string>> = {};
    for (const [path, r] of this.entries) {
      entries[path] = {
        dev: String(r.dev),
        ino: String(r.ino),
        size: String(r.size),
        mtimeNs: String(r.mtimeNs),
        ctimeNs: String(r.ctimeNs),
        hashedAtNs: String(r.hashedAtNs),
        sha256: r.sha256,
      };
    }
    const target = resolve(this.statCachePath);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temp, JSON.stringify({ format: STAT_CACHE_FORMAT, entries }));
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    this.dirty = false;
  }

  /**
   * The content digest of a regular file (`path` is kept as given in the result).
   *
   * The stat cache answers without reading when device, inode, size, mtime and ctime all match
   * the record AND the mtime is more than 2 s older than the moment the recorded digest was
   * computed. The second condition is git's "racy git" rule: a file written in the same
   * timestamp tick as (or just after) our read can change again without its mtime changing
   * (coarse filesystem clocks, the kernel's cached time lagging the wall clock), so its record
   * cannot be trusted; such a file is re-hashed on every call until it has aged past the window.
   *
   * A file that changes while it is read (identity, size, mtime or ctime differ before vs after,
   * or the bytes read differ from the size) is hashed again, up to 3 times, then this throws.
   *
   * @throws MemopipeError when the path does not exist, is not a regular file, or keeps changing.
   * @example
   * const { sha256, size } = await digests.digest("data/ref.nii");
   */
  async digest(path: string): Promise<ResolvedFile> {
    await this.load();
    const absolute = resolve(path);
    let before = await this.statFile(path, absolute);
    const cached = this.entries.get(absolute);
    if (cached !== undefined && sameStat(cached, before) && before.mtimeNs < cached.hashedAtNs - RACY_WINDOW_NS) {
      this.stats.hits++;
      return new ResolvedFile(path, cached.sha256, Number(before.size));
    }
    for (let attempt = 1; ; attempt++) {
      const hashedAtNs = BigInt(Date.now()) * 1_000_000n;
      this.stats.hashes++;
      const { sha256, bytes } = await this.hashContents(absolute);
      const after = await this.statFile(path, absolute);
      if (sameStat(before, after) && bytes === after.size) {
        this.entries.set(absolute, {
          dev: after.dev,
          ino: after.ino,
          size: after.size,
          mtimeNs: after.mtimeNs,
          ctimeNs: after.ctimeNs,
          sha256,
          hashedAtNs,
        });
        this.dirty = true;
        return new ResolvedFile(path, sha256, Number(after.size));
      }
      if (attempt >= MAX_TRIES) {
        this.entries.delete(absolute);
        throw new MemopipeError(
          `file '${path}' changed while it was being hashed (${MAX_TRIES} tries); wait until whatever writes it has finished, then run again`,
        );
      }
      before = after;
    }
  }

  /**
   * Whether a file still has the recorded contents (through the stat cache); false when it is
   * missing, not a regular file, or different.
   *
   * @example
   * if (!(await digests.verify(record))) console.log(`${record.path} changed`);
   */
  async verify(file: ResolvedFile): Promise<boolean> {
    try {
      const current = await this.digest(file.path);
      return current.sha256 === file.sha256 && current.size === file.size;
    } catch (error) {
      if (error instanceof MemopipeError) return false;
      throw error;
    }
  }

  private async statFile(path: string, absolute: string): Promise<BigIntStats> {
    let st: BigIntStats;
    try {
      st = await stat(absolute, { bigint: true });
    } catch (error) {
      const code = errorCode(error);
      throw new MemopipeError(
        code === "ENOENT" ? `file '${path}' does not exist (resolved to ${absolute})` : `cannot stat file '${path}': ${String(error)}`,
        { cause: error },
      );
    }
    if (!st.isFile()) throw new MemopipeError(`'${path}' is not a regular file, so it cannot be hashed as a file input`);
    return st;
  }

  /**
   * Reads a file through SHA-256 with a reused 1 MiB buffer (measured faster than
   * `createReadStream`, whose per-chunk Buffer allocations and stream machinery cost ~25 %).
   * Protected so tests can observe or disturb the read.
   */
  protected async hashContents(absolute: string): Promise<{ sha256: string; bytes: bigint }> {
    const handle = await open(absolute, "r");
    try {
      const hash = createHash("sha256");
      const buffer = Buffer.allocUnsafe(CHUNK);
      let bytes = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
        bytes += bytesRead;
      }
      return { sha256: hash.digest("hex"), bytes: BigInt(bytes) };
    } finally {
      await handle.close();
    }
  }
}

/** Strings that cannot be file names, or are too long to be worth a `stat`. */
function mayBePath(s: string): boolean {
  return s.length > 0 && s.length <= 4096 && !s.includes("\0") && !s.includes("\n");
}

/** The containers resolveFiles recurses into (exact types only: a subclass may not be rebuilt by copying). */
function containerKind(value: object): "array" | "map" | "set" | "object" | undefined {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) return "object";
  if (proto === Array.prototype && Array.isArray(value)) return "array";
  if (proto === Map.prototype) return "map";
  if (proto === Set.prototype) return "set";
  return undefined;
}

/**
 * Replaces files in a value by their content digests, for the cache key: every `FileRef`
 * (`file(path)`) becomes a `ResolvedFile`, and with `hashStringPaths` (memori's behaviour) so
 * does every string that names an existing regular file, relative to `process.cwd()`
 * (directories and non-existent paths stay strings). Recurses into arrays, plain objects, Map
 * values and Set elements (Map keys are left as they are). Returns a copy — the input is never
 * mutated — and the files found (each path once, in the order first met).
 *
 * @throws MemopipeError when a `FileRef` names a missing file or a file keeps changing.
 * @example
 * const { value, files } = await resolveFiles({ ref: file("ref.nii"), subjects: ["s1.nii", "s2.nii"] }, digests, { hashStringPaths: true });
 * // value.ref: ResolvedFile; value.subjects: ResolvedFile[] if the files exist; files: all three
 */
export async function resolveFiles(
  value: unknown,
  digests: FileDigests,
  options: { hashStringPaths: boolean },
): Promise<{ value: unknown; files: ResolvedFile[] }> {
  // Three phases: collect the paths (sync walk), hash them (concurrently, each path once), then
  // build the copy (sync). `seen` stops cycles; the encoder reports them later, with a path.
  const refPaths = new Set<string>();
  const stringPaths = new Set<string>();
  const seen = new Set<object>();
  const collect = (v: unknown): void => {
    if (typeof v === "string") {
      if (options.hashStringPaths && mayBePath(v)) stringPaths.add(v);
      return;
    }
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (v instanceof FileRef) {
      refPaths.add(v.path);
      return;
    }
    switch (containerKind(v)) {
      case "array":
        for (const x of v as unknown[]) collect(x); // a hole reads as undefined: harmless here
        break;
      case "map":
        for (const x of (v as Map<unknown, unknown>).values()) collect(x);
        break;
      case "set":
        for (const x of v as Set<unknown>) collect(x);
        break;
      case "object":
        for (const x of Object.values(v)) collect(x);
        break;
    }
  };
  collect(value);

  const resolved = new Map<string, ResolvedFile>();
  const resolveString = async (p: string): Promise<void> => {
    // statSync with throwIfNoEntry: false: most strings are not file names, and building the
    // ENOENT error of an async stat cost ~50 µs per string input on every cache hit.
    let isFile = false;
    try {
      isFile = statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
    } catch {
      // ENOTDIR, ENAMETOOLONG, EACCES…: not a readable file name
    }
    if (!isFile) return; // stays a string
    resolved.set(p, await digests.digest(p));
  };
  const tasks: (() => Promise<void>)[] = [
    ...[...refPaths].map((p) => async () => void resolved.set(p, await digests.digest(p))),
    ...[...stringPaths].filter((p) => !refPaths.has(p)).map((p) => () => resolveString(p)),
  ];
  // At most 16 files at once: enough to keep the disk and the thread pool busy, without
  // starting thousands of reads (and 1 MiB buffers) for a large list of paths.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(16, tasks.length) }, worker));
  // Nothing named a file (the common case on a cache hit): the value itself serves, as nothing
  // would be replaced in the copy; building it cost most of this function's time.
  if (resolved.size === 0) return { value, files: [] };

  const copies = new Map<object, unknown>();
  const files: ResolvedFile[] = [];
  const noted = new Set<string>();
  const note = (f: ResolvedFile): ResolvedFile => {
    if (!noted.has(f.path)) {
      noted.add(f.path);
      files.push(f);
    }
    return f;
  };
  const rebuild = (v: unknown): unknown => {
    if (typeof v === "string") {
      const f = options.hashStringPaths ? resolved.get(v) : undefined;
      return f === undefined ? v : note(f);
    }
    if (typeof v !== "object" || v === null) return v;
    if (copies.has(v)) return copies.get(v);
    if (v instanceof FileRef) return note(resolved.get(v.path)!);
    const kind = containerKind(v);
    if (kind === "array" && Array.isArray(v)) {
      const out: unknown[] = new Array<unknown>(v.length);
      copies.set(v, out);
      for (let i = 0; i < v.length; i++) if (i in v) out[i] = rebuild(v[i]); // keeps holes
      return out;
    }
    if (kind === "map" && v instanceof Map) {
      const out = new Map<unknown, unknown>();
      copies.set(v, out);
      for (const [k, x] of v) out.set(k, rebuild(x));
      return out;
    }
    if (kind === "set" && v instanceof Set) {
      const out = new Set<unknown>();
      copies.set(v, out);
      for (const x of v) out.add(rebuild(x));
      return out;
    }
    if (kind === "object") {
      const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
      copies.set(v, out);
      for (const [k, x] of Object.entries(v)) {
        // defineProperty, not assignment: an own "__proto__" key must stay a key, not set the prototype.
        Object.defineProperty(out, k, { value: rebuild(x), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v; // class instances, dates, typed arrays…: not containers of files; shared, not copied
  };
  return { value: rebuild(value), files };
}
