/**
 * `describe()`'s engine: a part (parts.ts) laid out as nodes, edges and clusters (model.ts).
 *
 * A pipe is drawn as its data flow: the input, one node per step (a sub-pipeline as a cluster of
 * its own steps, a fork as a node whose branches each get a node or a cluster, the combinators as
 * nodes of their own kind), the output; each `.store(key)` is a slot node fed by the value
 * produced so far, and each ingest an edge from the slot to the step, labelled with its side and
 * the parameter it fills. A DAG is drawn as its stages, its inputs node and its outputs node (see
 * `describeDag`).
 */
import type { Op, StepOp } from "../program.js";
import { describeDag } from "./describe-dag.js";
import { parameterNames } from "./function-source.js";
import { GraphBuilder, type Producer } from "./graph-builder.js";
import type { GraphNode, PipelineGraph } from "./model.js";
import { partOf, type Part } from "./parts.js";
import { stageInfo } from "./stage-info.js";

/**
 * The graph of a part.
 *
 * @example
 * describePart({ kind: "pipe", ops, keys: ["doubled"] }).nodes.length;
 */
export function describePart(part: Part): PipelineGraph {
  if (part.kind === "dag") return describeDag(part);
  const b = new GraphBuilder();
  b.node({ id: "input", kind: "input", label: "input" });
  const start: Producer[] = [{ id: "input", index: [] }];
  const out =
    part.kind === "pipe"
      ? layoutPipe(b, part.ops, part.keys, "", undefined, start)
      : layoutPart(b, part, undefined, { id: "s1", cluster: undefined, position: 1, fallback: "step 1" }, start).out;
  b.node({ id: "output", kind: "output", label: "output" });
  b.flow(out, "output");
  return b.graph("pipe");
}

/** The steps of one pipeline (the top level, or a sub-pipeline's cluster, `prefix` its ids' start). */
function layoutPipe(b: GraphBuilder, ops: readonly Op[], keys: readonly string[], prefix: string, cluster: string | undefined, input: readonly Producer[]): Producer[] {
  let current: Producer[] = [...input];
  const slot = (s: number) => `${prefix}store:${keys[s]}`;
  for (const op of ops) {
    if (op.kind === "store") {
      const id = b.node({ id: slot(op.slot), kind: "store", label: keys[op.slot]!, key: keys[op.slot]!, ...(cluster ? { cluster } : {}) });
      b.flow(current, id, "store");
      continue;
    }
    const where: Where = { id: `${prefix}s${op.position}`, cluster, position: op.position, fallback: `step ${op.position}` };
    const placed = layoutStep(b, op, where, current);
    ingestEdges(b, op, placed.target, slot, keys);
    current = placed.out;
  }
  return current;
}

/** Where a step goes: its id, its cluster, its position, and its label when its function has no name. */
interface Where {
  readonly id: string;
  readonly cluster: string | undefined;
  readonly position?: number;
  readonly fallback: string;
}

interface Placed {
  /** The node that receives the step's arguments (where ingest edges point). */
  readonly target: string;
  readonly out: Producer[];
}

function layoutStep(b: GraphBuilder, op: StepOp, where: Where, current: readonly Producer[]): Placed {
  const inline = op.inline;
  if (inline?.kind === "fork") return layoutFork(b, inline.branches, where, current);
  if (inline?.kind === "merge") return layoutPart(b, { kind: "merge", fn: inline.fn }, undefined, where, current);
  if (inline?.kind === "to") return layoutPart(b, { kind: "to", ctor: inline.ctor }, undefined, where, current);
  if (inline?.kind === "flatten") return layoutPart(b, { kind: "flatten" }, undefined, where, current);
  const part = partOf(op.fn);
  if (part) return layoutPart(b, part, op.fn, where, current, op.alwaysAsync);
  return plainStep(b, op.fn, where, current, op.alwaysAsync);
}

function common(where: Where): Pick<GraphNode, "cluster" | "position"> {
  return { ...(where.cluster ? { cluster: where.cluster } : {}), ...(where.position !== undefined ? { position: where.position } : {}) };
}

