/**
 * What a run's report shows, gathered from a cache directory: the run's events, the graph
 * (coloured by the run), the cache's size per stage, and for every re-run what changed, in detail:
 * the input values before and after (the entries' records keep small JSON inputs), the changed
 * files' digests and sizes (and their size and modification time now), the code parts' digests.
 *
 * Everything is data (`ReportData`), so the HTML, the Markdown and a program's own view render the
 * same facts; nothing here reads the clock, so the same cache gives the same report.
 */
import { readPartSources } from "../project-fingerprints.js";
import { statSync } from "node:fs";
import path from "node:path";
import { DirectoryStore } from "../cache/directory-store.js";
import type { EntryRecord } from "../cache/types.js";
import type { Reason, StageEvent } from "../events.js";
import type { PipelineGraph } from "../graph/model.js";
import { withRun } from "../graph/run-status.js";
import { graphFromEvents } from "./events-graph.js";
import { readRun } from "./runs.js";

/** One input of a re-run, before (the entry it was compared with) and after (the new entry). */
export interface InputChange {
  readonly name: string;
  readonly before?: { readonly digest: string; readonly value?: unknown };
  readonly after?: { readonly digest: string; readonly value?: unknown };
}

/** A changed file: its digests and sizes as recorded, and its size and modification time now. */
export interface FileChange {
  readonly path: string;
  readonly before?: string;
  readonly after?: string;
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
  /** What `stat` says now (absent when the file is gone). */
  readonly now?: { readonly size: number; readonly mtime: string };
}

/** A changed code part (the stage function, a helper): digests, and the normalised sources where stored. */
export interface CodeChange {
  readonly name: string;
  readonly before?: string;
  readonly after?: string;
  readonly sourceBefore?: string;
  readonly sourceAfter?: string;
}

/** What the report explains about one event that was not a hit. */
export interface EventDetail {
  readonly inputs: readonly InputChange[];
  readonly files: readonly FileChange[];
  readonly code: readonly CodeChange[];
}

/** A sweep's results: the records and, when asked, the chart `memopipe plot` makes (SVG). */
export interface SweepData {
  readonly source: string;
  readonly records: readonly Record<string, unknown>[];
  readonly chart?: string;
}

/**
 * Everything a report shows.
 *
 * @example
 * const data = await collectReport(".memopipe"); // then renderReport(data)
 */
export interface ReportData {
  readonly schemaVersion: 1;
  /** The cache directory, as given. */
  readonly dir: string;
  readonly run: string | undefined;
  readonly events: readonly StageEvent[];
  /** The graph, coloured by the run (`withRun`). */
  readonly graph: PipelineGraph;
  /** Where the graph came from: the caller's `describe()`, or the events' predecessors. */
  readonly graphSource: "describe" | "events";
  /** Cache entries and bytes per stage, now. */
  readonly cache: Readonly<Record<string, { readonly entries: number; readonly bytes: number }>>;
  /** For each event (same index), what changed; `undefined` for hits. */
  readonly details: readonly (EventDetail | undefined)[];
  /** Whether the cache keeps the code parts' normalised sources (for the diffs of helpers). */
  readonly sourcesKept: boolean;
  readonly sweep?: SweepData;
}

/**
 * Options of `collectReport`.
 *
 * @example
 * await collectReport(".memopipe", { run: "run-4", graph: describe(imaging), sweep });
 */
export interface CollectOptions {
  /** The run (default: the last one in the log). */
  readonly run?: string;
  /** The pipeline's graph (`describe(x)`): drawn with every stage, also the ones that record no events. */
  readonly graph?: PipelineGraph;
  readonly sweep?: SweepData;
  /**
   * Reads a code part's source by its digest. Default: the sources the runtime keeps in
   * `<cache dir>/fingerprints/sources.json` when it refreshes fingerprints; where a digest is not
   * there, the report shows digests.
   */
  readonly partSource?: (cacheDir: string, digest: string) => string | undefined;
}

/**
 * Gathers the report of a run of the cache directory `dir`.
 *
 * @example
 * const data = await collectReport(".memopipe", { run: "run-4" });
 * data.events.filter((e) => e.status !== "hit").length;
 */
