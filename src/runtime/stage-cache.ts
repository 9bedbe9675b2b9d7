/**
 * Runs a cached stage: key, verified hit, or compute-once-and-record, and the event saying why.
 *
 * The promises kept here (SPEC "Stages and DAGs", issue 7):
 * - a hit is served only from an entry the store verified, under a key that covers the stage name,
 *   its code fingerprint and every input (file inputs by content);
 * - a computed value is always returned: a cache that cannot be written (full disk, read-only,
 *   permissions, a planted link) costs one warning naming the stage and the path, never the value;
 * - one computation per key: a second caller in this process awaits the first (`inFlight`); a
 *   caller in another process waits on the store's `claim()` and reads the entry;
 * - every run appends one event (events.ts) with its reasons; a log that cannot be written is
 *   reported once and skipped.
 */
import { hostname } from "node:os";
import path from "node:path";
import { cacheKey } from "./cache/canonical.js";
import { type InputKey, keyMaterial, keyMaterialSync } from "./cache/key-material.js";
import { FileDigests, mayBePath } from "./cache/file-digest.js";
import { DirectoryStore } from "./cache/directory-store.js";
import { isExactJson } from "./cache/exact-json.js";
import { decodePayload, encodePayload, type Payload } from "./cache/payload.js";
import { ResolvedFile, type CacheStore, type CodeRecord, type FileRecord, type InputRecord, type ReadResult } from "./cache/types.js";
import { CacheWriteError } from "./errors.js";
import { codeFingerprint, explainCode, unvouchedReason } from "./code-fingerprint.js";
import { EventLog, type Reason, type StageEvent } from "./events.js";

/** A cached stage's settings. */
export interface CacheSettings {
  /** The cache directory (default `.memopipe` under the working directory). */
  readonly dir: string;
  /** Hash string inputs that name an existing file by content (memori's behaviour). */
  readonly hashStringPaths: boolean;
  /** Fsync each entry before it counts as written (default false: every read verifies a checksum). */
  readonly durable?: boolean;
  /** Where entries live, when not in `dir` (a shared store); events and the file-digest cache stay in `dir`. */
  readonly store?: CacheStore;
}

/**
 * Where a stage run sits in a DAG run, for its event (set by `dag().run`).
 *
 * @example
 * const where: RunPlace = { graph: "imaging#2026-12-02T10:00:00Z", predecessors: ["load"] };
 */
export interface RunPlace {
  readonly graph?: string;
  readonly predecessors?: readonly string[];
}

/**
 * This process's run id: `memopipe why` reports the events of the latest run. A process that runs
 * a pipeline several times can name each run with the `MEMOPIPE_RUN_ID` environment variable.
 */
const RUN_ID = `${new Date().toISOString()}#${process.pid}`;
/** Who runs the stage (`host:pid`), computed on first use: `hostname()` is a system call, and a pipe-only import should make none. */
let worker: string | undefined;

interface CacheContext {
  readonly store: CacheStore;
  readonly digests: FileDigests;
  readonly dir: string;
  readonly events: EventLog;
  /** Warnings already given for this directory (one per kind and path). */
  readonly warned: Set<string>;
}
const contexts = new Map<string, CacheContext>();
const storeIds = new WeakMap<CacheStore, number>();
let nextStoreId = 1;

/** What a computation (or a hit) under way in this process gives its other callers: the value for the first, the payload to decode a copy from for the others. */
interface Flight {
  readonly outputs: Record<string, unknown>;
  readonly payload: Payload | undefined;
}
/** Runs under way in this process, by cache key: a second caller awaits the first. */
const inFlight = new Map<string, Promise<Flight>>();

/** Contexts by settings object: a stage's settings are made once, so a hit skips `path.resolve`. */
const bySettings = new WeakMap<CacheSettings, CacheContext>();

