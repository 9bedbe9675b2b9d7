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
import { createHash, randomBytes } from "../lazy-builtins.js";
import type { BigIntStats } from "node:fs";
import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
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
  /** Whether the persisted records are in memory (then a stat-cache hit needs no `await` at all). */
  private loaded = false;
  private dirty = false;

  /**
   * Whether the persisted records are loaded: then {@link cachedDigest} answers every file the
   * stat cache knows, and a caller may skip `await load()`.
   *
   * @example
   * if (!digests.ready) await digests.load();
   */
  get ready(): boolean {
    return this.loaded;
  }

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
    this.loading ??= this.readStatCache().then(() => {
      this.loaded = true;
    });
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
    if (!this.loaded) await this.load();
    const absolute = resolve(path);
    let before = this.statFile(path, absolute);
    const hit = this.hit(path, absolute, before);
    if (hit !== undefined) return hit;
    for (let attempt = 1; ; attempt++) {
      const hashedAtNs = BigInt(Date.now()) * 1_000_000n;
      this.stats.hashes++;
      const { sha256, bytes } = await this.hashContents(absolute);
      const after = this.statFile(path, absolute);
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
   * The digest of `path` when the stat cache vouches for it, without reading and without waiting
   * (one synchronous `stat`): the same rule as {@link digest}'s first step. `null` when `path` is
   * not a regular file (missing, a directory, not stat-able); `undefined` when the file must be
   * read — or before the persisted records are loaded — so {@link digest} it.
   *
   * Why synchronous: on the hit path every file input costs one `stat`. Through `fs.promises`
   * that is a hop to libuv's thread pool and back (35–235 µs measured on a loaded 2-core machine);
   * `statSync` costs ~5 µs.
   *
   * @example
   * const f = digests.cachedDigest("data/ref.nii") ?? (await digests.digest("data/ref.nii"));
   */
  cachedDigest(path: string): ResolvedFile | null | undefined {
    const absolute = resolve(path);
    let st: BigIntStats | undefined;
    try {
      st = statSync(absolute, { bigint: true, throwIfNoEntry: false });
    } catch {
      return null; // ENOTDIR, ENAMETOOLONG, EACCES…
    }
    if (st === undefined || !st.isFile()) return null;
    return this.loaded ? this.hit(path, absolute, st) : undefined;
  }

  /** A stat-cache hit: the record matches the stat, and the file is older than the racy window (see {@link digest}). */
  private hit(path: string, absolute: string, st: BigIntStats): ResolvedFile | undefined {
    const cached = this.entries.get(absolute);
    if (cached === undefined || !sameStat(cached, st) || st.mtimeNs >= cached.hashedAtNs - RACY_WINDOW_NS) return undefined;
    this.stats.hits++;
    return new ResolvedFile(path, cached.sha256, Number(st.size));
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

  /** A synchronous stat (see {@link cachedDigest} for why), as a MemopipeError when it fails. */
  private statFile(path: string, absolute: string): BigIntStats {
    let st: BigIntStats;
    try {
      st = statSync(absolute, { bigint: true });
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

/**
 * Whether a string may be a file name worth a `stat`: not empty, no NUL or newline, at most 4096
 * characters.
 *
 * @example
 * mayBePath("data/a.nii"); // true
 * mayBePath("two\nlines"); // false
 */
export function mayBePath(s: string): boolean {
  return s.length > 0 && s.length <= 4096 && !s.includes("\0") && !s.includes("\n");
}

const ARRAY = 0;
const OBJECT = 1;
const MAP = 2;
const SET = 3;

/** The containers resolveFiles walks into (exact types only: a subclass may not be rebuilt by copying). */
function containerKind(value: object): number {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) return Array.isArray(value) ? -1 : OBJECT;
  if (proto === Array.prototype && Array.isArray(value)) return ARRAY;
  if (proto === Map.prototype && value instanceof Map) return MAP;
  if (proto === Set.prototype && value instanceof Set) return SET;
  return -1;
}

/** The children resolveFiles looks at: array elements (holes read as undefined: harmless), object values, Map values, Set elements. */
function pushChildren(v: object, kind: number, stack: unknown[]): void {
  if (kind === ARRAY) {
    const a = v as unknown[];
    for (let i = a.length - 1; i >= 0; i--) stack.push(a[i]);
  } else if (kind === OBJECT) {
    // Object.keys + lookups rather than Object.values: 10 µs vs 2.5 µs for an object of 100
    // numbers in dictionary mode (what `o[k] = v` in a loop makes).
    const keys = Object.keys(v);
    const record = v as Record<string, unknown>;
    for (let i = keys.length - 1; i >= 0; i--) stack.push(record[keys[i]!]);
  } else if (kind === MAP) for (const x of (v as Map<unknown, unknown>).values()) stack.push(x);
  else for (const x of v as Set<unknown>) stack.push(x);
}

/**
 * The paths a value names: `file()` paths, and (with `hashStringPaths`) strings that may be file
 * names. An explicit stack, so a 100,000-level value is walked like a flat one; `seen` visits a
 * shared container once and stops cycles (the key encoder reports those, with a path).
 */
function collectPaths(value: unknown, hashStringPaths: boolean): { refs: Set<string>; strings: Set<string> } {
  const refs = new Set<string>();
  const strings = new Set<string>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (hashStringPaths && mayBePath(v)) strings.add(v);
      continue;
    }
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof FileRef) refs.add(v.path);
    else {
      const kind = containerKind(v);
      if (kind >= 0) pushChildren(v, kind, stack);
    }
  }
  return { refs, strings };
}

