/**
 * The event record: one line of `<cache dir>/events.jsonl` per cached stage run (a hit, a re-run
 * and why, a failure). Every view of a run (`memopipe why`, `--json`, the graph colours, the HTML
 * report) is rendered from these lines: one source, many faces (Turborepo's run summaries).
 *
 * ## Versions
 * Format 2 (this file) carries `v: 2`, structured reasons (`Reason`) and timings; format 1 lines
 * (no `v`, reasons as plain strings) are still read: `readEvent` turns them into format 2 with
 * reasons of kind `other`.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { APPEND_NO_FOLLOW } from "./cache/safe-dirs.js";

/**
 * Why a stage ran. `kind` says what changed; `name` which input, file, helper or dependency;
 * `before` / `after` the old and new digest (or version), where known.
 *
 * - `no-record`: the stage has never been recorded in this cache;
 * - `new-inputs`: recorded before, but never with these inputs (nothing differs from the latest entry that can be named);
 * - `input`, `input-added`, `input-removed`: a named input's value;
 * - `file`: the contents of a file an input names;
 * - `code`: the stage's own function; `helper`: project code it uses (`name` is the helper's label);
 *   `dependency`: an installed package it imports (`before` / `after`: versions);
 * - `output-file`: a file the recorded outputs name was deleted or edited;
 * - `damaged`: the entry failed verification (`detail` says how) and was recomputed;
 * - `unreadable`: the entry could not be read (a permission error, `detail` says which);
 * - `unrecorded`: an input file changed while the stage ran, so the result was not recorded;
 * - `other`: anything else (`detail`), e.g. a format-1 event's text.
 *
 * @example
 * const r: Reason = { kind: "file", name: "data/sub-01.nii", before: "3a…", after: "9c…" };
 * reasonText(r); // "file `data/sub-01.nii` changed"
 */
export interface Reason {
  readonly kind:
    | "no-record"
    | "new-inputs"
    | "input"
    | "input-added"
    | "input-removed"
    | "file"
    | "code"
    | "helper"
    | "dependency"
    | "output-file"
    | "damaged"
    | "unreadable"
    | "unrecorded"
    | "other";
  readonly name?: string;
  readonly before?: string;
  readonly after?: string;
  readonly detail?: string;
}

/**
 * One reason as a short sentence, as `memopipe why` prints it.
 *
 * @example
 * reasonText({ kind: "input", name: "ref" }); // "input `ref` changed"
 * reasonText({ kind: "dependency", name: "lodash", before: "4.17.20", after: "4.17.21" }); // "dependency `lodash` changed (4.17.20 → 4.17.21)"
 */
export function reasonText(r: Reason): string {
  const versions = r.before !== undefined && r.after !== undefined && r.kind === "dependency" ? ` (${r.before} → ${r.after})` : "";
  switch (r.kind) {
    case "no-record":
      return "no record";
    case "new-inputs":
      return "no record for these inputs";
    case "input":
      return `input \`${r.name}\` changed`;
    case "input-added":
      return `input \`${r.name}\` added`;
    case "input-removed":
      return `input \`${r.name}\` removed`;
    case "file":
      return `file \`${r.name}\` changed`;
    case "code":
      return r.detail ?? (r.name ? `${r.name} changed` : "code changed");
    case "helper":
      return r.detail ?? `${r.name} changed`;
    case "dependency":
      return r.detail ?? `dependency \`${r.name}\` changed${versions}`;
    case "output-file":
      return `output file \`${r.name}\` changed or is missing`;
    case "damaged":
      return `the record was damaged (${r.detail ?? "verification failed"}); recomputed`;
    case "unreadable":
      return `the record could not be read (${r.detail ?? "permission denied"})`;
    case "unrecorded":
      return r.detail ?? "an input file changed while the stage ran: not recorded";
    case "other":
      return r.detail ?? r.name ?? "other";
  }
}

/**
 * What happened to one cached stage run. Appended to `<cache dir>/events.jsonl`, one JSON line each.
 *
 * @example
 * const e: StageEvent = {
 *   v: 2, run: "2026-12-02T10:00:00.000Z#4242", stage: "register", key: "9f…", status: "ran",
 *   reasons: [{ kind: "input", name: "ref" }], time: "2026-12-02T10:00:01.250Z",
 *   start: 1764669601000, end: 1764669601250, seconds: 0.25,
 * };
 */
