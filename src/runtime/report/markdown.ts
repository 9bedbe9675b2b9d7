/**
 * Markdown for CI (`--format md`, appended to `$GITHUB_STEP_SUMMARY` when it is set): a table and,
 * for a run, the graph as a Mermaid block coloured by status (GitHub draws it). Table cells are
 * escaped (`|`, `<`, line breaks, control and bidi characters), so a name cannot break the table.
 */
import type { ListedEntry, StoreStats } from "../cache/directory-store.js";
import { reasonText, type StageEvent } from "../events.js";
import { renderMermaid } from "../graph/mermaid.js";
import type { PipelineGraph } from "../graph/model.js";
import { eventStatus, STATUS_COLOURS, withRun } from "../graph/run-status.js";
import { escapeText } from "../why.js";
import { graphFromEvents } from "./events-graph.js";

/**
 * Text for a Markdown table cell.
 *
 * @example
 * mdCell("a|b\nc"); // "a\\|b c"
 */
export function mdCell(text: string): string {
  return escapeText(text.replace(/\r?\n/g, " "))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|");
}

const code = (text: string) => `\`${mdCell(text).replace(/`/g, "'")}\``;

/**
 * `memopipe why --format md`: a heading, one row per stage run (status, time, why), and the run's
 * graph as a Mermaid block (from `graph`, else from the events' predecessors).
 *
 * @example
 * whyMarkdown(await lastRun(".memopipe"));
 */
export function whyMarkdown(run: { run: string | undefined; events: readonly StageEvent[] }, graph?: PipelineGraph): string {
  if (run.run === undefined) return "### memopipe\n\nNo cached stage has run in this cache directory yet.\n";
  const counts = new Map<string, number>();
  for (const e of run.events) counts.set(eventStatus(e), (counts.get(eventStatus(e)) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${STATUS_COLOURS[s as keyof typeof STATUS_COLOURS].text}`).join(", ");
  const lines = [
    `### memopipe run ${code(run.run)}`,
    "",
    summary,
    "",
    "| stage | status | time | why |",
    "| --- | --- | ---: | --- |",
    ...run.events.map((e) => {
      const s = eventStatus(e);
      const why = [e.error ?? "", ...e.reasons.map(reasonText)].filter(Boolean).join("; ");
      return `| ${code(e.stage)} | ${STATUS_COLOURS[s].text} | ${e.seconds.toFixed(3)} s | ${mdCell(why)} |`;
    }),
    "",
    "```mermaid",
    renderMermaid(withRun(graph ?? graphFromEvents(run.events), run.events, run.run)).trimEnd(),
    "```",
    "",
  ];
  return lines.join("\n");
}

/**
 * `memopipe cache ls --format md`.
 *
 * @example
 * cacheListMarkdown(".memopipe", await store.list());
 */
export function cacheListMarkdown(dir: string, entries: readonly ListedEntry[]): string {
  return [
    `### memopipe cache ${code(dir)}: ${entries.length} ${entries.length === 1 ? "entry" : "entries"}`,
    "",
    "| stage | key | created | bytes | codec |",
    "| --- | --- | --- | ---: | --- |",
    ...entries.map((e) => `| ${code(e.stage)} | ${code(e.key.slice(0, 12))} | ${mdCell(e.createdAt)} | ${e.bytes} | ${mdCell(e.outputs.codec)} |`),
    "",
  ].join("\n");
}

/**
 * `memopipe cache stats --format md`.
 *
 * @example
 * cacheStatsMarkdown(".memopipe", await store.stats());
 */
export function cacheStatsMarkdown(dir: string, stats: StoreStats): string {
  const stages = Object.entries(stats.stages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    `### memopipe cache ${code(dir)}`,
    "",
    "| stage | entries | bytes |",
    "| --- | ---: | ---: |",
    ...stages.map(([name, s]) => `| ${code(name)} | ${s.entries} | ${s.bytes} |`),
    `| **all** | **${stats.entries}** | **${stats.bytes}** |`,
    "",
  ].join("\n");
}
