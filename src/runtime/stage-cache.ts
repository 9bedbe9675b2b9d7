import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { cacheKey, digest } from "./cache/canonical.js";
import { FileDigests, resolveFiles } from "./cache/file-digest.js";
import { DirectoryStore } from "./cache/store.js";
import { isExactJson } from "./cache/codec.js";
import { decodeFileRefs, encodeFileRefs, hasFileRefs } from "./cache/file-refs.js";
import { ResolvedFile, type CodeRecord, type EntryRecord, type InputRecord } from "./cache/types.js";
import { UnrecordableValueError } from "./errors.js";
import { codeFingerprint, explainCode } from "./code-fingerprint.js";
import type { Reason, StageEvent } from "./events.js";

/** A cached stage's settings. */
export interface CacheSettings {
  /** The cache directory (default `.memopipe` under the working directory). */
  readonly dir: string;
  /** Hash string inputs that name an existing file by content (memori's behaviour). */
  readonly hashStringPaths: boolean;
}

/**
 * This process's run id: `memopipe why` reports the events of the latest run. A process that runs
 * a pipeline several times can name each run with the `MEMOPIPE_RUN_ID` environment variable.
 */
const RUN_ID = `${new Date().toISOString()}#${process.pid}`;

interface CacheContext {
  readonly store: DirectoryStore;
  readonly digests: FileDigests;
  readonly dir: string;
}
const contexts = new Map<string, CacheContext>();
/** Runs under way in this process, by cache key: a second caller awaits the first. */
const inFlight = new Map<string, Promise<Record<string, unknown>>>();

function context(dir: string): CacheContext {
  const abs = path.resolve(dir);
  let ctx = contexts.get(abs);
  if (!ctx) {
    ctx = { store: new DirectoryStore(abs), digests: new FileDigests(path.join(abs, "stat-cache.json")), dir: abs };
    contexts.set(abs, ctx);
  }
  return ctx;
}

/**
 * Runs a cached stage: resolve file inputs to content digests, build the key, return the recorded
 * outputs on a verified hit, otherwise run, explain why, and publish the entry, unless an input
 * file changed while the stage ran (then the result is returned but not recorded).
 */
export async function runCached(
  name: string,
  fn: Function,
  inputs: Record<string, unknown>,
  settings: CacheSettings,
  call: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const ctx = context(settings.dir);
  const started = Date.now();
  const manifest = await inputManifest(name, inputs, ctx, settings);
  const code = codeFingerprint(name, fn);
  const key = cacheKey({ stage: name, code: code.fingerprint, inputs: digestsOf(manifest) });
  const flight = inFlight.get(key);
  if (flight) return structuredCopy(await flight);
  const work = (async () => {
    const read = await ctx.store.get(name, key);
    if (read.status === "hit") {
      const damaged = await changedOutputFiles(read.record, ctx.digests);
      if (damaged.length === 0) {
        await record(ctx, { stage: name, key, status: "hit", reasons: [], started });
        const outputs = read.record.outputFiles?.length ? decodeFileRefs(read.outputs) : read.outputs;
        return outputs as Record<string, unknown>;
      }
      return runAndRecord(damaged);
    }
    const reasons: Reason[] = read.status === "corrupt" ? [{ kind: "damaged", detail: read.reason }] : await explain(ctx, name, manifest, code);
    return runAndRecord(reasons);
  })();

  async function runAndRecord(reasons: Reason[]): Promise<Record<string, unknown>> {
    const outputs = await call(inputs);
    const after = await inputManifest(name, inputs, ctx, settings);
    if (JSON.stringify(digestsOf(after)) !== JSON.stringify(digestsOf(manifest))) {
      await record(ctx, { stage: name, key, status: "ran-uncached", reasons: [...reasons, { kind: "unrecorded" }], started });
      return outputs;
    }
    const resolved = await resolveFiles(outputs, ctx.digests, { hashStringPaths: settings.hashStringPaths });
    const recorded = hasFileRefs(outputs) ? encodeFileRefs(outputs) : outputs;
    await ctx.store.put(name, key, { inputs: withValues(manifest, inputs), code, outputs: recorded, outputFiles: resolved.files.map(fileInfo) });
    await ctx.digests.save();
    await record(ctx, { stage: name, key, status: "ran", reasons, started });
    return outputs;
  }

  inFlight.set(key, work);
  try {
    return await work;
  } finally {
    inFlight.delete(key);
  }
}

