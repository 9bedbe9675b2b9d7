/**
 * A cache store on Redis, so that machines share entries (SPEC "Runners and scale-out"): the same
 * `CacheStore` contract as the directory store, the same entry bytes (entry-file.ts), verified the
 * same way on every read.
 *
 * ## Keys (all under `memopipe:<namespace>:`, one namespace per project)
 * ```
 * e:<key>:<stage>        an entry: the bytes of an entry file (checksum line, header, record, payload)
 * latest:<stage>         the key of the stage's last published entry (to explain a miss)
 * b:<sha256>             a blob: a large payload, or an output file, by the SHA-256 of its bytes
 * lock:<key>:<stage>     a computation under way (redis-claim.ts); channel done:<key>:<stage> wakes its waiters
 * ```
 * The key comes first because it has a fixed length (64 hex digits): any stage name, colons
 * included, then names exactly one key.
 *
 * ## Publishing: first writer wins, in one round trip
 * Blobs (content-addressed, `SET NX`: writing one twice is harmless) and the entry go in one
 * pipeline; the entry is published by a script that sets it only if absent and then points
 * `latest` at it, or hands back the entry that was there (verified: a damaged one is removed and
 * the publish tried once more).
 *
 * ## Reading: verified, always
 * `get` checks the entry's SHA-256, that it is the entry of that stage and key, and that its sizes
 * add up; a blob is checked against its SHA-256. A damaged entry (or one whose blob is gone) is
 * `corrupt`: it is removed — only if it is still the bytes that were judged (a compare-and-delete
 * script), so a good entry published meanwhile is never lost — and the stage computes it again.
 * A checksum detects damage and edits that do not fix the checksum; it does not authenticate the
 * writer: keep untrusted machines out of the namespace with Redis ACLs and `readOnly: true`
 * (docs/cluster.md, "Trust").
 *
 * Output files named by an entry are kept as blobs too (up to `maxFileBytes` each), and a machine
 * reading the entry without the file gets it restored (restore-file.ts: created only if missing,
 * inside the working directory, never through a link).
 *
 * Without ioredis installed, the first read or write throws `MissingPackageError` (with the
 * `npm install` line); a stage using the store then warns once with that line and computes.
 *
 * ## The local copy (opt-in)
 * With `local: dir`, every entry read from Redis (or published to it) is also kept in a local
 * directory store, which `get` reads first: entries never change once published (the key is the
 * inputs and the code), so a local copy verified by its checksum is as good as Redis's, and a hit
 * costs no round trip. Off by default, so that what a machine reads is what Redis holds now (a
 * `clear` of the namespace, say, is seen at once).
 *
 * ## When Redis is away
 * Commands wait for at most two reconnection attempts (~1 s), then fail: a read becomes
 * `unreadable` (the stage computes), a write a `CacheWriteError` (the stage returns its value with
 * one warning). Nothing hangs on the cache.
 */
import { lstatSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Redis } from "ioredis";
import { CacheWriteError, MemopipeError } from "../errors.js";
import { createHash, hash } from "../lazy-builtins.js";
import { MissingPackageError } from "../optional-package.js";
import { projectName, projectRoot } from "../project.js";
import { describeConnection, holdProcess, openConnection, type RedisConnection } from "../redis/connection.js";
import { encodeEntry, parseEntry } from "./entry-file.js";
import { decodePayload } from "./payload.js";
import { CLAIM_STATE_SCRIPT, RedisClaims } from "./redis-claim.js";
import { SCRIPTS, type ScriptCommands } from "./redis-scripts.js";
import { restoreFile } from "./restore-file.js";
import { assertKey, isKey } from "./safe-name.js";
import type { CacheStore, Claim, ClaimOptions, EntryRecord, FileRecord, NewEntry, ReadResult } from "./types.js";
import { DEFAULT_LEASE_MS } from "./dir-claim.js";
import { DirectoryStore } from "./directory-store.js";

/** The codec prefix of an entry whose payload is a blob: its payload section is then the blob's SHA-256. */
const BLOB_CODEC = "blob:";

/**
 * Options of a Redis store.
 *
 * @example
 * new RedisStore({ connection: process.env.REDIS_URL, namespace: "imaging", readOnly: process.env.CI_UNTRUSTED === "1" });
 */
