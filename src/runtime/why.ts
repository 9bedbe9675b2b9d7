/**
 * The report behind `memopipe why`: what each cached stage did in the last run (the events of the
 * most recent process that ran cached stages in this cache directory), as data and as lines.
 */
import { readLastRun, reasonText, type StageEvent } from "./events.js";

/**
 * The last run's events.
 *
 * @example
 * const report: WhyReport = await lastRun(".memopipe"); // { run: "2026-12-02T10:00:00.000Z#4242", events: [...] }
 */
export interface WhyReport {
  readonly run: string | undefined;
  readonly events: readonly StageEvent[];
}

/**
 * Reads the end of `<dir>/events.jsonl` and keeps the last run's events (optionally of one stage).
 * Only the tail the last run spans is read, however long the log. Lines that do not parse (a line
 * cut by a crash) are skipped.
 *
 * @example
 * const { events } = await lastRun(".memopipe");
 */
export async function lastRun(dir: string, stage?: string): Promise<WhyReport> {
  return readLastRun(dir, stage);
}

/**
 * Text from a record (a stage name, a path, a reason) made safe for a terminal: control characters
 * (newlines, escapes: a stage named "\x1b[2J" must not clear the screen) and bidirectional-override
 * characters (which reorder what a reader sees: CVE-2021-42574 "Trojan Source") are written as
 * `\u{…}` escapes.
 *
 * @example
 * escapeText("a\nb\u202Ec"); // "a\\u{a}b\\u{202e}c"
 */
export function escapeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/**
 * One line per stage run: `hit   register` or `re-ran register: input \`ref\` changed`, every name
 * escaped for the terminal.
 *
 * @example
 * for (const line of formatWhy(await lastRun(".memopipe"))) console.log(line);
 */
export function formatWhy(report: WhyReport): string[] {
  if (!report.run) return ["no cached stage has run in this cache directory yet"];
  return report.events.map((e) => {
    const what =
      e.status === "hit"
        ? "hit      "
        : e.status === "failed"
          ? "failed   "
          : e.status === "ran-uncached"
            ? "uncached "
            : e.reasons[0]?.kind === "no-record"
              ? "ran      "
              : "re-ran   ";
    const reasons = e.reasons.map(reasonText).join("; ");
    const why = e.status === "failed" ? `: ${e.error ?? "error"}${reasons ? ` (it ran: ${reasons})` : ""}` : reasons ? `: ${reasons}` : "";
    const warned = e.warnings?.length ? ` [warning: ${e.warnings.join("; ")}]` : "";
    return escapeText(`${what}${e.stage}${why} (${e.seconds.toFixed(3)} s)${warned}`);
  });
}