export interface StageEvent {
  /** Format version of this line (absent in format-1 lines). */
  readonly v?: 2;
  /** The run (one process, or `$MEMOPIPE_RUN_ID`): `memopipe why` shows the last run's events. */
  readonly run: string;
  /** ISO time the stage finished. */
  readonly time: string;
  readonly stage: string;
  readonly key: string;
  /**
   * `hit`: recorded outputs returned; `ran`: computed (and recorded unless a warning says
   * otherwise); `ran-uncached`: computed, deliberately not recorded (see reasons); `failed`: the
   * stage threw (`error`; `reasons` say why it ran).
   */
  readonly status: "hit" | "ran" | "ran-uncached" | "failed";
  /** The error of a failed run: its class and message (`TypeError: x is undefined`). */
  readonly error?: string;
  readonly reasons: readonly Reason[];
  /** Wall time of the whole cached call, in seconds. */
  readonly seconds: number;
  /** Start and end of the call, ms since the epoch (format 2). */
  readonly start?: number;
  readonly end?: number;
  /** The key of the entry this run was compared with to explain a miss (the stage's latest), if any. */
  readonly previousKey?: string;
  /** Bytes of the recorded outputs (written on a miss, read on a hit). */
  readonly outputBytes?: number;
  /** Who ran it: `host:pid` (or a worker's id). */
  readonly worker?: string;
  /** The DAG run this stage belonged to, and the stages it waited for (set by `dag().run`). */
  readonly graph?: string;
  readonly predecessors?: readonly string[];
  /** How long this run waited for another process computing the same key, in ms. */
  readonly waitedMs?: number;
  /** What went wrong around the run without losing its value: "could not record: ENOSPC …". */
  readonly warnings?: readonly string[];
}

/**
 * A parsed `events.jsonl` line in format 2, or `undefined` when the line is not an event (a line
 * torn by a crash, garbage). Format-1 lines (plain-string reasons) are converted.
 *
 * @example
 * readEvent('{"run":"r","time":"t","stage":"s","key":"k","status":"ran","reasons":["no record"],"seconds":0.1}');
 * // { run: "r", …, reasons: [{ kind: "no-record" }] }
 */
export function readEvent(line: string): StageEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object") return undefined;
  const e = parsed as Record<string, unknown>;
  if (typeof e.run !== "string" || typeof e.stage !== "string" || typeof e.status !== "string" || !Array.isArray(e.reasons)) return undefined;
  if (e.v === 2) return e as unknown as StageEvent;
  const reasons = (e.reasons as unknown[]).map((r): Reason => (r === "no record" ? { kind: "no-record" } : { kind: "other", detail: String(r) }));
  return { ...(e as unknown as StageEvent), reasons };
}

// ---------------------------------------------------------------------------------------------
// The log file
// ---------------------------------------------------------------------------------------------

/** The events file of a cache directory. */
export const EVENTS_FILE = "events.jsonl";

/**
 * Appends events to `<dir>/events.jsonl`. Events are gathered and written together — at the end of
 * the current turn of the event loop, when 32 KiB have gathered, before a `why` in this process
 * reads the log, and when the process exits — on a file descriptor kept open: one `write` of a
 * line cost ~9 µs here (an append to a journalled file), a sixth of a whole cache hit. Opened
 * with `O_APPEND`, so writes from concurrent processes never interleave, and `O_NOFOLLOW`, so a
 * planted link cannot redirect it. A process killed with SIGKILL loses the events of its last
 * turn (never a cached value). A log that cannot be written (read-only cache, full disk) is
 * reported once through `onError` and then skipped: an event is never worth failing a stage for.
 *
 * @example
 * const log = new EventLog("/repo/.memopipe", (e) => console.warn(e));
 * log.append(event);
 */
export class EventLog {
  private fd: number | undefined;
  private failed = false;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private dirMade = false;
  readonly path: string;

  constructor(
    readonly dir: string,
    private readonly onError: (error: unknown, path: string) => void,
  ) {
    this.path = join(dir, EVENTS_FILE);
  }

  append(event: StageEvent): void {
    this.appendLine(`${JSON.stringify(event)}\n`);
  }

  /** Appends one event already written as a JSON line (with its newline). */
  appendLine(line: string): void {
    if (this.failed) return;
    if (!this.dirMade) {
      // The directory is made now, not when the events are written: by then a test (or `rm -rf`)
      // may have removed it on purpose, and a late write must not bring it back.
      this.dirMade = true;
      try {
        mkdirSync(this.dir, { recursive: true });
      } catch {
        // reported by the write
      }
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      logsWithPending.add(this);
      hookExit();
      setImmediate(() => this.flush()).unref();
    }
  }

