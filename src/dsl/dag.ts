import type { FromArg, PredsOf, TerminalOutputs, ToArg } from "../types/dag.js";
import type { AnyStage, InOf, NameOf, Simplify } from "../types/stage.js";
import type { PipeTypeError } from "../types/type-error.js";
import { MemopipeError } from "../runtime/errors.js";
import { runStage, specOf, stagePart } from "./stage.js";
import type { RunPlace } from "../runtime/stage-cache.js";
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

/** A DAG being defined. See types/dag.ts for what each type parameter holds. */
export interface Dag<DagIn, Order extends readonly AnyStage[], Named extends string, Succ extends string> {
  /**
   * The first stage: it takes the DAG's inputs (which later stages may read too).
   *
   * @example
   * dag().start(load).edge(load, clean)
   */
  start: Order extends readonly []
    ? <S extends AnyStage>(first: S) => Dag<Simplify<DagIn & InOf<S>>, [S], NameOf<S>, never>
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
  edge<const F extends AnyStage | readonly AnyStage[], T extends AnyStage>(
    from: FromArg<F, Named>,
    to: ToArg<T, F, DagIn, Named>,
  ): Dag<DagIn, [...Order, T], Named | NameOf<T>, Succ | NameOf<PredsOf<F>[number]>>;

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
   * merged in the order they were added.
   */
  run(inputs: DagIn): Promise<TerminalOutputs<Order, Succ>>;
}

interface Node {
  readonly stage: AnyStage;
  readonly preds: readonly AnyStage[];
}

// The class is made inside a pure-annotated function call: its `[PART]` member has a computed key
// (an imported symbol), and a bundler must assume that evaluating such a key has effects, so a
// plain `class` statement would stay in every bundle, even one of a program that only builds pipes
// (and through it the stage cache: issue 11.2). `/* @__PURE__ */` tells esbuild, Rollup and terser
// that the call may be dropped when its result is unused.
const DagImpl = /* @__PURE__ */ (() =>
  class DagImpl {
    constructor(private readonly nodes: readonly Node[]) {}

    start(first: unknown): DagImpl {
      if (this.nodes.length > 0) throw new MemopipeError("this DAG has its start stage already");
      specOf(first);
      return new DagImpl([{ stage: first as AnyStage, preds: [] }]);
    }

    edge(from: unknown, to: unknown): DagImpl {
      if (this.nodes.length === 0) throw new MemopipeError("call .start(stage) before .edge(...)");
      const preds = (Array.isArray(from) ? from : [from]) as AnyStage[];
      if (preds.length === 0) throw new MemopipeError(".edge(from, to): from names no stage");
      for (const p of preds) {
        if (!this.nodes.some((n) => n.stage === p)) {
          throw new MemopipeError(`stage '${specOf(p).name}' is not in this DAG yet: add it with .start(…) or as the target of an earlier .edge(…, stage)`);
        }
      }
      const target = to as AnyStage;
      specOf(target);
      if (this.nodes.some((n) => n.stage === target)) {
        throw new MemopipeError(`stage '${specOf(target).name}' is in this DAG already: give a stage all its predecessors in one .edge([a, b], stage)`);
      }
      return new DagImpl([...this.nodes, { stage: target, preds }]);
    }

    /**
     * The DAG as `describe()` sees it: its stages in the order they were added, with their
     * predecessors' indices. Class members, not properties attached by a top-level statement: a
     * statement with effects would keep this class (and through it the stage cache) in every
     * bundle, even one of a program that only builds pipes (issue 11.2).
     */
    [PART](): Part {
      const nodes = this.nodes;
      return { kind: "dag", stages: nodes.map((n) => ({ stage: stagePart(specOf(n.stage)), preds: n.preds.map((p) => nodes.findIndex((m) => m.stage === p)) })) };
    }

    describe(): PipelineGraph {
      return describePart(this[PART]());
    }

    /**
     * Each stage's run is a promise that first awaits its predecessors' promises, so the stages run
     * in dependency order and independent branches overlap (memori ran them in list order). A stage
     * receives only the inputs its function reads when its source shows them (`inputNames`), so an
     * unrelated DAG input does not change its cache key.
     */
    async run(inputs: unknown): Promise<Record<string, unknown>> {
      if (this.nodes.length === 0) throw new MemopipeError("this DAG has no stage: call .start(stage)");
      const dagInputs = { ...(inputs as Record<string, unknown>) };
      const graph = graphId(specOf(this.nodes[0]!.stage).name);
      const results = new Map<AnyStage, Promise<Record<string, unknown>>>();
      for (const node of this.nodes) {
        const place: RunPlace = { graph, predecessors: node.preds.map((p) => specOf(p).name) };
        const predResults = node.preds.map((p) => results.get(p)!);
        results.set(
          node.stage,
          Promise.all(predResults).then(async (outs) => {
            const available = Object.assign({}, dagInputs, ...outs) as Record<string, unknown>;
            const spec = specOf(node.stage);
            const given = spec.inputNames ? pick(available, spec.inputNames) : available;
            try {
              return await runStage(spec, given, place);
            } catch (error) {
              throw error instanceof StageRunError ? error : new StageRunError(spec.name, error);
            }
          }),
        );
      }
      // no unhandled rejections: every stage promise is awaited here, the first failure is reported
      const all = await Promise.allSettled(results.values());
      const failed = all.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      const hasSucc = new Set(this.nodes.flatMap((n) => n.preds));
      const terminal = this.nodes.filter((n) => !hasSucc.has(n.stage));
      const outs = await Promise.all(terminal.map((n) => results.get(n.stage)!));
      return Object.assign({}, ...outs) as Record<string, unknown>;
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

function pick(from: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (n in from) out[n] = from[n];
  return out;
}

/**
 * Starts a DAG of stages (memori's `Pipeline`, with fan-in and concurrency). The DAG's inputs are
 * its start stage's inputs, plus any given as the type argument: inputs that later stages read but
 * the start stage does not (`dag<{ subject: string }>()`).
 *
 * @example
 * const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
 * const out = await g.run({ subject: "sub-01" });
 */
export function dag<Extra extends object = {}>(): Dag<Extra, [], never, never> {
  return new DagImpl([]) as never;
}
