/**
 * What a memopipe job carries on the queue, and how values travel: the contract between the caller
 * (client.ts) and `memopipe worker` (processor.ts), which may run different builds of memopipe on
 * different machines — hence a version number, and a worker that refuses what it cannot read.
 *
 * ## A job's data (BullMQ stores it as JSON)
 * ```
 * { memopipe: 1, kind: "point", module: "src/points.ts", export: "simulate",
 *   code: "<the task's code fingerprint>", value: <the point>, namespace: "<the caller's store namespace>" }
 * ```
 * `module` is relative to the project root (src/runtime/project.ts), so a job runs on any machine
 * with the same checkout; `code` is the fingerprint the caller computed, and a worker whose own
 * fingerprint of that task differs refuses the job (it would compute something else).
 *
 * ## Values
 * Small values travel in the job itself: `{ json: value }` when the value is plain JSON (readable in
 * a queue dashboard), `{ v8: "<base64 of v8.serialize>" }` otherwise (Maps, typed arrays, BigInts,
 * `undefined`, -0…, as between worker threads). A value above `INLINE_MAX` bytes travels through the
 * store as a blob (`{ blob: "<sha256>", codec }`), with a time to live: Redis keeps job data in
 * memory, and BullMQ measured 19 ms per 1 MB payload.
 *
 * ## Errors
 * A point's error goes back as the job's failure reason, `Name: message` (as Node prints an error),
 * which the caller splits back into the error record's `{ name, message }`.
 */
import { isExactJson } from "../../cache/exact-json.js";
import { deserialize, serialize } from "../../lazy-builtins.js";
import { MemopipeError } from "../../errors.js";
import type { StageJob } from "./stage-job.js";

/** The format version of a job's data. A worker refuses a job of another version. */
export const JOB_FORMAT = 1;

/** Values above this many bytes travel as blobs through the store. */
export const INLINE_MAX = 32 * 1024;

/** How long a blob carrying a point or a result is kept (the run normally reads it within seconds). */
export const VALUE_BLOB_TTL_MS = 24 * 3_600_000;

/**
 * A value as a job carries it.
 *
 * @example
 * const v: WireValue = { json: { n: 3 } };
 */
export type WireValue =
  | { readonly json: unknown }
  | { readonly v8: string }
  | { readonly mpv1: string }
  | { readonly blob: string; readonly codec: "json" | "v8" | "mpv1"; readonly size: number };

/**
 * The data of a sweep point's job.
 *
 * @example
 * const data: PointJob = { memopipe: 1, kind: "point", module: "src/points.ts", export: "simulate", code: "9f…", value: { json: { n: 3 } } };
 */
export interface PointJob {
  readonly memopipe: typeof JOB_FORMAT;
  readonly kind: "point";
  /** The task module, relative to the project root, `/`-separated. */
  readonly module: string;
  readonly export: string;
  /** The task's code fingerprint on the caller's machine. */
  readonly code: string;
  readonly value: WireValue;
  /** The caller's store namespace, where a blob value is (and a large result goes). */
  readonly namespace?: string;
}

/** Where blobs go and come from (the RedisStore's blob calls). */
export interface BlobStore {
  putBlob(bytes: Uint8Array, options?: { ttlMs?: number }): Promise<string>;
  getBlob(sha: string): Promise<Uint8Array | undefined>;
}

/**
 * A value for a job: inline when small, through the store when large.
 *
 * @example
 * await encodeValue({ n: 3 }, store); // { json: { n: 3 } }
 */
export async function encodeValue(value: unknown, blobs: BlobStore | undefined): Promise<WireValue> {
  let json: string | undefined;
  if (isExactJson(value)) {
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined; // too deep for JSON.stringify: V8's serializer takes it
    }
  }
  if (json !== undefined && json.length <= INLINE_MAX) return { json: value };
  const bytes = json !== undefined ? Buffer.from(json, "utf8") : serialize(value);
  return encodeBytes(bytes, json !== undefined ? "json" : "v8", blobs);
}

/**
 * A DAG stage's inputs for a job, in the cache's own codec (`mpv1`, src/runtime/cache/value-codec.ts):
 * unlike JSON and V8's serializer it keeps a `FileRef` a `FileRef` (V8's makes it a plain object,
 * whose key on the worker would be another), and it is what the stage's entry stores anyway.
 *
 * @throws UnrecordableValueError naming the input that cannot travel (a function, a class instance).
 * @example
 * await encodeRecorded({ img: file("sub-01.nii") }, store); // { mpv1: "AQ…" }
 */
export async function encodeRecorded(value: unknown, blobs: BlobStore | undefined): Promise<WireValue> {
  const { encodeValue: encodeMpv1 } = await import("../../cache/value-codec.js");
  return encodeBytes(encodeMpv1(value, { path: "inputs" }).bytes, "mpv1", blobs);
}

/**
 * Already-serialized bytes for a job (a worker thread's V8 reply): inline as base64 when small.
 *
 * @example
 * await encodeBytes(v8.serialize(new Map()), "v8", store); // { v8: "/w87..." }
 */
