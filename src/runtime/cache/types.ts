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

/** The record of an entry, `entry.json`: human-readable JSON. */
export interface EntryRecord {
  readonly format: 1;
  readonly stage: string;
  readonly key: string;
  /** ISO time the entry was published. */
  readonly createdAt: string;
  readonly inputs: Readonly<Record<string, InputRecord>>;
  readonly code: CodeRecord;
  /** Where the outputs are, in which codec, and their digest (verified on every read). */
  readonly outputs: {
    readonly codec: "json" | "v8";
    readonly file: string;
    readonly sha256: string;
    readonly size: number;
  };
  /** Files named by the outputs, with their digests, verified on a hit (a deleted or edited output file is a miss). */
  readonly outputFiles?: readonly { readonly path: string; readonly sha256: string; readonly size: number }[];
  /**
   * SHA-256 hex of this record without this field, as `JSON.stringify(record, null, 2)`: the
   * directory store writes it last and checks it on every read, so an edited record (a changed
   * manifest, size or digest) reads as `corrupt`. Optional in the type: other stores may not use it.
   */
  readonly checksum?: string;
}

/** What the stage runner gives the store to publish. */
export interface NewEntry {
  readonly inputs: Readonly<Record<string, InputRecord>>;
  readonly code: CodeRecord;
  readonly outputs: unknown;
  readonly outputFiles?: EntryRecord["outputFiles"];
}

/** The result of a read. `corrupt` names what failed verification (the entry is then ignored). */
export type ReadResult =
  | { readonly status: "hit"; readonly record: EntryRecord; readonly outputs: unknown }
  | { readonly status: "miss" }
  | { readonly status: "corrupt"; readonly reason: string };

/**
 * Where entries live. The embedded default is a directory (store.ts); a Redis store can implement
 * the same interface later (SPEC "Runners and scale-out").
 */
export interface CacheStore {
  /** Reads and verifies an entry. Never throws for a missing or damaged entry. */
  get(stage: string, key: string): Promise<ReadResult>;
  /** Publishes an entry atomically; if one with the same key appeared meanwhile, keeps the first. */
  put(stage: string, key: string, entry: NewEntry): Promise<EntryRecord>;
  /** The most recently published entry of a stage (to explain a miss), if any. */
  latest(stage: string): Promise<EntryRecord | undefined>;
}
