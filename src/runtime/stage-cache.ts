import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { cacheKey, digest } from "./cache/canonical.js";
import { FileDigests, resolveFiles } from "./cache/file-digest.js";
import { DirectoryStore } from "./cache/store.js";
import { isExactJson } from "./cache/codec.js";
import { decodeFileRefs, encodeFileRefs, hasFileRefs } from "./cache/file-refs.js";
import { ResolvedFile, type CodeRecord, type EntryRecord, type InputRecord } from "./cache/types.js";
import { UnrecordableValueError } from "./errors.js";
import { normalizeSource } from "./source-normalize.js";
import { lookupGenerated } from "../codegen/generated.js";

/** A cached stage's settings. */
export interface CacheSettings {
  /** The cache directory (default `.memopipe` under the working directory). */
  readonly dir: string;
  /** Hash string inputs that name an existing file by content (memori's behaviour). */
  readonly hashStringPaths: boolean;
}

/** What happened to one stage run: a hit, or a re-run and why. Appended to `<dir>/events.jsonl`. */
export interface StageEvent {
  readonly run: string;
  readonly time: string;
  readonly stage: string;
  readonly key: string;
  readonly status: "hit" | "ran" | "ran-uncached";
  /** Why it ran: "no record", "input `ref` changed", "file `sub-01.nii` changed", "code changed"… */
  readonly reasons: readonly string[];
  readonly seconds: number;
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

let warnedFallback = false;
let warnedStale = false;
/**
 * The code fingerprint. `memopipe fingerprint` generates one per stage (covering the helpers it
 * calls) into `memopipe.fingerprints.json`, read from the working directory or from
 * `$MEMOPIPE_FINGERPRINTS` (see codegen/generated.ts). It is used while every source file it was
 * computed from is unchanged (SHA-256 of the files listed with it, hashed once per process). When
 * it is stale (or the file lacks the stage), one warning names the changed files and says to run
 * `memopipe fingerprint`; without the file, a warning says once that helpers are not covered. In
 * both cases the function's own source is hashed instead, with comments and formatting removed.
 */
export function codeFingerprint(name: string, fn: Function): CodeRecord {
  // Once per (function, stage name) in a process: the answer cannot change while it runs (the
  // generated file's freshness is checked once per process too).
  let byName = fingerprints.get(fn);
  if (!byName) fingerprints.set(fn, (byName = new Map()));
  const known = byName.get(name);
  if (known) return known;
  const computed = computeFingerprint(name, fn);
  byName.set(name, computed);
  return computed;
}
const fingerprints = new WeakMap<Function, Map<string, CodeRecord>>();

function computeFingerprint(name: string, fn: Function): CodeRecord {
  const generated = lookupGenerated(name);
  if (generated.status === "fresh") {
    return { fingerprint: generated.stage.fingerprint, source: "codegen", parts: generated.stage.parts };
  }
  if (generated.status !== "absent") {
    if (!warnedStale) {
      warnedStale = true;
      warnedFallback = true;
      const why =
        generated.status === "stale"
          ? `${generated.file} is stale (${generated.changed.join(", ")} changed since it was generated)`
          : generated.status === "unlisted"
            ? `${generated.file} has no stage '${name}'`
            : `${generated.file} cannot be used (${generated.reason})`;
      process.emitWarning(
        `stage '${name}': ${why}: run memopipe fingerprint. Until then, code fingerprints fall back to each stage function's own source`,
        { code: "MEMOPIPE_FINGERPRINT_STALE" },
      );
    }
  } else if (!warnedFallback) {
    warnedFallback = true;
    process.emitWarning(
      `stage '${name}': code fingerprints fall back to each stage function's own source; changes in the helpers it calls are not detected`,
      { code: "MEMOPIPE_FINGERPRINT_FALLBACK" },
    );
  }
  const normalized = normalizeSource(Function.prototype.toString.call(fn));
  return { fingerprint: createHash("sha256").update(normalized).digest("hex"), source: "function-source" };
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
      return runAndRecord([...damaged]);
    }
    const reasons = read.status === "corrupt" ? [`the record was damaged (${read.reason}); recomputed`] : await explain(ctx, name, manifest, code);
    return runAndRecord(reasons);
  })();

  async function runAndRecord(reasons: string[]): Promise<Record<string, unknown>> {
    const outputs = await call(inputs);
    const after = await inputManifest(name, inputs, ctx, settings);
    if (JSON.stringify(digestsOf(after)) !== JSON.stringify(digestsOf(manifest))) {
      await record(ctx, { stage: name, key, status: "ran-uncached", reasons: [...reasons, "an input file changed while the stage ran: not recorded"], started });
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

async function changedOutputFiles(record: EntryRecord, digests: FileDigests): Promise<string[]> {
  const changed: string[] = [];
  for (const f of record.outputFiles ?? []) {
    if (!(await digests.verify(new ResolvedFile(f.path, f.sha256, f.size)))) {
      changed.push(`output file \`${f.path}\` changed or is missing`);
    }
  }
  return changed;
}

/** Compares a miss with the stage's latest entry and says what changed. */
async function explain(ctx: CacheContext, stage: string, manifest: Record<string, InputRecord>, code: CodeRecord): Promise<string[]> {
  const latest = await ctx.store.latest(stage);
  if (!latest) return ["no record"];
  const reasons: string[] = [];
  if (latest.code.fingerprint !== code.fingerprint) {
    if (latest.code.source !== code.source) {
      // The parts of two kinds of fingerprint are not comparable: name the switch instead.
      const how = (s: CodeRecord["source"]) => (s === "codegen" ? "memopipe fingerprint" : "the stage function's own source (no fresh memopipe fingerprint)");
      reasons.push(`code changed or its fingerprint changed kind: now from ${how(code.source)}, before from ${how(latest.code.source)}`);
    } else {
      const parts = Object.keys({ ...latest.code.parts, ...code.parts }).filter((p) => latest.code.parts?.[p] !== code.parts?.[p]);
      reasons.push(parts.length > 0 ? parts.map((p) => `${p} changed`).join(", ") : "code changed");
    }
  }
  for (const name of new Set([...Object.keys(latest.inputs), ...Object.keys(manifest)])) {
    const before = latest.inputs[name];
    const now = manifest[name];
    if (!before) reasons.push(`input \`${name}\` added`);
    else if (!now) reasons.push(`input \`${name}\` removed`);
    else if (before.digest !== now.digest) {
      const beforeFiles = new Map((before.files ?? []).map((f) => [f.path, f.sha256]));
      const changedFiles = (now.files ?? []).filter((f) => beforeFiles.has(f.path) && beforeFiles.get(f.path) !== f.sha256);
      reasons.push(...(changedFiles.length > 0 ? changedFiles.map((f) => `file \`${f.path}\` changed`) : [`input \`${name}\` changed`]));
    }
  }
  return reasons.length > 0 ? reasons : ["no record for these inputs"];
}

async function record(
  ctx: CacheContext,
  e: { stage: string; key: string; status: StageEvent["status"]; reasons: string[]; started: number },
): Promise<void> {
  const event: StageEvent = {
    run: process.env.MEMOPIPE_RUN_ID ?? RUN_ID,
    time: new Date().toISOString(),
    stage: e.stage,
    key: e.key,
    status: e.status,
    reasons: e.reasons,
    seconds: (Date.now() - e.started) / 1000,
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