/** One container being copied: `source`'s children go into `out`. */
interface CopyFrame {
  readonly kind: number;
  readonly source: object;
  readonly out: object;
  readonly keys: readonly string[] | undefined;
  readonly iter: Iterator<unknown> | undefined;
  i: number;
}

/**
 * The copy of `value` with every resolved file in place, and the files in the order first met
 * (depth first, as a recursive walk would meet them). Explicit stack: a frame's children are
 * copied in order; a child container is created and put in place at once (so Map and object
 * insertion orders are the source's), and filled when its own frame is on top. Shared containers
 * stay shared in the copy, cycles stay cycles; non-containers (dates, typed arrays…) are shared.
 */
function rebuild(value: unknown, resolved: ReadonlyMap<string, ResolvedFile>, hashStringPaths: boolean): { value: unknown; files: ResolvedFile[] } {
  const copies = new Map<object, unknown>();
  const files: ResolvedFile[] = [];
  const noted = new Set<string>();
  const frames: CopyFrame[] = [];
  const note = (f: ResolvedFile): ResolvedFile => {
    if (!noted.has(f.path)) {
      noted.add(f.path);
      files.push(f);
    }
    return f;
  };
  /** The replacement of `v`; a new container also gets a frame (filled later). */
  const replace = (v: unknown): unknown => {
    if (typeof v === "string") {
      const f = hashStringPaths ? resolved.get(v) : undefined;
      return f === undefined ? v : note(f);
    }
    if (typeof v !== "object" || v === null) return v;
    if (copies.has(v)) return copies.get(v);
    if (v instanceof FileRef) return note(resolved.get(v.path)!);
    const kind = containerKind(v);
    if (kind < 0) return v;
    const out =
      kind === ARRAY
        ? new Array<unknown>((v as unknown[]).length) // holes stay holes: only present indices are set
        : kind === MAP
          ? new Map<unknown, unknown>()
          : kind === SET
            ? new Set<unknown>()
            : (Object.create(Object.getPrototypeOf(v) as object | null) as object);
    copies.set(v, out);
    frames.push({
      kind,
      source: v,
      out,
      keys: kind === OBJECT ? Object.keys(v) : undefined,
      iter: kind === MAP ? (v as Map<unknown, unknown>).entries() : kind === SET ? (v as Set<unknown>).values() : undefined,
      i: 0,
    });
    return out;
  };

  const root = replace(value);
  while (frames.length > 0) {
    const f = frames[frames.length - 1]!;
    const depth = frames.length;
    // Copy children until one of them pushes a frame (then that one is filled first) or none is left.
    while (frames.length === depth) {
      if (f.kind === ARRAY) {
        const src = f.source as unknown[];
        if (f.i >= src.length) break;
        const i = f.i++;
        if (i in src) (f.out as unknown[])[i] = replace(src[i]);
      } else if (f.kind === OBJECT) {
        if (f.i >= f.keys!.length) break;
        const k = f.keys![f.i++]!;
        // defineProperty, not assignment: an own "__proto__" key must stay a key, not set the prototype.
        Object.defineProperty(f.out, k, { value: replace((f.source as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
      } else if (f.kind === MAP) {
        const next = f.iter!.next();
        if (next.done === true) break;
        const [k, x] = next.value as [unknown, unknown];
        (f.out as Map<unknown, unknown>).set(k, replace(x)); // keys are left as they are
      } else {
        const next = f.iter!.next();
        if (next.done === true) break;
        const out = f.out as Set<unknown>;
        let r = replace(next.value);
        // Two elements naming one file (two file() of a path, or a path string and its file()) are
        // still two elements: a Set of 2 must not become a Set of 1, which would key like one element.
        if (r instanceof ResolvedFile && out.has(r)) r = new ResolvedFile(r.path, r.sha256, r.size);
        out.add(r);
      }
    }
    if (frames.length === depth) frames.pop(); // complete
  }
  return { value: root, files };
}

/**
 * Replaces files in a value by their content digests, for the cache key: every `FileRef`
 * (`file(path)`) becomes a `ResolvedFile`, and with `hashStringPaths` (memori's behaviour) so
 * does every string that names an existing regular file, relative to `process.cwd()`
 * (directories and non-existent paths stay strings). Walks arrays, plain objects, Map values and
 * Set elements (Map keys are left as they are), at any depth (an explicit stack, no recursion).
 * Returns the value itself when nothing names a file, a copy otherwise — the input is never
 * mutated; the copy keeps holes, own `__proto__` keys, null prototypes, shared references and
 * cycles — and the files found (each path once, in the order first met). Files the stat cache
 * vouches for cost one synchronous `stat`; others are read, at most 16 at once.
 *
 * On the key path, `keyMaterial` (key-material.ts) does the same in one walk, without the copy.
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
  // Three phases: collect the paths (one walk), hash them (each path once), then build the copy.
  const { refs, strings } = collectPaths(value, options.hashStringPaths);
  if (refs.size === 0 && strings.size === 0) return { value, files: [] };
  await digests.load();
  const resolved = new Map<string, ResolvedFile>();
  const reads: string[] = [];
  for (const p of refs) {
    const f = digests.cachedDigest(p);
    if (f) resolved.set(p, f);
    else reads.push(p); // to be read, or missing: digest() says which, with the error
  }
  for (const p of strings) {
    if (refs.has(p)) continue;
    const f = digests.cachedDigest(p);
    if (f) resolved.set(p, f);
    else if (f === undefined) reads.push(p); // a regular file the stat cache cannot vouch for
  }
  await readAll(reads, digests, resolved);
  // Nothing named a file (the common case on a cache hit): the value itself serves, as nothing
  // would be replaced in the copy; building it cost most of this function's time.
  if (resolved.size === 0) return { value, files: [] };
  return rebuild(value, resolved, options.hashStringPaths);
}

/**
 * Digests `paths` into `resolved`, at most 16 files at once: enough to keep the disk and the
 * thread pool busy, without starting thousands of reads (and 1 MiB buffers) for a large list.
 *
 * @example
 * await readAll(["a.bin", "b.bin"], digests, resolved);
 */
export async function readAll(paths: readonly string[], digests: FileDigests, resolved: Map<string, ResolvedFile>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const p = paths[next++]!;
      resolved.set(p, await digests.digest(p));
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, paths.length) }, worker));
}
