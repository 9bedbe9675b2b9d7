/**
 * A pipeline's graph as data: what `describe()` returns, what `memopipe graph --format json`
 * prints, and what the Mermaid, DOT, SVG and HTML renderers draw. Versioned (`schemaVersion`), so
 * a program reading the JSON can tell a later layout from this one.
 *
 * Ids are stable: they come from positions in the definition (`s3` is a pipeline's third step,
 * `s3/s1` the first step of the sub-pipeline at step 3, `store:total` a memory slot, `stage:load`
 * a DAG's stage), never from a counter, so the same definition always gives the same graph, and
 * the graph of the same code drawn twice is byte-identical.
 */
import type { Reason } from "../events.js";

/** The version of the graph's JSON layout. */
export const GRAPH_SCHEMA_VERSION = 1;

/**
 * What a node is:
 * - `input` / `output`: the pipeline's (or the DAG's) input and result;
 * - `step`: a function step (`.step(f)`, a fork branch); `store`: a memory slot (`.store(key)`);
 * - `fork`, `merge`, `to`, `flatten`: the combinators;
 * - `stage`: a stage (a DAG's, or a stage used as a pipe step).
 */
export type NodeKind = "input" | "output" | "step" | "store" | "fork" | "merge" | "to" | "flatten" | "stage";

/**
 * How a stage did in a run, as the graph colours it: `hit` (recorded outputs returned), `ran`
 * (computed for the first time: no record), `re-ran` (a record existed, something changed),
 * `uncached` (computed and deliberately not recorded), `failed`, `not-run` (no event in that run).
 */
export type RunStatus = "hit" | "ran" | "re-ran" | "uncached" | "failed" | "not-run";

/** A stage's description, on nodes of kind `stage`. */
export interface StageInfo {
  readonly name: string;
  /** Whether the stage is memoized, and where (the cache directory as configured). */
  readonly cached: boolean;
  readonly cacheDir?: string;
  /** The input names its function destructures (absent when its source does not show them). */
  readonly inputs?: readonly string[];
  /** The output names: from `outputs: [...]`, or read from the object literal it returns (absent when unknown). */
  readonly outputs?: readonly string[];
  /** Inputs bound by `fixed`. */
  readonly fixed: readonly string[];
}

/** What the run overlay (`withRun`) adds to a stage's node. */
export interface NodeRun {
  readonly status: RunStatus;
  /** Events of this stage in the run, by what happened (a stage run for several inputs has several). */
  readonly counts: Readonly<Partial<Record<Exclude<RunStatus, "not-run">, number>>>;
  /** Wall time of its events, added up, in seconds. */
  readonly seconds: number;
  /** Why it ran (the reasons of its last event that was not a hit). */
  readonly reasons: readonly Reason[];
  /** The error of its last failed event. */
  readonly error?: string;
}

/**
 * One node.
 *
 * @example
 * const n: GraphNode = { id: "s2", kind: "step", label: "runEpochs", position: 2, function: "runEpochs" };
 */
export interface GraphNode {
  readonly id: string;
  readonly kind: NodeKind;
  /** What to print: a function's name, `step 3` for an anonymous one, a memory key, a stage's name. */
  readonly label: string;
  /** The cluster (sub-pipeline, or pipeline of a fork branch) the node belongs to. */
  readonly cluster?: string;
  /** 1-based position among its pipeline's steps (steps and combinators). */
  readonly position?: number;
  /** The function's own name, when it has one. */
  readonly function?: string;
  /** Whether the step always returns a Promise (an async function, or an async pipeline). */
  readonly async?: boolean;
  /** A store slot's memory key. */
  readonly key?: string;
  /** A stage's description. */
  readonly stage?: StageInfo;
  /** A DAG stage with more than one predecessor. */
  readonly fanIn?: boolean;
  /** The input node of a DAG: the input names its stages read from the DAG's inputs (when known). */
  readonly names?: readonly string[];
  /** Set by `withRun`, on stage nodes. */
  readonly run?: NodeRun;
}

/**
 * What an edge is: `flow` (the current value, or a DAG stage's outputs, going on), `store` (the
 * current value kept in a memory slot), `ingest` (a memory slot handed to a step's parameter),
 * `input` (a DAG's inputs read by a stage), `output` (a DAG's terminal stage's outputs).
 */
export type EdgeKind = "flow" | "store" | "ingest" | "input" | "output";

/**
 * One edge.
 *
 * @example
 * const e: GraphEdge = { from: "store:doubled", to: "s3", kind: "ingest", label: "after: parameter 2 (d)", key: "doubled", side: "after", parameter: 2, parameterName: "d" };
 */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  /** What to print on the edge: a tuple index, the ingest's side and parameter, the names that flow. */
  readonly label?: string;
  /** Ingest edges: the memory key, the side (`ingestBefore` / `ingestAfter`), the 1-based parameter it fills and that parameter's name where the source shows it. */
  readonly key?: string;
  readonly side?: "before" | "after";
  readonly parameter?: number;
  readonly parameterName?: string;
  /** Flow edges out of a fork branch: the element of the tuple it makes (0-based, nested: `[1, 0]`). */
  readonly index?: readonly number[];
  /** DAG edges: the output (or input) names that flow along it, when known. */
  readonly names?: readonly string[];
}

/**
 * A group of nodes: a sub-pipeline (a built pipeline used as a step, with its own memory), or the
 * pipeline of a fork branch.
 */
export interface GraphCluster {
  readonly id: string;
  readonly label: string;
  /** The enclosing cluster, for nested sub-pipelines. */
  readonly parent?: string;
}

/**
 * A pipe's or a DAG's graph.
 *
 * @example
 * const g: PipelineGraph = describe(pipe<number>().step(double));
 * g.nodes.map((n) => n.label); // ["input", "double", "output"]
 */
export interface PipelineGraph {
  readonly schemaVersion: typeof GRAPH_SCHEMA_VERSION;
  readonly kind: "pipe" | "dag";
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly clusters: readonly GraphCluster[];
  /** Set by `withRun`: the run whose statuses the stage nodes carry. */
  readonly run?: string;
}