async function inputManifest(
  stage: string,
  inputs: Record<string, unknown>,
  ctx: CacheContext,
  settings: CacheSettings,
): Promise<Record<string, InputRecord>> {
  const manifest: Record<string, InputRecord> = {};
  for (const name of Object.keys(inputs).sort()) {
    const { value, files } = await resolveFiles(inputs[name], ctx.digests, { hashStringPaths: settings.hashStringPaths });
    let d: string;
    try {
      d = digest(value, `inputs.${name}`);
    } catch (error) {
      if (error instanceof UnrecordableValueError) throw new UnrecordableValueError(error.path, error.kind, stage);
      throw error;
    }
    manifest[name] = {
      digest: d,
      ...(files.length > 0 ? { files: files.map(fileInfo) } : {}),
    };
  }
  return manifest;
}

function digestsOf(manifest: Record<string, InputRecord>): Record<string, string> {
  return Object.fromEntries(Object.entries(manifest).map(([k, v]) => [k, v.digest]));
}

function fileInfo(f: ResolvedFile) {
  return { path: f.path, sha256: f.sha256, size: f.size };
}

/** The manifest with the inputs' values added where they are readable (only when an entry is written, not on a hit). */
function withValues(manifest: Record<string, InputRecord>, inputs: Record<string, unknown>): Record<string, InputRecord> {
  const out: Record<string, InputRecord> = {};
  for (const [name, rec] of Object.entries(manifest)) out[name] = isSmallJson(inputs[name]) ? { ...rec, value: inputs[name] } : rec;
  return out;
}

/** Inputs are shown in the record when they are plain JSON of at most 4 KiB (memori's `.inputs` showed them all). */
function isSmallJson(value: unknown): boolean {
  if (!isExactJson(value)) return false;
  return JSON.stringify(value).length <= 4096;
}

async function changedOutputFiles(record: EntryRecord, digests: FileDigests): Promise<Reason[]> {
  const changed: Reason[] = [];
  for (const f of record.outputFiles ?? []) {
    if (!(await digests.verify(new ResolvedFile(f.path, f.sha256, f.size)))) {
      changed.push({ kind: "output-file", name: f.path, before: f.sha256 });
    }
  }
  return changed;
}

/** Compares a miss with the stage's latest entry and says what changed. */
async function explain(ctx: CacheContext, stage: string, manifest: Record<string, InputRecord>, code: CodeRecord): Promise<Reason[]> {
  const latest = await ctx.store.latest(stage);
  if (!latest) return [{ kind: "no-record" }];
  const reasons: Reason[] = explainCode(latest.code, code);
  for (const name of new Set([...Object.keys(latest.inputs), ...Object.keys(manifest)])) {
    const before = latest.inputs[name];
    const now = manifest[name];
    if (!before) reasons.push({ kind: "input-added", name, after: now!.digest });
    else if (!now) reasons.push({ kind: "input-removed", name, before: before.digest });
    else if (before.digest !== now.digest) {
      const beforeFiles = new Map((before.files ?? []).map((f) => [f.path, f.sha256]));
      const changedFiles = (now.files ?? []).filter((f) => beforeFiles.has(f.path) && beforeFiles.get(f.path) !== f.sha256);
      if (changedFiles.length > 0) reasons.push(...changedFiles.map((f): Reason => ({ kind: "file", name: f.path, before: beforeFiles.get(f.path)!, after: f.sha256 })));
      else reasons.push({ kind: "input", name, before: before.digest, after: now.digest });
    }
  }
  return reasons.length > 0 ? reasons : [{ kind: "new-inputs" }];
}

async function record(
  ctx: CacheContext,
  e: { stage: string; key: string; status: StageEvent["status"]; reasons: Reason[]; started: number },
): Promise<void> {
  const end = Date.now();
  const event: StageEvent = {
    v: 2,
    run: process.env.MEMOPIPE_RUN_ID ?? RUN_ID,
    time: new Date(end).toISOString(),
    stage: e.stage,
    key: e.key,
    status: e.status,
    reasons: e.reasons,
    seconds: (end - e.started) / 1000,
    start: e.started,
    end,
  };
  // One synchronous append per line (O_APPEND: concurrent writers never interleave within a line).
  // Synchronous because on a hit the thread-pool round trip of an async append cost more than the
  // rest of the hit (bench/cache.ts); the write itself is a few microseconds.
  const line = `${JSON.stringify(event)}\n`;
  const events = path.join(ctx.dir, "events.jsonl");
  try {
    appendFileSync(events, line);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(ctx.dir, { recursive: true }); // first event in this cache directory
    appendFileSync(events, line);
  }
}

/** A copy for a second caller of an in-flight run, so callers never share (and mutate) one object. */
function structuredCopy<T>(value: T): T {
  return hasFileRefs(value) ? (decodeFileRefs(structuredClone(encodeFileRefs(value))) as T) : structuredClone(value);
}
