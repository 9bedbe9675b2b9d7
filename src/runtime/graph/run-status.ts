/**
 * A run drawn on a graph: each stage's status in the run (hit, ran, re-ran, uncached, failed, not
 * run), its time and why it ran, from the run's events (events.ts), and the colours every view
 * (Mermaid, DOT/SVG, the HTML report) uses for them.
 */
import type { StageEvent } from "../events.js";
import type { GraphNode, NodeRun, PipelineGraph, RunStatus } from "./model.js";

/**
 * What one event says, as the graph colours it: a `ran` with no record before is `ran`, any other
 * `ran` is `re-ran`.
 *
 * @example
 * eventStatus({ status: "ran", reasons: [{ kind: "input", name: "x" }], … }); // "re-ran"
 */
export function eventStatus(e: Pick<StageEvent, "status" | "reasons">): Exclude<RunStatus, "not-run"> {
  switch (e.status) {
    case "hit":
      return "hit";
    case "failed":
      return "failed";
    case "ran-uncached":
      return "uncached";
    default:
      return e.reasons.length === 0 || e.reasons[0]!.kind === "no-record" ? "ran" : "re-ran";
  }
}

/** Statuses from the worst to the best: a stage with several events shows the worst one. */
export const STATUS_ORDER: readonly RunStatus[] = ["failed", "re-ran", "uncached", "ran", "hit", "not-run"];

/** Fill and stroke colours per status (light fills, dark strokes: readable printed in grey too). */
export const STATUS_COLOURS: Readonly<Record<RunStatus, { readonly fill: string; readonly stroke: string; readonly text: string }>> = {
  hit: { fill: "#d3f9d8", stroke: "#2b8a3e", text: "hit" },
  ran: { fill: "#dbe4ff", stroke: "#3b5bdb", text: "ran (no record)" },
  "re-ran": { fill: "#fff3bf", stroke: "#e67700", text: "re-ran" },
  uncached: { fill: "#f3d9fa", stroke: "#862e9c", text: "ran, not recorded" },
  failed: { fill: "#ffe3e3", stroke: "#c92a2a", text: "failed" },
  "not-run": { fill: "#f1f3f5", stroke: "#868e96", text: "not in this run" },
};

/**
 * One stage's run from its events (in log order): the worst status, the counts, the time, and the
 * reasons of its last event that was not a hit.
 *
 * @example
 * stageRun(events.filter((e) => e.stage === "load")); // { status: "re-ran", counts: { "re-ran": 1 }, seconds: 0.41, reasons: [...] }
 */
export function stageRun(events: readonly StageEvent[]): NodeRun {
  if (events.length === 0) return { status: "not-run", counts: {}, seconds: 0, reasons: [] };
  const counts: Partial<Record<Exclude<RunStatus, "not-run">, number>> = {};
  let seconds = 0;
  let worst: RunStatus = "hit";
  let reasons: StageEvent["reasons"] = [];
  let error: string | undefined;
  for (const e of events) {
    const s = eventStatus(e);
    counts[s] = (counts[s] ?? 0) + 1;
    seconds += e.seconds;
    if (STATUS_ORDER.indexOf(s) < STATUS_ORDER.indexOf(worst)) worst = s;
    if (s !== "hit") reasons = e.reasons;
    if (s === "failed") error = e.error;
  }
  return { status: worst, counts, seconds, reasons, ...(error !== undefined ? { error } : {}) };
}

/**
 * The graph with each stage node's run (`run` on the node) and the run's id: what `memopipe graph
 * --run` and the report colour. Stages without an event in the run are `not-run`.
 *
 * @example
 * const { run, events } = await lastRun(".memopipe");
 * const coloured = withRun(describe(g), events, run);
 */
export function withRun(graph: PipelineGraph, events: readonly StageEvent[], run: string | undefined): PipelineGraph {
  const byStage = new Map<string, StageEvent[]>();
  for (const e of events) {
    let list = byStage.get(e.stage);
    if (!list) byStage.set(e.stage, (list = []));
    list.push(e);
  }
  const nodes = graph.nodes.map((n): GraphNode => (n.kind === "stage" && n.stage ? { ...n, run: stageRun(byStage.get(n.stage.name) ?? []) } : n));
  return { ...graph, nodes, ...(run !== undefined ? { run } : {}) };
}