export interface RedisStoreOptions {
  /** Where Redis is: a URL, options, or an ioredis client (default `redis://127.0.0.1:6379`). */
  readonly connection?: RedisConnection;
  /** Keeps this project's entries apart from other projects' on the same Redis (default: the project's package.json name). */
  readonly namespace?: string;
  /** Never write (entries, blobs, locks): hits are served, computed values are returned but not shared. For untrusted machines. */
  readonly readOnly?: boolean;
  /** Payloads above this many bytes are stored as blobs (default 64 KiB). */
  readonly blobThreshold?: number;
  /** Output files up to this many bytes are shared as blobs (default 64 MiB; larger ones stay on the machine that wrote them). */
  readonly maxFileBytes?: number;
  /** The default lease of a claim, in ms (default 10 s): how long a silent owner on another machine is trusted. */
  readonly leaseMs?: number;
  /**
   * A local directory that keeps a verified copy of every entry read from (or published to) Redis,
   * read first next time: a hit then costs what a directory hit costs, with no round trip (ccache's
   * local-then-remote), e.g. `local: ".memopipe"` (the stages' default cache directory). Default
   * `false`: every read goes to Redis (and sees what is in Redis now).
   */
  readonly local?: string | false;
}

/**
 * A `CacheStore` on Redis: entries shared by every machine of a project, first-writer-wins
 * publication in one round trip, every read verified, large payloads and output files as
 * content-addressed blobs, `claim()` as a lease with pub/sub wake-ups. ioredis is an optional peer
 * dependency, loaded on first use. Close the store when done (`await store.close()`), or the open
 * connection keeps the process alive.
 *
 * @example
 * const store = new RedisStore({ connection: "redis://10.0.0.5:6379", namespace: "imaging" });
 * const register = stage("register", fn, { cache: { store } });
 * await register.run({ img: file("sub-01.nii") });
 * await store.close();
 */
export class RedisStore implements CacheStore {
  readonly location: string;
  /** The namespace (every key of this store starts with `memopipe:<namespace>:`). */
  readonly namespace: string;
  readonly readOnly: boolean;
  readonly #connection: RedisConnection | undefined;
  readonly #prefix: string;
  readonly #blobThreshold: number;
  readonly #maxFileBytes: number;
  readonly #claims: RedisClaims;
  readonly #local: DirectoryStore | undefined;
  #client: Redis | undefined;
  #connecting: Promise<Redis & Commands> | undefined;
  #closed = false;
  #hold = true;

  constructor(options: RedisStoreOptions = {}) {
    const namespace = options.namespace ?? projectName(projectRoot());
    if (typeof namespace !== "string" || namespace.length === 0 || /[\s\x00-\x1f\x7f]/.test(namespace)) {
      throw new MemopipeError(`RedisStore: the namespace must be a non-empty string without spaces or control characters, got ${JSON.stringify(namespace)}`);
    }
    this.namespace = namespace;
    this.readOnly = options.readOnly === true;
    this.#connection = options.connection;
    this.#prefix = `memopipe:${namespace}:`;
    this.#blobThreshold = options.blobThreshold ?? 64 * 1024;
    this.#maxFileBytes = options.maxFileBytes ?? 64 * 2 ** 20;
    this.location = `${describeConnection(options.connection)}/${namespace}`;
    this.#local = typeof options.local === "string" ? new DirectoryStore(options.local) : undefined;
    this.#claims = new RedisClaims(
      () => this.#commands(),
      () => openConnection(this.#connection, "subscriber"),
      options.leaseMs ?? DEFAULT_LEASE_MS,
    );
  }

