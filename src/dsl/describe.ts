/**
 * `describe(x)`: the graph of anything memopipe made, as data (runtime/graph/model.ts).
 */
import { MemopipeError } from "../runtime/errors.js";
import { describePart } from "../runtime/graph/describe.js";
import type { PipelineGraph } from "../runtime/graph/model.js";
import { partOf } from "../runtime/graph/parts.js";
import { unwrapMemorizable } from "./memorizable.js";

/**
 * The graph of a pipeline (a builder or a built pipeline), a DAG, a stage or a combinator, as data:
 * nodes with stable ids, kinds and labels (step names are function names), edges (the value's
 * flow, `store` slots, ingests labelled with their side and the parameter they fill, a DAG's
 * inputs and outputs), clusters for sub-pipelines. `memopipe graph` renders it as Mermaid, DOT,
 * SVG, HTML or JSON.
 *
 * @example
 * const g = describe(pipe<number>().step(double).store("d").step(add).ingestAfter("d"));
 * g.edges.find((e) => e.kind === "ingest"); // { from: "store:d", to: "s2", label: "after: parameter 2 (d)", … }
 */
export function describe(value: unknown): PipelineGraph {
  const part = partOf(typeof value === "function" ? unwrapMemorizable(value as (...args: unknown[]) => unknown) : value);
  if (!part) {
    throw new MemopipeError(
      `describe(x) draws what memopipe made (a pipe, a built pipeline, a dag(), a stage, fork/merge/to/flatten/identity), got ${
        typeof value === "function" ? `a function of your own${value.name ? ` (${value.name})` : ""}` : value === null ? "null" : typeof value
      }`,
    );
  }
  return describePart(part);
}
