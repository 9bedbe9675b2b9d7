/**
 * The cache's vocabulary, shared by the key encoding (canonical.ts), the file digests
 * (file-digest.ts), the store (store.ts) and the stage runner (dsl/stage.ts).
 *
 * A cache *entry* is one run of one stage: the digests of its inputs, its code fingerprint and its
 * outputs. Its *key* is the SHA-256 of the canonical encoding of (format version, stage name, code
 * fingerprint, input digests), so two runs share an entry exactly when all of those are equal.
 */

/** A file passed to a stage: `file(path)`. Its *contents* are part of the cache key. */
export class FileRef {
  constructor(
    /** The path as given (relative to the working directory, or absolute). */
    readonly path: string,
  ) {}
}

/**
 * A file after hashing: what the key encodes in place of a `FileRef` (or of a string input that
 * names an existing file). The path is encoded too: a renamed file is a different input (memori
 * ignored the path and handed back the old one on a hit).
 */
export class ResolvedFile {
  constructor(
    readonly path: string,
    /** SHA-256 of the contents, hex. */
    readonly sha256: string,
    readonly size: number,
  ) {}
}

/** One input as recorded in an entry's manifest, to explain a later miss ("input `ref` changed"). */
export interface InputRecord {
  /** SHA-256 hex of the input's canonical encoding (files resolved to `ResolvedFile`). */
  readonly digest: string;
  /** The files this input named, with their content digests. */
  readonly files?: readonly { readonly path: string; readonly sha256: string; readonly size: number }[];
  /** The value itself, when it is plain JSON and small, for people reading the record. */
  readonly value?: unknown;
}

/** How the stage's code was fingerprinted. */
export interface CodeRecord {
  /** SHA-256 hex. */
  readonly fingerprint: string;
  /** `codegen`: `memopipe fingerprint` (the function and the project code it uses); `function-source`: the function's own text only. */
  readonly source: "codegen" | "function-source";
  /** Per-dependency digests (name → sha256), when the fingerprint has them, to name what changed. */
  readonly parts?: Readonly<Record<string, string>>;
}

/**
 * The record of an entry: the readable JSON header of its file (`memopipe cache show` prints it).
 *
 * @example
 * const r: EntryRecord = {
 *   format: 2, stage: "register", key: "9f…", createdAt: "2026-12-02T10:00:00.000Z",
 *   inputs: { ref: { digest: "1a…", value: "mni152" } }, code: { fingerprint: "77…", source: "codegen" },
 *   outputs: { codec: "mpv1", size: 6420 },
 * };
 */
export interface EntryRecord {
  readonly format: 2;
  readonly stage: string;
  readonly key: string;
  /** ISO time the entry was published. */
  readonly createdAt: string;
  readonly inputs: Readonly<Record<string, InputRecord>>;
  readonly code: CodeRecord;
  /** The codec of the outputs payload and its size in bytes (covered by the entry's checksum). */
  readonly outputs: { readonly codec: string; readonly size: number };
  /** Files named by the outputs, with their digests, verified on a hit (a deleted or edited output file is a miss). */
  readonly outputFiles?: readonly FileRecord[];
}

/** A file as a record names it: path (as given), SHA-256 of its contents, size. */
export interface FileRecord {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * What the stage runner gives the store to publish: the manifest and the outputs already encoded
 * (the runner keeps the bytes to hand copies to concurrent callers).
 *
 * @example
 * const e: NewEntry = { inputs, code, payload: { codec: "mpv1", bytes }, outputFiles: [] };
 */
export interface NewEntry {
  readonly inputs: Readonly<Record<string, InputRecord>>;
  readonly code: CodeRecord;
  readonly payload: { readonly codec: string; readonly bytes: Uint8Array };
  readonly outputFiles?: readonly FileRecord[];
}

/**
 * The result of a read:
 * - `hit`: a verified entry, its outputs decoded (a fresh copy for every read), the payload's size,
 *   the output files to verify, and the record on demand;
 * - `miss`: no entry;
 * - `corrupt`: the entry failed verification (`reason`); the store has moved it aside;
 * - `unreadable`: the entry exists but cannot be read (`reason`: a permission error, EIO…); it is left alone.
 *
 * @example
 * const r = await store.get("register", key);
 * if (r.status === "hit") use(r.outputs);
 */
export type ReadResult =
  | {
      readonly status: "hit";
      readonly outputs: unknown;
      /** Payload bytes. */
      readonly bytes: number;
      /** The output files to verify (from the entry's header). */
      readonly files: readonly FileRecord[];
      /** The encoded outputs, to hand copies to concurrent callers without reading again. */
      readonly payload: { readonly codec: string; readonly bytes: Uint8Array };
      /** Parses the entry's record (only a miss explanation or `cache show` needs it). */
      record(): EntryRecord;
    }
  | { readonly status: "miss" }
  | { readonly status: "corrupt"; readonly reason: string }
  | { readonly status: "unreadable"; readonly reason: string };

/**
 * The answer of {@link CacheStore.claim}: `owned` when this caller is to compute the entry (and
 * must `release()` after publishing it, or after failing); not owned when another caller published
 * the entry meanwhile (read it again), or went away without publishing (claim again).
 *
 * @example
 * const c = await store.claim("train", key);
 * if (c.owned) try { await store.put("train", key, entry); } finally { c.release(); }
 */
export interface Claim {
  readonly owned: boolean;
  /** How long the claim waited for another owner, in ms (0 when it was free). */
  readonly waitedMs: number;
  /** Gives the claim up (idempotent). */
  release(): void;
}

/**
 * How to claim: the lease (how long an owner that stops renewing it is trusted, for owners on other
 * machines; a dead owner on this machine is seen at once), and a signal to stop waiting.
 *
 * @example
 * await store.claim("train", key, { leaseMs: 10_000 });
 */
export interface ClaimOptions {
  readonly leaseMs?: number;
  /** An `AbortSignal` (typed structurally, so these declarations need no DOM or Node types). */
  readonly signal?: { readonly aborted: boolean; throwIfAborted(): void };
}

/**
 * Where entries live: the seam between the stage runner and storage. The embedded default is a
 * directory (directory-store.ts); a Redis store implements the same contract (SPEC "Runners and
 * scale-out").
 *
 * The contract every store keeps:
 * - `get` verifies what it reads (checksums): a torn or tampered entry is `corrupt`, never a hit;
 * - `put` publishes atomically, first writer wins: if the key appeared meanwhile, the existing
 *   entry is kept and its record returned; a failure throws a `CacheWriteError` (the caller still
 *   has its value);
 * - `claim` makes one caller compute a key while the others wait for its entry; a claimant that dies
 *   is taken over (at once on this machine, after the lease elsewhere).
 */
export interface CacheStore {
  /** A short name for messages: the directory, or `redis://…/namespace`. */
  readonly location: string;
  /** Reads and verifies an entry. Never throws for a missing, damaged or unreadable entry. */
  get(stage: string, key: string): ReadResult | Promise<ReadResult>;
  /** Publishes an entry atomically; if one with the same key appeared meanwhile, keeps the first. */
  put(stage: string, key: string, entry: NewEntry): Promise<EntryRecord>;
  /** The most recently published entry of a stage (to explain a miss), if any. */
  latest(stage: string): Promise<EntryRecord | undefined>;
  /** Claims the computation of a key (see {@link Claim}). */
  claim(stage: string, key: string, options?: ClaimOptions): Promise<Claim>;
}
