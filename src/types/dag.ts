import type { AnyStage, InOf, NameOf, OutOf, Simplify } from "./stage.js";
import type { PipeTypeError, Show } from "./type-error.js";

/**
 * The type-level state of `dag()` (the `Dag` interface in dsl/dag.ts):
 * - `DagIn`: the DAG's inputs (the start stage's inputs);
 * - `Outs`: a map from stage name to that stage's outputs, grown by one intersection member per
 *   `.edge` (`Outs & { s3: { report: string } }`);
 * - `Order`: the names of the stages, newest first, as a list of cells (`DagLink<"s3", DagLink<"s2", …>>`):
 *   the terminal stages' outputs are merged in the order the stages were added;
 * - `Named`: the names of the stages added so far (an edge may only start from these, and may not
 *   lead into one of them again: every stage gets all its predecessors in one `.edge`, which also
 *   makes a cycle impossible to write);
 * - `Succ`: the names of stages that have a successor (the others are terminal).
 *
 * ## Why each `.edge` costs the same however large the DAG
 * The previous state was an ordered tuple of the stages, `[...Order, T]`: each edge copied it, and,
 * worse, TypeScript re-instantiates a type argument that holds object types (a stage's inputs and
 * outputs are object literal types, which it must assume may contain type variables) every time a
 * generic call's result is instantiated: every `.edge` walked the whole tuple again (~1,000
 * instantiations per stage at 10 stages, ~2,700 at 100, and TS2589 past ~150). Now:
 * - `Order` holds names only (string literals): nothing in it can contain a type variable, so it
 *   is never walked;
 * - `Outs` does hold object types, so `.edge` does not mention it: it reads it from its receiver
 *   through a type parameter inferred from `this` (`this: { readonly __outs: M }`), and a type
 *   parameter is substituted as it is, not walked;
 * - the phantom is not optional: inferring `M` from an optional property infers from
 *   `Outs | undefined` to `M | undefined`, and TypeScript first pairs the members of the two unions
 *   by identity; an identity test normalizes `Outs`, an intersection that grows by one member per
 *   `.edge`, resolving all its properties from all its members. That cost no instantiations, but
 *   it made the check *time* per stage grow with the DAG (tsc 6: 3.8 s for 300 stages, 6 s for
 *   400; required: 2.0 s and 2.9 s, about linear);
 * - the checks sit behind `NoInfer`: inference into a conditional parameter type otherwise
 *   instantiates every branch of it (the error messages included) on every call;
 * - a fast check first (what arrives is the intersection of the DAG's inputs and the
 *   predecessors' outputs when no key is given twice; one assignability test), and the exact one,
 *   with its message, only when that fails;
 * - the terminal outputs are merged once, by `run`, walking `Order`.
 * Measured in bench/type-cost-dag.ts (docs/benchmarks.md).
 */

/**
 * A cell of a DAG's `Order`: a stage's name and the cells of the stages added before it.
 *
 * @example
 * type Order = DagLink<"s2", DagLink<"s1", DagLink<"s0", undefined>>>; // s0, then s1, then s2
 */
export interface DagLink<N extends string, Prev> {
  readonly name: N;
  readonly prev: Prev;
}

/** The stages of `from`, a stage or a list of stages. */
export type PredsOf<F> = F extends readonly AnyStage[] ? F : F extends AnyStage ? readonly [F] : never;

/** The names of the stages of `from`, as a union. */
export type PredNames<F> = F extends AnyStage ? F["stageName"] : F extends readonly AnyStage[] ? F[number]["stageName"] : never;

// Read a stage's types through its phantom member by indexed access: cheaper than the `infer` of
// InOf/OutOf (a conditional type per read).
type In_<S extends AnyStage> = NonNullable<S["__types"]>["in"];
type Out_<S extends AnyStage> = NonNullable<S["__types"]>["out"];

/** Merges outputs left to right; on a clash the right-most wins (as memori's fan-in). */
export type MergeOutputs<Ss extends readonly unknown[], Acc = {}> = Ss extends readonly [infer H, ...infer R]
  ? MergeOutputs<R, Omit<Acc, keyof OutOf<H>> & OutOf<H>>
  : Simplify<Acc>;

/** What `to` receives over an edge: the DAG's inputs, overridden by the predecessors' outputs. */
export type Available<DagIn, F> = Simplify<Omit<DagIn, keyof MergeOutputs<PredsOf<F>>> & MergeOutputs<PredsOf<F>>>;

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/** `'s1', 's2'`: the predecessors' names, joined (a union would split the message in two). */
type JoinedPredNames<F> = JoinNames<PredsOf<F>>;
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
    : `stage '${NameOf<T>}' needs input '${Missing & string}', which neither its predecessors (${JoinedPredNames<F>}) nor the DAG's inputs provide`
  : never;