function context(settings: CacheSettings): CacheContext {
  const known = bySettings.get(settings);
  if (known) return known;
  const ctx = contextFor(settings);
  bySettings.set(settings, ctx);
  return ctx;
}

function contextFor(settings: CacheSettings): CacheContext {
  const abs = path.resolve(settings.dir);
  let storeId = "";
  if (settings.store) {
    if (!storeIds.has(settings.store)) storeIds.set(settings.store, nextStoreId++);
    storeId = String(storeIds.get(settings.store));
  }
  const id = `${abs}\0${settings.durable === true}\0${storeId}`;
  let ctx = contexts.get(id);
  if (!ctx) {
    const warned = new Set<string>();
    const store = settings.store ?? new DirectoryStore(abs, { durable: settings.durable === true });
    const events = new EventLog(abs, (error, file) =>
      warnOnce(warned, writeProblem(error), `the cache ${abs} cannot be written (${describe(error)}): hits are served and results returned, but runs are not recorded (${file})`),
    );
    ctx = { store, digests: new FileDigests(path.join(abs, "stat-cache.json")), dir: abs, events, warned };
    contexts.set(id, ctx);
  }
  return ctx;
}

function warnOnce(warned: Set<string>, id: string, message: string): void {
  if (warned.has(id)) return;
  warned.add(id);
  process.emitWarning(message, { code: "MEMOPIPE_CACHE_WRITE" });
}

/**
 * One warning per kind of write problem and cache directory: a read-only cache fails every write
 * (each entry, each event), and one line says so; a full disk is another line.
 */
function writeProblem(error: unknown): string {
  const code = error instanceof CacheWriteError ? error.errno : (error as { code?: unknown } | null)?.code;
  return `write ${typeof code === "string" ? (code === "EPERM" ? "EACCES" : code) : "other"}`;
}

