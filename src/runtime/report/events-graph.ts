/**
 * A run's graph from its events alone, for a report made without the pipeline's code: one node per
 * stage (in the order the stages first appear), an edge from each predecessor an event names (a
 * DAG's run fills `predecessors`). Stages that record no events (not cached) are not in it: give
 * the report the pipeline's own graph (`describe()`) to draw them.
 */
import { GraphBuilder } from "../graph/graph-builder.js";
import type { PipelineGraph } from "../graph/model.js";
import type { StageEvent } from "../events.js";

/**
 * The stages of `events` and their predecessors, as a DAG graph.
 *
 * @example
 * graphFromEvents(events).nodes.map((n) => n.label); // ["load", "denoise", "mask", "measure"]
 */
export function graphFromEvents(events: readonly StageEvent[]): PipelineGraph {
  const b = new GraphBuilder();
  const seen = new Set<string>();
  const edges = new Set<string>();
  for (const e of events) {
    if (seen.has(e.stage)) continue;
    seen.add(e.stage);
    b.node({ id: `stage:${e.stage}`, kind: "stage", label: e.stage, stage: { name: e.stage, cached: true, fixed: [] } });
  }
  for (const e of events) {
    for (const p of e.predecessors ?? []) {
      const id = `${p}\0${e.stage}`;
      if (edges.has(id) || !seen.has(p)) continue;
      edges.add(id);
      b.edge({ from: `stage:${p}`, to: `stage:${e.stage}`, kind: "flow" });
    }
  }
  return b.graph("dag");
}
