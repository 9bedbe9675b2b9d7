/**
 * The runs of a cache directory's log: the last one (read from the log's end, events.ts), or one
 * by its id (`memopipe report --run ID`, `memopipe graph --run ID`), and the list of runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EVENTS_FILE, flushEvents, readEvent, readLastRun, type StageEvent } from "../events.js";

/**
 * A run's events, in log order.
 *
 * @example
 * const r: RunEvents = readRun(".memopipe"); // { run: "run-4", events: [...] }
 */
export interface RunEvents {
  readonly run: string | undefined;
  readonly events: readonly StageEvent[];
}

/**
 * The events of run `id` (all of the log is read: `memopipe cache gc` keeps it to its last 100
 * runs), or of the last run when `id` is undefined (only the log's tail is read).
 *
 * @example
 * readRun(".memopipe", "run-3").events.length; // 4
 */
export function readRun(dir: string, id?: string): RunEvents {
  if (id === undefined) return readLastRun(dir);
  const events = allEvents(dir).filter((e) => e.run === id);
  return { run: events.length > 0 ? id : undefined, events };
}

/**
 * The runs in the log, oldest first, with their number of events.
 *
 * @example
 * listRuns(".memopipe"); // [{ run: "run-1", events: 4 }, { run: "run-2", events: 4 }]
 */
export function listRuns(dir: string): { run: string; events: number }[] {
  const counts = new Map<string, number>();
  for (const e of allEvents(dir)) counts.set(e.run, (counts.get(e.run) ?? 0) + 1);
  return [...counts].map(([run, events]) => ({ run, events }));
}

function allEvents(dir: string): StageEvent[] {
  flushEvents(); // events of this process still waiting for their write
  let text: string;
  try {
    flushEvents(); // this process's gathered events first
    text = readFileSync(join(dir, EVENTS_FILE), "utf8");
  } catch {
    return [];
  }
  const out: StageEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const e = readEvent(line);
    if (e) out.push(e);
  }
  return out;
}