/** A failed run's error for its event: `TypeError: x is undefined` (the first line of the message). */
function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).split("\n")[0]!;
  return `${error.name}: ${error.message.split("\n")[0]}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a cached stage: resolve file inputs to content digests, build the key, return the recorded
 * outputs on a verified hit, otherwise claim the key, run, explain why, and publish the entry —
 * unless an input file changed while the stage ran (then the result is returned but not recorded).
 *
 * @example
 * await runCached("square", fn, { n: 3 }, { dir: ".memopipe", hashStringPaths: true }, async (i) => ({ sq: 9 }));
 */
export async function runCached(
  name: string,
  fn: Function,
  inputs: Record<string, unknown>,
  settings: CacheSettings,
  call: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>,
  place?: RunPlace,
): Promise<Record<string, unknown>> {
  const ctx = context(settings);
  const started = Date.now();
  // No await on a hit whose files are all in the stat cache: the manifest at once (see keyMaterialSync).
  const known = keyMaterialSync(inputs, ctx.digests, { hashStringPaths: settings.hashStringPaths, stage: name });
  const manifest = known !== undefined ? manifestOf(known) : await inputManifest(name, inputs, ctx, settings);
  const found = codeFingerprint(name, fn, ctx.dir); // a Promise only when this process must refresh the project's fingerprints
  const code = found instanceof Promise ? await found : found;
  const key = cacheKey({ stage: name, code: code.fingerprint, inputs: digestsOf(manifest) });
  const flight = inFlight.get(key);
  if (flight) return copyOf(await flight);
  const unvouched = unvouchedReason(code);
  if (unvouched) return runGeneral(ctx, name, inputs, settings, call, place, started, manifest, code, key, undefined, unvouched);

  // The hit fast path: a synchronous read that verifies, no output files to check, one event
  // line — no closures, no promise of our own, nothing registered (nothing can interleave: there is
  // no await between the read and the return). Everything else takes the general path below.
  const read = readEntrySync(ctx, name, key);
  if (read !== undefined && !(read instanceof Promise) && read.status === "hit" && read.files.length === 0) {
    ctx.events.appendLine(hitLine(name, key, started, read.bytes, place));
    return read.outputs as Record<string, unknown>;
  }
  return runGeneral(ctx, name, inputs, settings, call, place, started, manifest, code, key, read);
}

/** The rest of `runCached`: a hit with output files to verify, or a miss (claim, run, record). */
async function runGeneral(
  ctx: CacheContext,
  name: string,
  inputs: Record<string, unknown>,
  settings: CacheSettings,
  call: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>,
  place: RunPlace | undefined,
  started: number,
  manifest: Manifest,
  code: CodeRecord,
  key: string,
  known: ReadResult | Promise<ReadResult> | undefined,
  unvouched?: Reason,
): Promise<Record<string, unknown>> {
  const emit = (e: Omit<StageEvent, "run" | "time" | "stage" | "key" | "seconds" | "start" | "end" | "worker">): void => {
    const end = Date.now();
    ctx.events.append({
      v: 2,
      run: process.env.MEMOPIPE_RUN_ID ?? RUN_ID,
      time: new Date(end).toISOString(),
      stage: name,
      key,
      seconds: (end - started) / 1000,
      start: started,
      end,
      worker: (worker ??= `${hostname()}:${process.pid}`),
      ...(place?.graph !== undefined ? { graph: place.graph } : {}),
      ...(place?.predecessors !== undefined ? { predecessors: place.predecessors } : {}),
      ...e,
    });
  };

  // code the fingerprints cannot vouch for (its files changed, and they could not be refreshed):
  // run it, serve nothing from the cache and record nothing in it
  const unrecorded = async (reason: Reason): Promise<Flight> => {
    let outputs: Record<string, unknown>;
    try {
      outputs = await call(inputs);
    } catch (error) {
      emit({ status: "failed", reasons: [reason], error: errorLine(error) });
      throw error;
    }
    emit({ status: "ran-uncached", reasons: [reason] });
    return { outputs, payload: undefined };
  };

  const work = (async (): Promise<Flight> => {
    if (unvouched) return unrecorded(unvouched);
    const first = (await known) ?? (await readEntry(ctx, name, key));
    if (first.status === "hit") {
      const damaged = await changedOutputFiles(first.files, ctx.digests);
      if (damaged.length === 0) {
        emit({ status: "hit", reasons: [], outputBytes: first.bytes });
        return { outputs: first.outputs as Record<string, unknown>, payload: first.payload };
      }
      return compute(damaged, undefined);
    }
    return compute(undefined, first);
  })();

  /** The miss path: claim the key, read again (another process may have published it), then run and record. */
  async function compute(known: Reason[] | undefined, read: ReadResult | undefined): Promise<Flight> {
    for (;;) {
      const claim = await claimKey(ctx, name, key);
      try {
        // Read once more under the claim: another process may have published the entry between our
        // first read and our claim (it released its lock just before we took ours). An absent
        // entry costs one failed open.
        const again = await readEntry(ctx, name, key);
        if (again.status === "hit" && (await changedOutputFiles(again.files, ctx.digests)).length === 0) {
          emit({ status: "hit", reasons: [], outputBytes: again.bytes, waitedMs: claim.waitedMs });
          return { outputs: again.outputs as Record<string, unknown>, payload: again.payload };
        }
        if (!claim.owned) continue; // the owner failed without publishing: claim again
        if (again.status !== "miss") read = again; // a miss now may be our own damaged entry, moved aside: keep that reason
        const reasons = known ? { list: known } : await reasonsFor(ctx, name, manifest, code, read);
        return await runAndRecord(reasons.list, reasons.previousKey, claim.waitedMs);
      } finally {
        claim.release();
      }
    }
  }

  async function runAndRecord(reasons: Reason[], previousKey: string | undefined, waitedMs: number): Promise<Flight> {
    let outputs: Record<string, unknown>;
    try {
      outputs = await call(inputs);
    } catch (error) {
      // a failed run is an event too (the report colours it), then the error goes on as it was
      emit({ status: "failed", reasons, error: errorLine(error), ...(previousKey ? { previousKey } : {}), ...(waitedMs > 0 ? { waitedMs } : {}) });
      throw error;
    }
    const after = await inputManifest(name, inputs, ctx, settings);
    if (!sameDigests(after, manifest)) {
      emit({ status: "ran-uncached", reasons: [...reasons, { kind: "unrecorded" }], ...(previousKey ? { previousKey } : {}) });
      return { outputs, payload: undefined };
    }
    // Unrecordable outputs throw here (UnrecordableValueError naming the stage): SPEC asks for a
    // clear error, and the types refuse them at compile time where they can see them.
    const payload = encodePayload(outputs, name, { collectStrings: settings.hashStringPaths });
    const warnings: string[] = [];
    let outputFiles: FileRecord[] = [];
    try {
      outputFiles = await outputFileRecords(payload, ctx.digests);
    } catch (error) {
      warnings.push(`output files could not be hashed (${describe(error)}): not recorded`);
    }
    if (warnings.length === 0) {
      try {
        await ctx.store.put(name, key, { inputs: withValues(manifest, inputs), code, payload, outputFiles });
      } catch (error) {
        const where = error instanceof CacheWriteError ? error.path : ctx.store.location;
        const message = `stage '${name}': its result could not be recorded in the cache (${describe(error)}); the value is returned, and the next run computes it again`;
        warnings.push(message);
        warnOnce(ctx.warned, writeProblem(error), `${message} (${where})`);
      }
    }
    try {
      await ctx.digests.save();
    } catch (error) {
      warnOnce(ctx.warned, "stat-cache", `the file-digest cache in ${ctx.dir} cannot be saved (${describe(error)}); files are re-hashed next time`);
    }
    emit({
      status: "ran",
      reasons,
      outputBytes: payload.bytes.length,
      ...(previousKey ? { previousKey } : {}),
      ...(waitedMs > 0 ? { waitedMs } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
    return { outputs, payload };
  }

  inFlight.set(key, work);
  try {
    return (await work).outputs;
  } finally {
    inFlight.delete(key);
  }
}

/**
 * The store's read: its result when it completes synchronously (the directory store's, for entries
 * up to 1 MiB), else its Promise, which never rejects (the general path awaits it: an asynchronous
 * store — Redis — is read once, not twice).
 */
function readEntrySync(ctx: CacheContext, stage: string, key: string): ReadResult | Promise<ReadResult> {
  let result: ReadResult | Promise<ReadResult>;
  try {
    result = ctx.store.get(stage, key);
  } catch (error) {
    return { status: "unreadable", reason: describe(error) };
  }
  if (result instanceof Promise) return result.catch((error: unknown): ReadResult => ({ status: "unreadable", reason: describe(error) }));
  return result;
}

/** JSON of a stage name, by name: a hit writes it into its event line. */
const stageJson = new Map<string, string>();

/**
 * The event line of a hit, written out rather than `JSON.stringify`ed (a third of the cost): the
 * same fields, in the same order, as the general path's `emit` gives a hit.
 */
function hitLine(stage: string, key: string, started: number, bytes: number, place: RunPlace | undefined): string {
  const end = Date.now();
  let name = stageJson.get(stage);
  if (name === undefined) stageJson.set(stage, (name = JSON.stringify(stage)));
  // The run id is read on every event (a process may name each of its runs by setting
  // MEMOPIPE_RUN_ID between them); its JSON is made again only when it changed.
  const runId = process.env.MEMOPIPE_RUN_ID ?? RUN_ID;
  if (runId !== lastRunId) lastRunJson = JSON.stringify((lastRunId = runId));
  // Many hits end within one millisecond: `toISOString` (~1 µs) once per millisecond.
  if (end !== lastEnd) lastIso = new Date((lastEnd = end)).toISOString();
  workerJson ??= JSON.stringify((worker ??= `${hostname()}:${process.pid}`));
  const where =
    (place?.graph !== undefined ? `,"graph":${JSON.stringify(place.graph)}` : "") +
    (place?.predecessors !== undefined ? `,"predecessors":${JSON.stringify(place.predecessors)}` : "");
  return `{"v":2,"run":${lastRunJson},"time":"${lastIso}","stage":${name},"key":"${key}","seconds":${(end - started) / 1000},"start":${started},"end":${end},"worker":${workerJson}${where},"status":"hit","reasons":[],"outputBytes":${bytes}}\n`;
}
let lastRunId = "";
let lastRunJson = '""';
let lastEnd = Number.NaN;
let lastIso = "";
let workerJson: string | undefined;

/**
 * The cache key of a run of a cached stage with these inputs (what `runCached` computes first), and
 * the code fingerprint in it: the bullmq Runner looks the key up in the store before it sends a
 * stage to a worker, and a worker checks that its inputs give the caller's key (a file input with
 * other contents on that machine does not).
 *
 * @example
 * const { key, code } = await cacheKeyFor("register", fn, { img: file("sub-01.nii") }, settings);
 */
export async function cacheKeyFor(name: string, fn: Function, inputs: Record<string, unknown>, settings: CacheSettings): Promise<{ key: string; code: string }> {
  const ctx = context(settings);
  const manifest = await inputManifest(name, inputs, ctx, settings);
  const code = await codeFingerprint(name, fn, ctx.dir);
  return { key: cacheKey({ stage: name, code: code.fingerprint, inputs: digestsOf(manifest) }), code: code.fingerprint };
}

/** A store read that never throws: an unexpected error reads as `unreadable`. */
async function readEntry(ctx: CacheContext, stage: string, key: string): Promise<ReadResult> {
  try {
    return await ctx.store.get(stage, key);
  } catch (error) {
    return { status: "unreadable", reason: describe(error) };
  }
}

/** A claim that never throws: a store that cannot coordinate lets this caller compute. */
async function claimKey(ctx: CacheContext, stage: string, key: string) {
  try {
    return await ctx.store.claim(stage, key);
  } catch (error) {
    warnOnce(ctx.warned, "claim", `stage '${stage}': the cache cannot coordinate processes (${describe(error)}); a result may be computed by several processes at once`);
    return { owned: true, waitedMs: 0, release: () => {} };
  }
}

/** Why the stage runs: the state of its entry, or what changed since the stage's latest entry. */
async function reasonsFor(
  ctx: CacheContext,
  stage: string,
  manifest: Manifest,
  code: CodeRecord,
  read: ReadResult | undefined,
): Promise<{ list: Reason[]; previousKey?: string }> {
  if (read?.status === "corrupt") return { list: [{ kind: "damaged", detail: read.reason }] };
  if (read?.status === "unreadable") return { list: [{ kind: "unreadable", detail: read.reason }] };
  const latest = await ctx.store.latest(stage).catch(() => undefined);
  if (!latest) return { list: [{ kind: "no-record" }] };
  const list: Reason[] = explainCode(latest.code, code);
  const names = new Set([...Object.keys(latest.inputs), ...Object.keys(manifest)]);
  for (const name of names) {
    const before = Object.hasOwn(latest.inputs, name) ? latest.inputs[name] : undefined;
    const now = Object.hasOwn(manifest, name) ? manifest[name] : undefined;
    if (!before) list.push({ kind: "input-added", name, after: now!.digest });
    else if (!now) list.push({ kind: "input-removed", name, before: before.digest });
    else if (before.digest !== now.digest) {
      const beforeFiles = new Map((before.files ?? []).map((f) => [f.path, f.sha256]));
      const changedFiles = (now.files ?? []).filter((f) => beforeFiles.has(f.path) && beforeFiles.get(f.path) !== f.sha256);
      if (changedFiles.length > 0) list.push(...changedFiles.map((f): Reason => ({ kind: "file", name: f.path, before: beforeFiles.get(f.path)!, after: f.sha256 })));
      else list.push({ kind: "input", name, before: before.digest, after: now.digest });
    }
  }
  return { list: list.length > 0 ? list : [{ kind: "new-inputs" }], previousKey: latest.key };
}

/**
 * The inputs manifest: name → digest (and files). A null-prototype object, so an input named
 * `__proto__` is an input like any other (on a `{}` the assignment would set the prototype and
 * drop the input from the key: a false hit).
 */
type Manifest = Record<string, InputRecord>;

async function inputManifest(stage: string, inputs: Record<string, unknown>, ctx: CacheContext, settings: CacheSettings): Promise<Manifest> {
  return manifestOf(await keyMaterial(inputs, ctx.digests, { hashStringPaths: settings.hashStringPaths, stage }));
}

function manifestOf(material: Record<string, InputKey>): Manifest {
  const manifest = Object.create(null) as Manifest;
  for (const name of Object.keys(material)) {
    const { digest, files } = material[name]!;
    manifest[name] = files.length > 0 ? { digest, files: files.map(fileInfo) } : { digest };
  }
  return manifest;
}

function digestsOf(manifest: Manifest): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(manifest)) out[name] = manifest[name]!.digest;
  return out;
}

function sameDigests(a: Manifest, b: Manifest): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k]!.digest === b[k]!.digest);
}

function fileInfo(f: ResolvedFile): FileRecord {
  return { path: f.path, sha256: f.sha256, size: f.size };
}

/** The manifest with the inputs' values added where they are readable (only when an entry is written, not on a hit). */
function withValues(manifest: Manifest, inputs: Record<string, unknown>): Manifest {
  const out = Object.create(null) as Manifest;
  for (const name of Object.keys(manifest)) {
    const rec = manifest[name]!;
    out[name] = isSmallJson(inputs[name]) ? { ...rec, value: inputs[name] } : rec;
  }
  return out;
}

/** Inputs are shown in the record when they are plain JSON of at most 4 KiB (memori's `.inputs` showed them all). */
function isSmallJson(value: unknown): boolean {
  try {
    if (!isExactJson(value)) return false;
    return JSON.stringify(value).length <= 4096;
  } catch {
    return false; // too deep for JSON: not for people to read anyway
  }
}

/**
 * The files the outputs name, with their digests, to verify on a hit: every `file()` (which must
 * exist), and with `hashStringPaths` every string that names a regular file (memori's behaviour).
 */
async function outputFileRecords(payload: Payload, digests: FileDigests): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  const seen = new Set<string>();
  for (const p of payload.fileRefs ?? []) {
    seen.add(p);
    out.push(fileInfo(await digests.digest(p)));
  }
  if (payload.strings?.length) await digests.load();
  for (const s of payload.strings ?? []) {
    if (seen.has(s) || !mayBePath(s)) continue;
    seen.add(s);
    const cached = digests.cachedDigest(s);
    if (cached === null) continue; // not a regular file: an ordinary string
    out.push(fileInfo(cached ?? (await digests.digest(s))));
  }
  return out;
}

async function changedOutputFiles(files: readonly FileRecord[], digests: FileDigests): Promise<Reason[]> {
  const changed: Reason[] = [];
  for (const f of files) {
    if (!(await digests.verify(new ResolvedFile(f.path, f.sha256, f.size)))) changed.push({ kind: "output-file", name: f.path, before: f.sha256 });
  }
  return changed;
}

/** The value for a second caller of an in-flight run: decoded afresh from the payload, so callers never share (and mutate) one object. */
function copyOf(flight: Flight): Record<string, unknown> {
  if (flight.payload) return decodePayload(flight.payload.codec, flight.payload.bytes) as Record<string, unknown>;
  return structuredClone(flight.outputs);
}