  /** Writes what has gathered (the `why` readers and the exit hook call it too). */
  flush(): void {
    this.scheduled = false;
    logsWithPending.delete(this);
    if (this.pending.length === 0 || this.failed) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    try {
      this.fd ??= openSync(this.path, APPEND_NO_FOLLOW, 0o666);
      writeSync(this.fd, text);
    } catch (error) {
      // The cache directory was removed since (ENOENT): these events go with it, silently; the
      // next event makes the directory again.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        this.dirMade = false;
        return;
      }
      this.failed = true;
      this.onError(error, this.path);
    }
  }
}

/** Gathered events are written once this many bytes are waiting. */
const FLUSH_BYTES = 32 * 1024;
/** Logs with events not yet written: flushed before a read in this process and at exit. */
const logsWithPending = new Set<EventLog>();
let exitHooked = false;

/**
 * Writes every event this process has gathered but not yet written (see `EventLog`). Called before
 * the log is read in this process, and at exit.
 *
 * @example
 * await s.run(inputs); flushEvents(); readFileSync(".memopipe/events.jsonl", "utf8");
 */
export function flushEvents(): void {
  for (const log of [...logsWithPending]) log.flush();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", flushEvents);
}

/** How much of the log's end `readRecentEvents` reads at a time. */
const TAIL_CHUNK = 256 * 1024;

/**
 * The events of the last run in a cache directory (optionally of one stage), reading the log from
 * its end only as far back as that run goes (the log may hold months of runs).
 *
 * @example
 * const { run, events } = readLastRun(".memopipe");
 */
export function readLastRun(dir: string, stage?: string): { run: string | undefined; events: StageEvent[] } {
  flushEvents();
  let fd: number;
  try {
    fd = openSync(join(dir, EVENTS_FILE), "r");
  } catch {
    return { run: undefined, events: [] };
  }
  try {
    const size = fstatSync(fd).size;
    let end = size;
    let carry = Buffer.alloc(0);
    let run: string | undefined;
    const events: StageEvent[] = [];
    // Walk back chunk by chunk; lines are parsed newest first until one of another run appears.
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.allocUnsafe(end - start);
      readSync(fd, chunk, 0, chunk.length, start);
      const text = Buffer.concat([chunk, carry]);
      // The bytes before the chunk's first newline belong to a line that starts in an earlier
      // chunk: they are carried over and parsed with it.
      const cut = start === 0 ? -1 : text.indexOf(0x0a);
      end = start;
      if (start > 0 && cut < 0) {
        carry = text;
        continue;
      }
      carry = start === 0 ? Buffer.alloc(0) : text.subarray(0, cut + 1);
      const lines = text.subarray(cut + 1).toString("utf8").split("\n");
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i]!;
        if (!line.trim()) continue;
        const event = readEvent(line);
        if (!event) continue; // a torn line
        run ??= event.run;
        if (event.run !== run) return { run, events: events.reverse().filter((e) => stage === undefined || e.stage === stage) };
        events.push(event);
      }
    }
    return { run, events: events.reverse().filter((e) => stage === undefined || e.stage === stage) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Trims the log to its last `keepRuns` runs (and at most `maxBytes`), atomically (a new file renamed
 * over it). Called by `memopipe cache gc`. Events appended meanwhile by another process may be
 * lost from the log (never from the cache).
 *
 * @example
 * trimEvents(".memopipe", { keepRuns: 50 }); // { keptBytes: 120000, droppedBytes: 5400000 }
 */
export function trimEvents(dir: string, options: { keepRuns?: number; maxBytes?: number } = {}): { keptBytes: number; droppedBytes: number } {
  const keepRuns = options.keepRuns ?? 100;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const path = join(dir, EVENTS_FILE);
  flushEvents();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { keptBytes: 0, droppedBytes: 0 };
  }
  // Lines that are not events (a line torn by a crash) are dropped with the old runs.
  const lines = text.split("\n").filter((l) => l.trim() && readEvent(l) !== undefined);
  const runs = new Set<string>();
  let keepFrom = lines.length;
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const run = readEvent(lines[i]!)!.run;
    if (!runs.has(run)) {
      if (runs.size >= keepRuns) break;
      runs.add(run);
    }
    bytes += Buffer.byteLength(lines[i]!) + 1;
    if (bytes > maxBytes) break;
    keepFrom = i;
  }
  const kept = lines.slice(keepFrom).join("\n") + (keepFrom < lines.length ? "\n" : "");
  const before = Buffer.byteLength(text);
  if (Buffer.byteLength(kept) === before) return { keptBytes: before, droppedBytes: 0 };
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, "wx", 0o666);
  try {
    writeSync(fd, kept);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  return { keptBytes: Buffer.byteLength(kept), droppedBytes: before - Buffer.byteLength(kept) };
}
