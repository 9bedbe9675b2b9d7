/**
 * A DAG's graph: an `input` node (the DAG's inputs), one node per stage, an `output` node (what
 * `run` resolves to: the terminal stages' outputs). Edges say what flows where when the stages'
 * sources show it: a stage's input names (the object it destructures) and output names (its
 * `outputs: [...]`, or the object literal it returns). A stage receives its predecessors' outputs
 * over the DAG's inputs, the right-most predecessor winning on a clash (as `run` does), so an
 * input that no predecessor provides is drawn as an edge from the DAG's inputs.
 */
import { GraphBuilder } from "./graph-builder.js";
import type { PipelineGraph, StageInfo } from "./model.js";
import type { Part } from "./parts.js";
import { stageInfo } from "./stage-info.js";

type DagPart = Extract<Part, { kind: "dag" }>;

/**
 * The graph of a DAG part.
 *
 * @example
 * describeDag(part).nodes.map((n) => n.id); // ["input", "stage:load", "stage:denoise", …, "output"]
 */
export function describeDag(part: DagPart): PipelineGraph {
  const b = new GraphBuilder();
  const infos = part.stages.map((s) => stageInfo(s.stage));
  const ids = stageIds(infos);
  const names: string[] = [];
  const noteNames = (ns: readonly string[]) => ns.forEach((n) => names.includes(n) || names.push(n));
  b.node({ id: "input", kind: "input", label: "inputs" });
  part.stages.forEach((s, i) => {
    const info = infos[i]!;
    b.node({ id: ids[i]!, kind: "stage", label: info.name, stage: info, ...(s.preds.length > 1 ? { fanIn: true } : {}) });
    const needs = info.inputs?.filter((n) => !info.fixed.includes(n));
    const preds = s.preds.map((p) => infos[p]!);
    const known = preds.every((p) => p.outputs !== undefined);
    // which predecessor each input comes from: the right-most that provides it
    const from = new Map<string, number>();
    if (needs && known) for (const n of needs) for (const p of s.preds) if (infos[p]!.outputs!.includes(n)) from.set(n, p);
    for (const p of s.preds) {
      const flowing = needs && known ? needs.filter((n) => from.get(n) === p) : undefined;
      b.edge({ from: ids[p]!, to: ids[i]!, kind: "flow", ...(flowing?.length ? { label: flowing.join(", "), names: flowing } : {}) });
    }
    if (s.preds.length === 0 || (needs && known)) {
      const fromDag = needs?.filter((n) => !from.has(n));
      if (s.preds.length === 0 || fromDag!.length > 0) {
        b.edge({ from: "input", to: ids[i]!, kind: "input", ...(fromDag?.length ? { label: fromDag.join(", "), names: fromDag } : {}) });
        if (fromDag) noteNames(fromDag);
      }
    }
  });
  const hasSucc = new Set(part.stages.flatMap((s) => s.preds));
  b.node({ id: "output", kind: "output", label: "outputs" });
  part.stages.forEach((_, i) => {
    if (hasSucc.has(i)) return;
    const outs = infos[i]!.outputs;
    b.edge({ from: ids[i]!, to: "output", kind: "output", ...(outs?.length ? { label: outs.join(", "), names: outs } : {}) });
  });
  // the input node lists the names read from the DAG's inputs
  if (names.length > 0) b.nodes[0] = { ...b.nodes[0]!, names };
  return b.graph("dag");
}

/** `stage:<name>`, and `stage:<name>#2`… for a name that several stages share. */
function stageIds(infos: readonly StageInfo[]): string[] {
  const seen = new Map<string, number>();
  return infos.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return n === 1 ? `stage:${s.name}` : `stage:${s.name}#${n}`;
  });
}
