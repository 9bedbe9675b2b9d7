import type { DagLink, DagOutputsEntry, FromArg, PredNames, TerminalOutputs, ToArg } from "../types/dag.js";
import type { AnyStage, InOf, Simplify } from "../types/stage.js";
import type { PipeTypeError } from "../types/type-error.js";
import { MemopipeError } from "../runtime/errors.js";
import { runStage, runUncached, specOf, stagePart, type StageSpec } from "./stage.js";
import { runTasks, taskGraph, type TaskGraph } from "../runtime/dag-scheduler.js";
import type { DagPlan, DagRunOptions, GivenInputs } from "./dag-remote.js";
import { describePart } from "../runtime/graph/describe.js";
import type { PipelineGraph } from "../runtime/graph/model.js";
import { PART, type Part } from "../runtime/graph/parts.js";

/**
 * A stage of a DAG failed. `stage` names it; the original error is `cause`.
 *
 * @example
 * try { await g.run(inputs); } catch (e) { if (e instanceof StageRunError) console.error(e.stage, e.cause); }
 */
export class StageRunError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_STAGE_FAILED";
  constructor(
    readonly stage: string,
    cause: unknown,
  ) {
    super(`stage '${stage}' failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * A DAG being defined. See types/dag.ts for what each type parameter holds (and why `.edge` reads
 * `Outs` from its receiver: so that its type cost does not grow with the DAG).
 */
export interface Dag<DagIn, Outs, Order, Named extends string, Succ extends string> {
  /**
   * Phantom: the outputs of the stages so far, by name, for the types only; never set at run time
   * (reading it gives `undefined`). Required, not optional, on purpose: see "the phantom is not
   * optional" in types/dag.ts.
   */
  readonly __outs: Outs;

  /**
   * The first stage: it takes the DAG's inputs (which later stages may read too).
   *
   * @example
   * dag().start(load).edge(load, clean)
   */
  start: [Named] extends [never]
    ? <S extends AnyStage>(first: S) => Dag<Simplify<DagIn & InOf<S>>, DagOutputsEntry<S>, DagLink<S["stageName"], undefined>, S["stageName"], never>
    : PipeTypeError<"this DAG has its start stage already">;

  /**
   * Adds `to` with its predecessors `from` (one stage, or a list for a fan-in: `to` receives their
   * outputs merged, the right-most winning on a clash, over the DAG's inputs). Fails to compile,
   * naming the stage and the key, when `to` needs an input that neither its predecessors nor the
   * DAG's inputs provide, or when a predecessor is not in the DAG yet.
   *
   * @example
   * dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3)
   */
  edge<const F extends AnyStage | readonly AnyStage[], T extends AnyStage, M>(
    this: { readonly __outs: M },
    from: FromArg<F, Named>,
    to: ToArg<T, F, DagIn, Named>,
  ): Dag<DagIn, M & DagOutputsEntry<T>, DagLink<T["stageName"], Order>, Named | T["stageName"], Succ | PredNames<F>>;

  /**
   * The DAG as data: its inputs, stages (with their cache, inputs and outputs), edges (labelled
   * with the names that flow, where the stages' sources show them), fan-ins and outputs. What
   * `memopipe graph` draws.
   *
   * @example
   * dag().start(load).edge(load, clean).describe().nodes.map((n) => n.label); // ["inputs", "load", "clean", "outputs"]
   */
  describe(): PipelineGraph;

  /**
   * Runs the DAG: every stage once, as soon as its predecessors are done (independent branches
   * concurrently). Resolves to the outputs of the terminal stages (those without successors),
   * merged in the order they were added. With `{ runner }` (a Runner with `backend: "bullmq"`),
   * the cached stages run on `memopipe worker` processes, with the same results (dag-remote.ts).
   *
   * @example
   * await g.run({ subject: "sub-01" }, { runner: new Runner({ backend: "bullmq", queue: "dags" }) });
   */
  run(inputs: DagIn, options?: DagRunOptions): Promise<TerminalOutputs<Order, Succ, Outs>>;
}

/**
 * The stages of a DAG and their predecessors, shared by the builders made from one another: a
 * builder owns the first `size` entries. `.edge` on the newest builder appends in place (O(1));
 * `.edge` on an older one (a DAG extended two ways from one prefix) copies its prefix first.
 */
interface Stages {
  readonly stages: AnyStage[];
  readonly preds: (readonly AnyStage[])[];
  /** Where each stage sits: a builder has a stage when its index is below the builder's size. */
  readonly index: Map<AnyStage, number>;
}

/** What `run` needs, made once per builder (linear in the stages and edges). */
export interface DagRunPlan extends DagPlan {
  readonly graph: TaskGraph;
  /** The predecessors' names of each stage, for its events (`RunPlace.predecessors`). */
  readonly predNames: readonly (readonly string[])[];
}

// The class is made inside a pure-annotated function call: its `[PART]` member has a computed key
// (an imported symbol), and a bundler must assume that evaluating such a key has effects, so a
// plain `class` statement would stay in every bundle, even one of a program that only builds pipes
// (and through it the stage cache: issue 11.2). `/* @__PURE__ */` tells esbuild, Rollup and terser
// that the call may be dropped when its result is unused.
const DagImpl = /* @__PURE__ */ (() =>
  class DagImpl {
    #plan: DagRunPlan | undefined;

    constructor(
      private readonly all: Stages | undefined,
      private readonly size: number,
    ) {}

    private has(stage: AnyStage): boolean {
      const i = this.all?.index.get(stage);
      return i !== undefined && i < this.size;
    }

    start(first: unknown): DagImpl {
      if (this.size > 0) throw new MemopipeError("this DAG has its start stage already");
      specOf(first);
      return new DagImpl({ stages: [first as AnyStage], preds: [[]], index: new Map([[first as AnyStage, 0]]) }, 1);
    }

    edge(from: unknown, to: unknown): DagImpl {
      const all = this.all;
      if (all === undefined) throw new MemopipeError("call .start(stage) before .edge(...)");
      const preds = (Array.isArray(from) ? [...from] : [from]) as AnyStage[];
      if (preds.length === 0) throw new MemopipeError(".edge(from, to): from names no stage");
      for (const p of preds) {
        if (!this.has(p)) {
          throw new MemopipeError(`stage '${specOf(p).name}' is not in this DAG yet: add it with .start(…) or as the target of an earlier .edge(…, stage)`);
        }
      }
      const target = to as AnyStage;
      specOf(target);
      if (this.has(target)) {
        throw new MemopipeError(`stage '${specOf(target).name}' is in this DAG already: give a stage all its predecessors in one .edge([a, b], stage)`);
      }
      const into: Stages =
        all.stages.length === this.size
          ? all
          : { stages: all.stages.slice(0, this.size), preds: all.preds.slice(0, this.size), index: new Map(all.stages.slice(0, this.size).map((s, i) => [s, i])) };
      into.index.set(target, into.stages.length);
      into.stages.push(target);
      into.preds.push(preds);
      return new DagImpl(into, this.size + 1);
    }

    /** The stages in the order they were added, with their predecessors' indices, and the terminal ones. */
    plan(): DagRunPlan {
      if (this.#plan) return this.#plan;
      const { stages, preds, index } = this.all!;
      const size = this.size;
      const nodes: { spec: StageSpec; preds: number[] }[] = [];
      const hasSucc = new Uint8Array(size);
      for (let i = 0; i < size; i++) {
        const ps = preds[i]!.map((p) => index.get(p)!);
        for (const p of ps) hasSucc[p] = 1;
        nodes.push({ spec: specOf(stages[i]), preds: ps });
      }
      const terminal: number[] = [];
      for (let i = 0; i < size; i++) if (hasSucc[i] === 0) terminal.push(i);
      this.#plan = {
        nodes,
        terminal,
        graph: taskGraph(nodes.map((n) => n.preds)),
        predNames: nodes.map((n) => n.preds.map((p) => nodes[p]!.spec.name)),
      };
      return this.#plan;
    }

    /**
     * The DAG as `describe()` sees it: its stages in the order they were added, with their
     * predecessors' indices. Class members, not properties attached by a top-level statement: a
     * statement with effects would keep this class (and through it the stage cache) in every
     * bundle, even one of a program that only builds pipes (issue 11.2).
     */
    [PART](): Part {
      if (this.size === 0) return { kind: "dag", stages: [] };
      return { kind: "dag", stages: this.plan().nodes.map((n) => ({ stage: stagePart(n.spec), preds: n.preds })) };
    }

    describe(): PipelineGraph {
      return describePart(this[PART]());
    }

    /**
     * Every stage runs once its predecessors are done (runtime/dag-scheduler.ts): an uncached stage
     * whose function is synchronous ends without a promise, the others overlap. A stage receives
     * only the inputs its function reads when its source shows them (`inputNames`), so an
     * unrelated DAG input does not change its cache key.
     */
    async run(inputs: unknown, options?: DagRunOptions): Promise<Record<string, unknown>> {
      if (this.size === 0) throw new MemopipeError("this DAG has no stage: call .start(stage)");
      const plan = this.plan();
      const { nodes } = plan;
      const dagInputs = { ...(inputs as Record<string, unknown>) };
      if (options !== undefined) {
        // On a Runner's workers (dag-remote.ts); `undefined`: this Runner runs DAGs here
        const remote = await import("./dag-remote.js");
        const ran = await remote.runDagWith(plan, dagInputs, options, givenInputs, (stage, cause) => new StageRunError(stage, cause), graphId(nodes[0]!.spec.name));
        if (ran) return ran;
      }
      let graph: string | undefined; // the run's id, made when the first cached stage runs
      const results = await runTasks<Record<string, unknown>>(
        plan.graph,
        (i, done) => {
          const { spec, preds } = nodes[i]!;
          const given = inputsFrom(spec, dagInputs, preds, done);
          if (!spec.cache) return runUncached(spec, given);
          return runStage(spec, given, { graph: (graph ??= graphId(nodes[0]!.spec.name)), predecessors: plan.predNames[i] });
        },
        (i, error) => (error instanceof StageRunError ? error : new StageRunError(nodes[i]!.spec.name, error)),
      );
      const out: Record<string, unknown> = {};
      for (const i of plan.terminal) Object.assign(out, results[i]);
      return out;
    }
  })();
type DagImpl = InstanceType<typeof DagImpl>;

let graphRuns = 0;
/**
 * The id of one DAG run, in every event its stages record (`graph`), beside the stages each waited
 * for (`predecessors`): `load#2026-12-02T14:00:00.000Z#1` (the start stage, when the run began, and
 * a count of this process's DAG runs, so two runs in the same millisecond differ).
 */
function graphId(start: string): string {
  return `${start}#${new Date().toISOString()}#${++graphRuns}`;
}

/**
 * What a stage receives (a new object, the stage's own): the DAG's inputs overridden by its
 * predecessors' outputs, the right-most predecessor winning; only the names its function reads
 * when its source shows them. `results[p]` holds predecessor `p`'s outputs.
 */
function inputsFrom(spec: StageSpec, dagInputs: Record<string, unknown>, preds: readonly number[], results: readonly Record<string, unknown>[]): Record<string, unknown> {
  const names = spec.inputNames;
  if (names === undefined) {
    const all: Record<string, unknown> = { ...dagInputs };
    for (let k = 0; k < preds.length; k++) Object.assign(all, results[preds[k]!]);
    return all;
  }
  const own: Record<string, unknown> = {};
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    let k = preds.length - 1;
    while (k >= 0 && !Object.hasOwn(results[preds[k]!]!, name)) k--;
    if (k >= 0) own[name] = results[preds[k]!]![name];
    else if (Object.hasOwn(dagInputs, name)) own[name] = dagInputs[name];
  }
  return own;
}

/**
 * What a stage receives, from its predecessors' outputs in order (the rule of `inputsFrom`, for
 * the bullmq Runner's scheduler in dag-remote.ts).
 *
 * @example
 * givenInputs(specOf(s3), { subject: "x" }, [s1Outputs, s2Outputs]);
 */
export const givenInputs: GivenInputs = (spec, dagInputs, outs) =>
  inputsFrom(
    spec,
    dagInputs,
    outs.map((_, k) => k),
    outs,
  );

/**
 * Starts a DAG of stages (memori's `Pipeline`, with fan-in and concurrency). The DAG's inputs are
 * its start stage's inputs, plus any given as the type argument: inputs that later stages read but
 * the start stage does not (`dag<{ subject: string }>()`).
 *
 * @example
 * const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
 * const out = await g.run({ subject: "sub-01" });
 */
export function dag<Extra extends object = {}>(): Dag<Extra, {}, undefined, never, never> {
  return new DagImpl(undefined, 0) as never;
}