type MismatchedInput<T extends AnyStage, Av> = {
  [K in keyof InOf<T> & keyof Av]: [Av[K]] extends [InOf<T>[K]]
    ? never
    : `stage '${NameOf<T>}' needs input '${K & string}' as ${Show<InOf<T>[K]>}, but it arrives as ${Show<Av[K]>}`;
}[keyof InOf<T> & keyof Av];

/**
 * `true` when `to` surely runs on what arrives: no key is given by two of the DAG's inputs and the
 * predecessors (then what arrives is exactly their intersection) and that intersection fits `to`'s
 * inputs. `false` means "look closer" (EdgeProblem), not "wrong": a clash resolved by the
 * right-most-wins rule, or a weak type, is judged there. Fan-ins of up to three stages take the
 * fast path; wider ones go to EdgeProblem directly.
 */
type Fits<T extends AnyStage, F, DagIn> = F extends AnyStage
  ? FitsOne<In_<T>, Out_<F>, DagIn>
  : F extends readonly [infer A extends AnyStage, infer B extends AnyStage]
    ? FitsTwo<In_<T>, Out_<A>, Out_<B>, DagIn>
    : F extends readonly [infer A extends AnyStage, infer B extends AnyStage, infer C extends AnyStage]
      ? FitsThree<In_<T>, Out_<A>, Out_<B>, Out_<C>, DagIn>
      : false;
type FitsOne<In, A, D> = [keyof A & keyof D] extends [never] ? ([A & D] extends [In] ? true : false) : false;
type FitsTwo<In, A, B, D> = [(keyof A & (keyof B | keyof D)) | (keyof B & keyof D)] extends [never] ? ([A & B & D] extends [In] ? true : false) : false;
type FitsThree<In, A, B, C, D> = [(keyof A & (keyof B | keyof C | keyof D)) | (keyof B & (keyof C | keyof D)) | (keyof C & keyof D)] extends [never]
  ? [A & B & C & D] extends [In]
    ? true
    : false
  : false;

/**
 * What `.edge(from, …)` accepts: stages already in the DAG. `[F] extends [never]` is the inference
 * guard (see IngestBeforeArg in ingest.ts); the check is behind `NoInfer` (see above).
 */
export type FromArg<F, Named extends string> = [F] extends [never] ? F : NoInfer<FromCheck<F, Named>>;
type FromCheck<F, Named extends string> = Exclude<PredNames<F>, Named> extends infer Out
  ? [Out] extends [never]
    ? F
    : PipeTypeError<`stage '${Out & string}' is not in this DAG yet: add it with .start(…) or as the target of an earlier .edge(…, stage)`>
  : never;

/** What `.edge(…, to)` accepts: a stage not in the DAG yet that can run on what the edge gives it. */
export type ToArg<T extends AnyStage, F, DagIn, Named extends string> = [T] extends [never] ? T : NoInfer<ToCheck<T, F, DagIn, Named>>;
type ToCheck<T extends AnyStage, F, DagIn, Named extends string> = T["stageName"] extends Named
  ? PipeTypeError<`stage '${NameOf<T>}' is in this DAG already: give a stage all its predecessors in one .edge([a, b], stage)`>
  : Fits<T, F, DagIn> extends true
    ? T
    : [EdgeProblem<T, F, DagIn>] extends [never]
      ? T
      : PipeTypeError<EdgeProblem<T, F, DagIn>>;

/**
 * The entry of `Outs` for the stage `T`: `{ s3: { report: string } }`. `.edge` grows `Outs` by
 * writing `M & DagOutputsEntry<T>` inline: an alias over the whole intersection would chain (each
 * `Outs` an alias of the previous one), and TypeScript walks an alias's arguments when it
 * instantiates it: TS2589 at ~100 stages.
 *
 * @example
 * type E = DagOutputsEntry<typeof s3>; // { readonly s3: { report: string } }
 */
export type DagOutputsEntry<T extends AnyStage> = { readonly [K in T["stageName"]]: Out_<T> };

/**
 * The outputs of the stages without successors, merged in the order the stages were added (the
 * right-most winning on a clash). Walks `Order` newest first, so a key a newer terminal stage gave
 * is left out of the older ones (`Omit` only when there is such a key); flattened once at the end.
 */
export type TerminalOutputs<Order, Succ extends string, Outs, Seen extends PropertyKey = never, Acc = unknown> =
  Order extends DagLink<infer N, infer Prev>
    ? N extends Succ
      ? TerminalOutputs<Prev, Succ, Outs, Seen, Acc>
      : TerminalOutputs<
          Prev,
          Succ,
          Outs,
          Seen | keyof Outs[N & keyof Outs],
          [keyof Outs[N & keyof Outs] & Seen] extends [never] ? Acc & Outs[N & keyof Outs] : Acc & Omit<Outs[N & keyof Outs], Seen>
        >
    : Simplify<Acc>;
