import type { AnyStage, InOf, NameOf, OutOf, Simplify } from "./stage.js";
import type { PipeTypeError, Show } from "./type-error.js";

/**
 * The type-level state of `dag()`:
 * - `DagIn`: the DAG's inputs (the start stage's inputs);
 * - `Order`: the stages in the order they were added (start first): the terminal stages' outputs
 *   are merged in this order, right-most winning;
 * - `Named`: the names of the stages added so far (an edge may only start from these, and may not
 *   lead into one of them again: every stage gets all its predecessors in one `.edge`, which also
 *   makes a cycle impossible to write);
 * - `Succ`: the names of stages that have a successor (the others are terminal).
 */

/** The names of `from`, a stage or a list of stages. */
export type PredsOf<F> = F extends readonly AnyStage[] ? F : F extends AnyStage ? readonly [F] : never;

/** Merges outputs left to right; on a clash the right-most wins (as memori's fan-in). */
export type MergeOutputs<Ss extends readonly unknown[], Acc = {}> = Ss extends readonly [infer H, ...infer R]
  ? MergeOutputs<R, Omit<Acc, keyof OutOf<H>> & OutOf<H>>
  : Simplify<Acc>;

/** What `to` receives over an edge: the DAG's inputs, overridden by the predecessors' outputs. */
export type Available<DagIn, F> = Simplify<Omit<DagIn, keyof MergeOutputs<PredsOf<F>>> & MergeOutputs<PredsOf<F>>>;

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/** `'s1', 's2'`: the predecessors' names, joined (a union would split the message in two). */
type PredNames<F> = JoinNames<PredsOf<F>>;
type JoinNames<Ss extends readonly unknown[]> = Ss extends readonly [infer H]
  ? `'${NameOf<H> & string}'`
  : Ss extends readonly [infer H, ...infer R]
    ? `'${NameOf<H> & string}', ${JoinNames<R>}`
    : "";

/**
 * `never` when `to` can run on what the edge gives it, else the message: a required input no
 * predecessor nor the DAG's inputs provide, or one provided with a type it does not accept.
 */
export type EdgeProblem<T extends AnyStage, F, DagIn> = Exclude<RequiredKeys<InOf<T>>, keyof Available<DagIn, F>> extends infer Missing
  ? [Missing] extends [never]
    ? MismatchedInput<T, Available<DagIn, F>>
    : `stage '${NameOf<T>}' needs input '${Missing & string}', which neither its predecessors (${PredNames<F>}) nor the DAG's inputs provide`
  : never;

type MismatchedInput<T extends AnyStage, Av> = {
  [K in keyof InOf<T> & keyof Av]: [Av[K]] extends [InOf<T>[K]]
    ? never
    : `stage '${NameOf<T>}' needs input '${K & string}' as ${Show<InOf<T>[K]>}, but it arrives as ${Show<Av[K]>}`;
}[keyof InOf<T> & keyof Av];

/** What `.edge(from, …)` accepts: stages already in the DAG. */
export type FromArg<F, Named extends string> = [F] extends [never]
  ? F // inference guard: see IngestBeforeArg in ingest.ts
  : Exclude<NameOf<PredsOf<F>[number]>, Named> extends infer Out
    ? [Out] extends [never]
      ? F
      : PipeTypeError<`stage '${Out & string}' is not in this DAG yet: add it with .start(…) or as the target of an earlier .edge(…, stage)`>
    : never;

/** What `.edge(…, to)` accepts: a stage not in the DAG yet that can run on what the edge gives it. */
export type ToArg<T extends AnyStage, F, DagIn, Named extends string> = [T] extends [never]
  ? T
  : NameOf<T> extends Named
    ? PipeTypeError<`stage '${NameOf<T>}' is in this DAG already: give a stage all its predecessors in one .edge([a, b], stage)`>
    : [EdgeProblem<T, F, DagIn>] extends [never]
      ? T
      : PipeTypeError<EdgeProblem<T, F, DagIn>>;

/** The outputs of the stages without successors, merged in the order they were added. */
export type TerminalOutputs<Order extends readonly AnyStage[], Succ extends string> = MergeOutputs<TerminalsOf<Order, Succ>>;
type TerminalsOf<Order extends readonly AnyStage[], Succ extends string> = Order extends readonly [infer H extends AnyStage, ...infer R extends readonly AnyStage[]]
  ? NameOf<H> extends Succ
    ? TerminalsOf<R, Succ>
    : [H, ...TerminalsOf<R, Succ>]
  : [];