export async function encodeBytes(bytes: Uint8Array, codec: "json" | "v8" | "mpv1", blobs: BlobStore | undefined): Promise<WireValue> {
  if (bytes.length <= INLINE_MAX) {
    if (codec === "mpv1") return { mpv1: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64") };
    if (codec === "v8") return { v8: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64") };
    return { json: JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as unknown };
  }
  if (!blobs) throw new MemopipeError(`a value of ${bytes.length} bytes is too large to travel in a job, and there is no store to carry it`);
  const sha = await blobs.putBlob(bytes, { ttlMs: VALUE_BLOB_TTL_MS });
  return { blob: sha, codec, size: bytes.length };
}

/**
 * A job's value back: decoded from its inline form, or fetched (and verified) from the store.
 *
 * @throws MemopipeError when a blob is gone or damaged, or the value is not in a known form.
 * @example
 * await decodeValue({ json: { n: 3 } }, store); // { n: 3 }
 */
export async function decodeValue(wire: unknown, blobs: BlobStore | undefined): Promise<unknown> {
  if (wire === null || typeof wire !== "object") throw new MemopipeError(`not a memopipe job value: ${JSON.stringify(wire)}`);
  if ("json" in wire) return (wire as { json: unknown }).json;
  if ("v8" in wire && typeof (wire as { v8: unknown }).v8 === "string") return deserialize(Buffer.from((wire as { v8: string }).v8, "base64"));
  if ("mpv1" in wire && typeof (wire as { mpv1: unknown }).mpv1 === "string") return decodeRecorded(Buffer.from((wire as { mpv1: string }).mpv1, "base64"));
  if ("blob" in wire && typeof (wire as { blob: unknown }).blob === "string") {
    const { blob, codec } = wire as { blob: string; codec: unknown };
    const bytes = await blobs?.getBlob(blob);
    if (!bytes) throw new MemopipeError(`the value ${blob.slice(0, 12)}… is gone from the store (or damaged): it travelled as a blob, which expires after ${VALUE_BLOB_TTL_MS / 3_600_000} h`);
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return codec === "json" ? (JSON.parse(buffer.toString("utf8")) as unknown) : codec === "mpv1" ? decodeRecorded(buffer) : deserialize(buffer);
  }
  throw new MemopipeError(`not a memopipe job value: ${JSON.stringify(wire).slice(0, 200)}`);
}

async function decodeRecorded(bytes: Uint8Array): Promise<unknown> {
  const { decodeValue: decodeMpv1 } = await import("../../cache/value-codec.js");
  return decodeMpv1(bytes);
}

/**
 * A point's error as a job's failure reason: `Name: message`.
 *
 * @example
 * failureReason({ name: "RangeError", message: "n = 3 is unlucky" }); // "RangeError: n = 3 is unlucky"
 */
export function failureReason(error: { readonly name: string; readonly message: string }): string {
  return `${error.name}: ${error.message}`;
}

/**
 * A failure reason back as `{ name, message }`. A reason memopipe's worker wrote starts with the
 * error's name (an identifier) and `: `; anything else (BullMQ's own: "job stalled more than
 * allowable limit") is an `Error` with that message.
 *
 * @example
 * errorFromReason("RangeError: n = 3 is unlucky"); // { name: "RangeError", message: "n = 3 is unlucky" }
 * errorFromReason("job stalled more than allowable limit"); // { name: "Error", message: "job stalled more than allowable limit" }
 */
export function errorFromReason(reason: unknown): { name: string; message: string } {
  const text = typeof reason === "string" ? reason : String(reason);
  const m = /^([A-Za-z_$][\w$]*): ([\s\S]*)$/.exec(text);
  return m ? { name: m[1]!, message: m[2]! } : { name: "Error", message: text };
}

/**
 * Checks a job's data: the memopipe job format this build reads, with the fields it needs.
 * Returns what is wrong, as text, when anything is.
 *
 * @example
 * const data = readJob(job.data); if (typeof data === "string") throw new UnrecoverableError(data);
 */
export function readJob(data: unknown): PointJob | StageJob | string {
  if (data === null || typeof data !== "object") return "not a memopipe job (its data is not an object)";
  const d = data as Partial<PointJob> & { memopipe?: unknown };
  if (d.memopipe === undefined) return "not a memopipe job (no memopipe field: was it added by something else?)";
  if (d.memopipe !== JOB_FORMAT) return `a memopipe job of format ${String(d.memopipe)}; this worker reads format ${JOB_FORMAT} (run the same memopipe version on callers and workers)`;
  const kind = (d as { kind?: unknown }).kind;
  if (kind !== "point" && kind !== "stage") return `a memopipe job of an unknown kind ${JSON.stringify(kind)}`;
  if (typeof d.module !== "string" || typeof d.export !== "string" || typeof d.code !== "string" || d.value === undefined) return "a memopipe job without its module, export, code or value";
  if (kind === "stage") {
    const s = d as unknown as Partial<StageJob>;
    if (typeof s.stage !== "string" || typeof s.key !== "string" || !/^[0-9a-f]{64}$/.test(s.key) || typeof s.sources !== "string") return "a memopipe stage job without its stage, key or sources";
    return d as unknown as StageJob;
  }
  return d as PointJob;
}
