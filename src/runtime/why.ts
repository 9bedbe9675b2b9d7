import { readFile } from "node:fs/promises";
import path from "node:path";
import { readEvent, reasonText, type StageEvent } from "./events.js";

/**
 * The report behind `memopipe why`: what each cached stage did in the last run (the events of the
 * most recent process that ran cached stages in this cache directory).
 */
export interface WhyReport {
  readonly run: string | undefined;
  readonly events: readonly StageEvent[];
}

/**
 * Reads `<dir>/events.jsonl` and keeps the last run's events (optionally of one stage). Lines that
 * do not parse (a line cut by a crash) are skipped.
 *
 * @example
 * const { events } = await lastRun(".memopipe");
 */
export async function lastRun(dir: string, stage?: string): Promise<WhyReport> {
  let text = "";
  try {
    text = await readFile(path.join(dir, "events.jsonl"), "utf8");
  } catch {
    return { run: undefined, events: [] };
  }
  const events: StageEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const event = readEvent(line); // undefined for a torn last line
    if (event) events.push(event);
  }
  const run = events.at(-1)?.run;
  return { run, events: events.filter((e) => e.run === run && (stage === undefined || e.stage === stage)) };
}

/**
 * One line per stage run: `hit   register` or `ran   register: input \`ref\` changed`.
 *
 * @example
 * for (const line of formatWhy(await lastRun(".memopipe"))) console.log(line);
 */
export function formatWhy(report: WhyReport): string[] {
  if (!report.run) return ["no cached stage has run in this cache directory yet"];
  return report.events.map((e) => {
    const what =
      e.status === "hit" ? "hit      " : e.status === "ran-uncached" ? "uncached " : e.reasons[0]?.kind === "no-record" ? "ran      " : "re-ran   ";
    const why = e.reasons.length > 0 ? `: ${e.reasons.map(reasonText).join("; ")}` : "";
    return `${what}${e.stage}${why} (${e.seconds.toFixed(3)} s)`;
  });
}