  /** The command connection, made (with the scripts defined) on first use. */
  #commands(): Promise<Redis & Commands> {
    if (this.#closed) return Promise.reject(new MemopipeError(`the Redis store ${this.location} is closed`));
    this.#connecting ??= openConnection(this.#connection, "commands").then((client) => {
      for (const [name, script] of Object.entries({ ...SCRIPTS, memopipeClaimState: CLAIM_STATE_SCRIPT })) client.defineCommand(name, script);
      // A connection error is reported by the command that meets it; without a listener ioredis
      // would also print every reconnection attempt.
      client.on("error", () => undefined);
      this.#client = client;
      if (!this.#hold) holdProcess(client, false);
      return client as Redis & Commands;
    });
    return this.#connecting;
  }

  #entryKey(stage: string, key: string): string {
    return `${this.#prefix}e:${key}:${stage}`;
  }

  #blobKey(sha256: string): string {
    return `${this.#prefix}b:${sha256}`;
  }

  /**
   * Reads and verifies an entry (see the file's comment): `hit`, `miss`, `corrupt` (removed, so the
   * stage computes it again) or `unreadable` (Redis is away, or refused the read).
   *
   * @example
   * const r = await store.get("register", key);
   * if (r.status === "hit") use(r.outputs);
   */
  async get(stage: string, key: string): Promise<ReadResult> {
    assertKey(key);
    if (this.#local) {
      // The local copy first: verified by the directory store as any of its entries (a damaged
      // one is moved aside, and Redis asked instead).
      let local: ReadResult;
      try {
        local = await this.#local.get(stage, key);
      } catch {
        local = { status: "miss" };
      }
      if (local.status === "hit") {
        if (local.files.some((f) => lstatSync(f.path, { throwIfNoEntry: false }) === undefined)) {
          const client = await this.#commands().catch(() => undefined);
          if (client) await this.#restoreFiles(client, local.files);
        }
        return local;
      }
    }
    const entryKey = this.#entryKey(stage, key);
    let client: Redis & Commands;
    let bytes: Buffer | null;
    try {
      client = await this.#commands();
      bytes = await client.getBuffer(entryKey);
    } catch (error) {
      if (error instanceof MissingPackageError) throw error; // a setup mistake, not a fault of Redis
      return { status: "unreadable", reason: `${this.location}: ${describe(error)}` };
    }
    if (bytes === null) return { status: "miss" };
    const parsed = parseEntry(bytes, { stage, key });
    if (typeof parsed === "string") return this.#corrupt(client, entryKey, bytes, parsed);
    let codec = parsed.codec;
    let payload = parsed.bytes.subarray(parsed.payloadStart);
    if (codec.startsWith(BLOB_CODEC)) {
      codec = codec.slice(BLOB_CODEC.length);
      const sha = payload.toString("latin1");
      let blob: Buffer | null;
      try {
        blob = await client.getBuffer(this.#blobKey(sha));
      } catch (error) {
        return { status: "unreadable", reason: `${this.location}: ${describe(error)}` };
      }
      if (blob === null) return this.#corrupt(client, entryKey, bytes, `its outputs (blob ${sha.slice(0, 12)}…) are gone from Redis (evicted? the cache's Redis needs maxmemory-policy noeviction)`);
      if (sha256(blob) !== sha) {
        await this.#deleteIf(client, this.#blobKey(sha), blob);
        return this.#corrupt(client, entryKey, bytes, `its outputs blob ${sha.slice(0, 12)}… fails its checksum`);
      }
      payload = blob;
    }
    let outputs: unknown;
    try {
      outputs = decodePayload(codec, payload);
    } catch (error) {
      return this.#corrupt(client, entryKey, bytes, `the outputs do not decode (${describe(error)})`);
    }
    if (parsed.files.length > 0) await this.#restoreFiles(client, parsed.files);
    const size = payload.length;
    this.#keepLocally(stage, key, () => withCodec(parsed.record(), codec, size), { codec, bytes: payload });
    return {
      status: "hit",
      outputs,
      bytes: size,
      files: parsed.files,
      payload: { codec, bytes: payload },
      record: () => withCodec(parsed.record(), codec, size),
    };
  }

  /** A damaged entry: removed if it is still what was read (unless read-only), and reported. */
  async #corrupt(client: Redis & Commands, entryKey: string, bytes: Buffer, reason: string): Promise<ReadResult> {
    if (!this.readOnly) await this.#deleteIf(client, entryKey, bytes);
    return { status: "corrupt", reason };
  }

  async #deleteIf(client: Redis & Commands, key: string, bytes: Buffer): Promise<void> {
    if (this.readOnly) return;
    try {
      await client.memopipeDeleteIf(key, createHash("sha1").update(bytes).digest("hex"));
    } catch {
      // Redis away: the next reader judges it again
    }
  }

  /** Restores the output files this machine lacks from their blobs (best effort: a file still missing makes the hit a miss). */
  async #restoreFiles(client: Redis & Commands, files: readonly FileRecord[]): Promise<void> {
    const root = process.cwd();
    for (const f of files) {
      if (!/^[0-9a-f]{64}$/.test(f.sha256)) continue;
      try {
        if (lstatSync(f.path, { throwIfNoEntry: false }) !== undefined) continue;
        const blob = await client.getBuffer(this.#blobKey(f.sha256));
        if (blob === null || sha256(blob) !== f.sha256) continue;
        restoreFile(root, f.path, blob);
      } catch {
        // not restored: the stage-cache sees the file missing and computes again
      }
    }
  }

  /**
   * Publishes an entry (first writer wins) and returns its record — the record of the entry that
   * was there first, if another machine published the key meanwhile.
   *
   * @throws CacheWriteError when the store is read-only, Redis is away, or Redis refuses the write
   *   (out of memory under `noeviction`, an ACL).
   * @example
   * const record = await store.put("register", key, { inputs, code, payload });
   */
  async put(stage: string, key: string, entry: NewEntry): Promise<EntryRecord> {
    assertKey(key);
    if (this.readOnly) throw new CacheWriteError(`the Redis store ${this.location} is read-only: the entry of stage '${stage}' is not shared`, this.location, "EROFS");
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
    let client: Redis & Commands;
    try {
      client = await this.#commands();
    } catch (error) {
      throw error instanceof MissingPackageError ? error : this.#writeError(error, stage);
    }
    const payload = entry.payload.bytes;
    const blobs: [string, Uint8Array][] = [];
    let stored: EntryRecord = record;
    let storedPayload: Uint8Array = payload;
    if (payload.length > this.#blobThreshold) {
      const sha = sha256(payload);
      blobs.push([sha, payload]);
      stored = { ...record, outputs: { codec: `${BLOB_CODEC}${record.outputs.codec}`, size: payload.length } };
      storedPayload = Buffer.from(sha, "latin1");
    }
    for (const f of entry.outputFiles ?? []) {
      const bytes = await this.#readOutputFile(f);
      if (bytes) blobs.push([f.sha256, bytes]);
    }
    const value = encodeEntry(stored, storedPayload);
    for (let attempt = 0; ; attempt++) {
      const pipeline = client.pipeline();
      for (const [sha, bytes] of blobs) pipeline.set(this.#blobKey(sha), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "NX");
      (pipeline as unknown as Commands).memopipePublishBuffer(this.#entryKey(stage, key), `${this.#prefix}latest:${stage}`, value, key);
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (error) {
        throw this.#writeError(error, stage);
      }
      const failed = results?.find(([error]) => error !== null)?.[0];
      if (!results || failed) throw this.#writeError(failed ?? new Error("the pipeline was not run"), stage);
      const existing = results.at(-1)![1] as Buffer | null;
      if (existing === null) {
        this.#keepLocally(stage, key, () => record, entry.payload);
        return record;
      }
      // Another machine published this key first: its entry is the one kept (if it is whole).
      const parsed = parseEntry(existing, { stage, key });
      if (typeof parsed !== "string") {
        const codec = parsed.codec.startsWith(BLOB_CODEC) ? parsed.codec.slice(BLOB_CODEC.length) : parsed.codec;
        return withCodec(parsed.record(), codec, parsed.codec.startsWith(BLOB_CODEC) ? parsed.record().outputs.size : parsed.size);
      }
      if (attempt > 0) throw new CacheWriteError(`entry ${key} of stage '${stage}' could not be published to ${this.location}: a damaged entry is in the way (${parsed})`, this.location);
      await this.#deleteIf(client, this.#entryKey(stage, key), existing);
    }
  }

  /**
   * Writes the local copy of an entry (best effort, not awaited: a local directory that cannot be
   * written only means the next read goes to Redis again).
   */
  #keepLocally(stage: string, key: string, record: () => EntryRecord, payload: { codec: string; bytes: Uint8Array }): void {
    if (!this.#local) return;
    try {
      const r = record();
      void this.#local
        .put(stage, key, { inputs: r.inputs, code: r.code, payload, ...(r.outputFiles?.length ? { outputFiles: r.outputFiles } : {}) })
        .catch(() => undefined);
    } catch {
      // a record that does not parse: the entry failed its checks already
    }
  }

  /** An output file's bytes, if it still has the digest its record names and is small enough to share. */
  async #readOutputFile(f: FileRecord): Promise<Uint8Array | undefined> {
    if (f.size > this.#maxFileBytes) return undefined;
    try {
      const bytes = await readFile(f.path);
      return sha256(bytes) === f.sha256 ? bytes : undefined;
    } catch {
      return undefined;
    }
  }

  #writeError(error: unknown, stage: string): CacheWriteError {
    const message = describe(error);
    const errno = /^OOM\b/.test(message) ? "ENOSPC" : /NOPERM|NOAUTH|WRONGPASS/.test(message) ? "EACCES" : "EIO";
    return new CacheWriteError(`cannot publish an entry of stage '${stage}' to ${this.location}: ${message}`, this.location, errno, { cause: error });
  }

  /**
   * The most recently published entry of a stage, if any (to explain a miss).
   *
   * @example
   * (await store.latest("register"))?.inputs;
   */
  async latest(stage: string): Promise<EntryRecord | undefined> {
    let key: string | null;
    try {
      key = await (await this.#commands()).get(`${this.#prefix}latest:${stage}`);
    } catch {
      return undefined;
    }
    if (!isKey(key)) return undefined;
    const read = await this.get(stage, key);
    return read.status === "hit" ? read.record() : undefined;
  }

  /**
   * Claims the computation of a key across machines (redis-claim.ts). A read-only store cannot
   * take locks: its claims are granted at once.
   *
   * @example
   * const c = await store.claim("train", key, { leaseMs: 5_000 });
   * if (c.owned) try { await store.put("train", key, entry); } finally { c.release(); }
   */
  async claim(stage: string, key: string, options?: ClaimOptions): Promise<Claim> {
    assertKey(key);
    if (this.readOnly) return { owned: true, waitedMs: 0, release: () => {} };
    return this.#claims.claim(
      { lock: `${this.#prefix}lock:${key}:${stage}`, entry: this.#entryKey(stage, key), channel: `${this.#prefix}done:${key}:${stage}` },
      options,
    );
  }

  /**
   * Stores bytes as a content-addressed blob (kept `ttlMs` when given) and returns their SHA-256:
   * how the bullmq Runner moves large points and results.
   *
   * @example
   * const sha = await store.putBlob(bytes, { ttlMs: 86_400_000 });
   */
  async putBlob(bytes: Uint8Array, options: { ttlMs?: number } = {}): Promise<string> {
    if (this.readOnly) throw new CacheWriteError(`the Redis store ${this.location} is read-only`, this.location, "EROFS");
    const sha = sha256(bytes);
    const client = await this.#commands();
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (options.ttlMs) await client.set(this.#blobKey(sha), buffer, "PX", Math.ceil(options.ttlMs));
    else await client.set(this.#blobKey(sha), buffer, "NX");
    return sha;
  }

  /**
   * A blob's bytes, verified against its SHA-256; `undefined` when it is missing or damaged.
   *
   * @example
   * const bytes = await store.getBlob(sha);
   */
  async getBlob(sha: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha)) return undefined;
    const blob = await (await this.#commands()).getBuffer(this.#blobKey(sha));
    return blob !== null && sha256(blob) === sha ? blob : undefined;
  }

  /**
   * Removes every key of this namespace (entries, blobs, latest pointers, locks).
   *
   * @example
   * await store.clear();
   */
  async clear(): Promise<number> {
    if (this.readOnly) throw new CacheWriteError(`the Redis store ${this.location} is read-only`, this.location, "EROFS");
    const client = await this.#commands();
    let removed = 0;
    let cursor = "0";
    const pattern = `${this.#prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== "0");
    return removed;
  }

  /**
   * @internal Whether the store's connections keep the process alive (a Runner's store does only
   * while a run is under way; see `holdProcess`).
   */
  holdProcess(hold: boolean): void {
    this.#hold = hold;
    if (this.#client) holdProcess(this.#client, hold);
  }

  /**
   * Closes the store's connections (after the commands under way, claim releases included). A
   * client the caller passed is duplicated, never closed.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#claims.close();
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    if (client) {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    }
  }
}

type Commands = ScriptCommands & {
  memopipeClaimState(entry: string, lock: string, owner: string, leaseMs: number): Promise<[1] | [2] | [3, string | null, number]>;
};

/** A record as callers see it: the payload's real codec and size (a blob entry stores `blob:<codec>` and the blob's digest). */
function withCodec(record: EntryRecord, codec: string, size: number): EntryRecord {
  return record.outputs.codec === codec && record.outputs.size === size ? record : { ...record, outputs: { codec, size } };
}

function sha256(bytes: Uint8Array): string {
  return hash("sha256", bytes, "hex");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