function plainStep(b: GraphBuilder, fn: Function, where: Where, current: readonly Producer[], async = false): Placed {
  const id = b.node({
    id: where.id,
    kind: "step",
    // an anonymous function is `step 3`: its source text depends on the tool that compiled it
    // (tsx writes `x=>x*2`, vitest `(x) => x * 2`), and the same definition must give the same graph
    label: fn.name || where.fallback,
    ...common(where),
    ...(fn.name ? { function: fn.name } : {}),
    ...(async ? { async: true } : {}),
  });
  b.flow(current, id);
  return { target: id, out: [{ id, index: [] }] };
}

/** A function memopipe made, as a step or a fork branch. */
function layoutPart(b: GraphBuilder, part: Part, fn: Function | undefined, where: Where, current: readonly Producer[], async = false): Placed {
  switch (part.kind) {
    case "pipe": {
      if (!part.ops.some((op) => op.kind === "step")) return plainStep(b, fn ?? (() => {}), { ...where, fallback: "empty pipeline" }, current);
      b.clusters.push({ id: where.id, label: where.position !== undefined ? `sub-pipeline (step ${where.position})` : `sub-pipeline (${where.fallback})`, ...(where.cluster ? { parent: where.cluster } : {}) });
      const first = b.nodes.length;
      const out = layoutPipe(b, part.ops, part.keys, `${where.id}/`, where.id, current);
      const target = b.nodes.slice(first).find((n) => n.kind !== "store")?.id ?? where.id;
      return { target, out };
    }
    case "fork":
      return layoutFork(b, part.branches, where, current);
    case "merge":
    case "to":
    case "flatten": {
      const named = part.kind === "merge" ? part.fn.name : part.kind === "to" ? part.ctor.name : "";
      const label = part.kind === "flatten" ? "flatten()" : named ? `${part.kind}(${named})` : part.kind;
      const id = b.node({ id: where.id, kind: part.kind, label, ...common(where), ...(named ? { function: named } : {}) });
      b.flow(current, id);
      return { target: id, out: [{ id, index: [] }] };
    }
    case "identity": {
      const id = b.node({ id: where.id, kind: "step", label: "identity", ...common(where), function: "identity" });
      b.flow(current, id);
      return { target: id, out: [{ id, index: [] }] };
    }
    case "stage": {
      const id = b.node({ id: where.id, kind: "stage", label: part.name, ...common(where), stage: stageInfo(part), ...(async ? { async: true } : {}) });
      b.flow(current, id);
      return { target: id, out: [{ id, index: [] }] };
    }
    case "dag":
      return plainStep(b, fn ?? (() => {}), where, current);
  }
}

function layoutFork(b: GraphBuilder, branches: readonly Function[], where: Where, current: readonly Producer[]): Placed {
  const id = b.node({ id: where.id, kind: "fork", label: "fork", ...common(where) });
  b.flow(current, id);
  const out: Producer[] = [];
  branches.forEach((branch, j) => {
    const bw: Where = { id: `${where.id}/b${j + 1}`, cluster: where.cluster, fallback: `branch ${j + 1}` };
    const part = partOf(branch);
    const placed = part ? layoutPart(b, part, branch, bw, [{ id, index: [] }]) : plainStep(b, branch, bw, [{ id, index: [] }]);
    for (const p of placed.out) out.push({ id: p.id, index: [j, ...p.index] });
  });
  return { target: id, out };
}

/** One edge per ingest, from the slot to the step, with the parameter it fills (1-based, in call order). */
function ingestEdges(b: GraphBuilder, op: StepOp, target: string, slot: (s: number) => string, keys: readonly string[]): void {
  if (op.before.length === 0 && op.after.length === 0) return;
  const names = partOf(op.fn) ? undefined : parameterNames(op.fn);
  const add = (s: number, side: "before" | "after", parameter: number) => {
    const parameterName = names?.[parameter - 1];
    b.edge({
      from: slot(s),
      to: target,
      kind: "ingest",
      label: `${side}: parameter ${parameter}${parameterName ? ` (${parameterName})` : ""}`,
      key: keys[s]!,
      side,
      parameter,
      ...(parameterName ? { parameterName } : {}),
    });
  };
  op.before.forEach((s, i) => add(s, "before", i + 1));
  op.after.forEach((s, j) => add(s, "after", op.before.length + 2 + j));
}