export async function collectReport(dir: string, options: CollectOptions = {}): Promise<ReportData> {
  const { run, events } = readRun(dir, options.run);
  const store = new DirectoryStore(dir);
  const stats = await store.stats().catch(() => ({ stages: {} as Record<string, { entries: number; bytes: number }> }));
  const records = new Map<string, EntryRecord | undefined>();
  const record = async (stage: string, key: string | undefined) => {
    if (key === undefined) return undefined;
    const id = `${stage}\0${key}`;
    if (!records.has(id)) {
      const r = await Promise.resolve(store.get(stage, key)).catch(() => undefined);
      records.set(id, r?.status === "hit" ? r.record() : undefined);
    }
    return records.get(id);
  };
  // default: the part sources the runtime keeps beside its fingerprint state (project-fingerprints.ts)
  let kept: Record<string, string> | undefined;
  const partSource = options.partSource ?? ((cacheDir: string, digest: string) => (kept ??= readPartSources(cacheDir))[digest]);
  const details: (EventDetail | undefined)[] = [];
  let sourcesKept = false;
  for (const e of events) {
    if (e.status === "hit" || e.reasons.length === 0) {
      details.push(undefined);
      continue;
    }
    const before = await record(e.stage, e.previousKey);
    const after = await record(e.stage, e.key);
    const detail = explain(e.reasons, before, after, dir, partSource);
    if (detail.code.some((c) => c.sourceBefore !== undefined || c.sourceAfter !== undefined)) sourcesKept = true;
    details.push(detail);
  }
  const base = options.graph ?? graphFromEvents(events);
  return {
    schemaVersion: 1,
    dir,
    run,
    events,
    graph: withRun(base, events, run),
    graphSource: options.graph ? "describe" : "events",
    cache: Object.fromEntries(Object.entries(stats.stages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    details,
    sourcesKept,
    ...(options.sweep ? { sweep: options.sweep } : {}),
  };
}

function explain(
  reasons: readonly Reason[],
  before: EntryRecord | undefined,
  after: EntryRecord | undefined,
  dir: string,
  partSource: CollectOptions["partSource"],
): EventDetail {
  const inputs: InputChange[] = [];
  const files: FileChange[] = [];
  const code: CodeChange[] = [];
  for (const r of reasons) {
    if ((r.kind === "input" || r.kind === "input-added" || r.kind === "input-removed") && r.name !== undefined) {
      const b = before?.inputs[r.name];
      const a = after?.inputs[r.name];
      inputs.push({
        name: r.name,
        ...(b || r.before ? { before: { digest: b?.digest ?? r.before!, ...(b && "value" in b ? { value: b.value } : {}) } } : {}),
        ...(a || r.after ? { after: { digest: a?.digest ?? r.after!, ...(a && "value" in a ? { value: a.value } : {}) } } : {}),
      });
    } else if (r.kind === "file" && r.name !== undefined) {
      const find = (rec: EntryRecord | undefined) => Object.values(rec?.inputs ?? {}).flatMap((i) => i.files ?? []).find((f) => f.path === r.name);
      const fb = find(before);
      const fa = find(after);
      files.push({
        path: r.name,
        ...(r.before ? { before: r.before } : {}),
        ...(r.after ? { after: r.after } : {}),
        ...(fb ? { sizeBefore: fb.size } : {}),
        ...(fa ? { sizeAfter: fa.size } : {}),
        ...statNow(r.name),
      });
    } else if (r.kind === "code" || r.kind === "helper") {
      const source = (digest: string | undefined) => (digest && partSource ? partSource(dir, digest) : undefined);
      const sb = source(r.before);
      const sa = source(r.after);
      code.push({
        name: r.name ?? (r.kind === "code" ? "the stage function" : "a helper"),
        ...(r.before ? { before: r.before } : {}),
        ...(r.after ? { after: r.after } : {}),
        ...(sb !== undefined ? { sourceBefore: sb } : {}),
        ...(sa !== undefined ? { sourceAfter: sa } : {}),
      });
    }
  }
  return { inputs, files, code };
}

function statNow(file: string): { now?: { size: number; mtime: string } } {
  try {
    const s = statSync(path.resolve(file));
    return { now: { size: s.size, mtime: s.mtime.toISOString() } };
  } catch {
    return {};
  }
}
