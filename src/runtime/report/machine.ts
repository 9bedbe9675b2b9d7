/**
 * The machine-readable faces of `why`, `cache ls` and `cache stats` (`--json`): one JSON document
 * each, with a `schemaVersion`, the reasons structured (`{ kind, name, before, after }` plus the
 * sentence `why` prints). The same events and entries always give the same bytes.
 */
import type { ListedEntry, StoreStats } from "../cache/directory-store.js";
import { reasonText, type Reason, type StageEvent } from "../events.js";
import { eventStatus } from "../graph/run-status.js";
import type { RunStatus } from "../graph/model.js";

/** The version of these documents' layout. */
export const MACHINE_SCHEMA_VERSION = 1;

/**
 * `memopipe why --json`: the run and its events, each with its display status and reasons.
 *
 * @example
 * const doc: WhyDocument = whyDocument(".memopipe", await lastRun(".memopipe"));
 * doc.events[0].reasons[0]; // { kind: "file", name: "scan.txt", before: "3a…", after: "9c…", text: "file `scan.txt` changed" }
 */
export interface WhyDocument {
  readonly schemaVersion: typeof MACHINE_SCHEMA_VERSION;
  readonly dir: string;
  readonly run: string | null;
  readonly events: readonly (StageEvent & { readonly display: Exclude<RunStatus, "not-run">; readonly reasons: readonly (Reason & { readonly text: string })[] })[];
}

/**
 * The why document of a run.
 *
 * @example
 * process.stdout.write(JSON.stringify(whyDocument(dir, run), null, 2));
 */
export function whyDocument(dir: string, run: { run: string | undefined; events: readonly StageEvent[] }): WhyDocument {
  return {
    schemaVersion: MACHINE_SCHEMA_VERSION,
    dir,
    run: run.run ?? null,
    events: run.events.map((e) => ({ ...e, display: eventStatus(e), reasons: e.reasons.map((r) => ({ ...r, text: reasonText(r) })) })),
  };
}

/**
 * `memopipe cache ls --json`.
 *
 * @example
 * cacheListDocument(".memopipe", await store.list()).entries[0]; // { stage, key, createdAt, bytes, codec, outputBytes }
 */
export function cacheListDocument(dir: string, entries: readonly ListedEntry[]) {
  return {
    schemaVersion: MACHINE_SCHEMA_VERSION,
    dir,
    entries: entries.map((e) => ({ stage: e.stage, key: e.key, createdAt: e.createdAt, bytes: e.bytes, codec: e.outputs.codec, outputBytes: e.outputs.size })),
  };
}

/**
 * `memopipe cache stats --json`.
 *
 * @example
 * cacheStatsDocument(".memopipe", await store.stats()); // { schemaVersion: 1, dir, entries, bytes, stages: { load: { entries, bytes } } }
 */
export function cacheStatsDocument(dir: string, stats: StoreStats) {
  const stages = Object.fromEntries(Object.entries(stats.stages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { schemaVersion: MACHINE_SCHEMA_VERSION, dir, entries: stats.entries, bytes: stats.bytes, stages };
}

/**
 * A document as the CLI prints it: indented JSON and a final newline.
 *
 * @example
 * process.stdout.write(jsonText(doc));
 */
export function jsonText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
