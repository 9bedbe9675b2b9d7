import type { AsyncMode, JoinMode, ModeOf, ModeOfAll, ResultIn } from "./async.js";
import type { Assess, Incomplete, Wrong, Verdict } from "./step-fit.js";
import type { PipeTypeError, Show } from "./type-error.js";
import type { StoreKey, AddKeyText, StoredKeysText } from "./memory.js";
import type { AwaitedAll, FirstParam, Flatten } from "./tuple.js";
import type { Pipe } from "./builder.js";
import { ALLOW_INGEST } from "../runtime/allow-ingest.js";

/**
 * The state a pipe builder carries in its type parameters, and the type-level steps between states.
 *
 * A builder's type is `Pipe<In, Cur, Mem, Keys, Mode, Last, Issue>`:
 * - `In`: the pipeline's input (`InferInput` until the first step when `pipe()` has no type argument);
 * - `Cur`: the current value, already awaited;
 * - `Mem`, `Keys`: the memory record and its printable key list (memory.ts);
 * - `Mode`: whether the result is a Promise (async.ts);
 * - `Last`: the step the next `.ingestBefore/.ingestAfter` modifies (`StepInfo`), or `NoStep`;
 * - `Issue`: `never`, or the message saying why the last step cannot run yet (step-fit.ts).
 *
 * Every method returns a *new* instantiation with one or two parameters replaced (Kysely, tRPC):
 * nothing is recomputed from the start of the chain, so each call costs the same whatever the
 * pipeline's length. Nothing is flattened until `.build()`, whose type is a plain function.
 */

declare const inferInput: unique symbol;
/** Marks a pipeline created by `pipe()` without a type argument: its first step fixes the input type. */
export type InferInput = typeof inferInput;

/** `true` for the `InferInput` marker (and not for `any`, which is assignable to everything). */
export type IsInferInput<T> = 0 extends 1 & T ? false : [T] extends [InferInput] ? true : false;

/** What a step sees as the current value: `unknown` before the first step of an untyped `pipe()`. */
export type CurArg<Cur> = IsInferInput<Cur> extends true ? unknown : Cur;

/** The pipeline input type as the built function declares it. */
export type InputOf<In> = IsInferInput<In> extends true ? unknown : In;

/** The value the fit checks compare: before the first step of `pipe()` anything fits (`never`). */
type CheckedCur<Cur> = IsInferInput<Cur> extends true ? never : Cur;

/**
 * The step the next ingest modifies: its parameters `P`, the value it receives (`Prev`), the types
 * of the values ingested before and after it (`B`, `A`, plain tuples for the one-check fast path
 * in `Assess`) and their keys (`BK`, `AK`, for messages). `Allow` is `true` or the reason it
 * cannot ingest.
 */
export interface StepInfo<
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
> {
  readonly params: P;
  readonly prev: Prev;
  readonly before: B;
  readonly after: A;
  readonly beforeKeys: BK;
  readonly afterKeys: AK;
  readonly allow: Allow;
}
/** No step to ingest into: right after `pipe()` or `.store(k)`. */
export type NoStep = "no step";

/** The message an incomplete step leaves for the next call (never when it is complete). */
export type IssueOf<V extends Verdict> = V extends Incomplete<infer M> ? M : never;

/** What `.step(f)` accepts: `f` itself, or the reason it cannot be the next step. */
export type StepArg<P extends readonly unknown[], R, A extends boolean, Cur> =
  Assess<P, [], CheckedCur<Cur>, [], [], [], ""> extends Wrong<infer M>
    ? PipeTypeError<M>
    : ((...args: P) => R) & AllowIngestTag<A>;

/** Why a step made by `memorizable(f, { allowIngest: false })` cannot ingest. */
export type NotIngestable = "this step was marked memorizable(f, { allowIngest: false })";

/** The builder after `.step(f)`. */
export type AfterStep<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, P extends readonly unknown[], R, A extends boolean> =
  Pipe<
    IsInferInput<In> extends true ? FirstParam<P> : In,
    Awaited<R>,
    Mem,
    Keys,
    JoinMode<Mode, ModeOf<R>>,
    StepInfo<P, CheckedCur<Cur>, [], [], [], [], A extends false ? NotIngestable : true>,
    IssueOf<Assess<P, [], CheckedCur<Cur>, [], [], [], "">>
  >;

/** The builder after `.store(key)`. */
export type AfterStore<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, K extends string> = Pipe<
  In,
  Cur,
  StoreKey<Mem, K, Cur>,
  AddKeyText<Keys, K>,
  Mode,
  NoStep,
  never
>;

type Side = "Before" | "After";
/** `T` with `X` appended when the ingest is on side `Here`. */
type Append<S extends Side, Here extends Side, T extends readonly unknown[], X> = S extends Here ? [...T, X] : T;

/**
 * The type stored under `K`. Resolved eagerly through `infer` rather than written `Mem[K]`: an
 * indexed access into the memory intersection stays unresolved inside the tuples that carry it,
 * and every later instantiation touching it would re-instantiate all the stored entries.
 */
export type Lookup<Mem, K extends string> = Mem extends { readonly [P in K]: infer V } ? V : never;

/**
 * What `.ingestBefore(key)` / `.ingestAfter(key)` accept, checked in this order: there is a step
 * to ingest into; that step may ingest (`allowIngest`); the key was stored; the step's parameters
 * still fit once the key is added (order, count, types).
 */
export type IngestArg<S extends Side, K extends string, Mem, Keys extends string, Last> =
  // Inference guard. TypeScript infers `K` from the argument only through a branch where `K`
  // appears *naked*; the error branches only mention `K` inside a message, so without this
  // never-taken branch (a string literal is not `never`) `K` would widen to `string` and the
  // message would read "memory key '${string}'" instead of quoting the key.
  [K] extends [never]
    ? K
    : string extends K
      ? PipeTypeError<`ingest${S}(key): a memory key must be a string literal (one of the stored keys), so that it can be checked`>
      : K extends keyof Mem
        ? IngestFit<S, K, Mem, Last>
        : IngestNotStored<S, K, Mem, Keys, Last>;

/** `K` when the step can take the stored key `K`, else why not. */
type IngestFit<S extends Side, K extends string, Mem, Last> = Last extends StepInfo<
  infer P,
  infer Prev,
  infer B,
  infer A,
  infer BK,
  infer AK,
  infer Allow
>
  ? Allow extends string
    ? PipeTypeError<`${Allow}, so it cannot ingest memory key '${K}' (allowIngest: false); ingest into another step, or drop allowIngest: false`>
    : Assess<P, Append<S, "Before", B, Lookup<Mem, K>>, Prev, Append<S, "After", A, Lookup<Mem, K>>, Append<S, "Before", BK, K>, Append<S, "After", AK, K>, K> extends Wrong<infer M>
      ? PipeTypeError<M>
      : K
  : PipeTypeError<`ingest${S}('${K}') must directly follow the .step(f) it feeds (it changes how that step is called); a .store(...) or the start of the pipeline cannot ingest`>;

/** Why the key cannot be ingested when it was not stored (a missing step or `allowIngest` first). */
type IngestNotStored<S extends Side, K extends string, Mem, Keys extends string, Last> = Last extends StepInfo<
  readonly unknown[],
  unknown,
  readonly unknown[],
  readonly unknown[],
  readonly string[],
  readonly string[],
  infer Allow
>
  ? Allow extends string
    ? PipeTypeError<`${Allow}, so it cannot ingest memory key '${K}' (allowIngest: false); ingest into another step, or drop allowIngest: false`>
    : // written out, not through an alias, so that TypeScript prints the keys and the message
      | (keyof Mem & string)
      | PipeTypeError<`memory key '${K}' was never stored in this pipeline (${StoredKeysText<Keys>}); add .store('${K}') right after the step whose value you want, earlier in this pipeline (a sub-pipeline's or a parent's memory is not visible here)`>
  : PipeTypeError<`ingest${S}('${K}') must directly follow the .step(f) it feeds (it changes how that step is called); a .store(...) or the start of the pipeline cannot ingest`>;

/** The builder after `.ingestBefore(key)` / `.ingestAfter(key)`. */
export type AfterIngest<S extends Side, K extends string, In, Cur, Mem, Keys extends string, Mode extends AsyncMode, Last> =
  Last extends StepInfo<infer P, infer Prev, infer B, infer A, infer BK, infer AK, infer Allow>
    ? AfterIngestOf<In, Cur, Mem, Keys, Mode, P, Prev, Append<S, "Before", B, Lookup<Mem, K>>, Append<S, "After", A, Lookup<Mem, K>>, Append<S, "Before", BK, K>, Append<S, "After", AK, K>, Allow, K>
    : never;

type AfterIngestOf<
  In,
  Cur,
  Mem,
  Keys extends string,
  Mode extends AsyncMode,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
  K extends string,
> = Pipe<In, Cur, Mem, Keys, Mode, StepInfo<P, Prev, B, A, BK, AK, Allow>, IssueOf<Assess<P, B, Prev, A, BK, AK, K>>>;

/**
 * The results of fork branches called with a `Cur`. `.fork` infers its branches as a tuple of
 * functions (their constraint gives unannotated parameters the type `Cur`, and a mismatched branch
 * is reported on its own argument); each result is read back here.
 *
 * A *generic* branch keeps its type parameter in the inferred tuple, and `infer R` cannot
 * instantiate it (it would read `<T>(x: T) => T` as returning `unknown`). The one generic branch
 * pipelines use all the time is `identity` ("pass the value on"), so a branch of that shape is
 * recognised first: it returns `Cur`. A non-generic function is never assignable to
 * `<T>(x: T) => T`, so ordinary branches are not affected.
 */
export type BranchResults<Fs extends readonly unknown[], Cur> = {
  [I in keyof Fs]: Fs[I] extends <T>(value: T) => T ? Cur : Fs[I] extends (current: Cur) => infer R ? R : never;
};

/** The builder after `.fork(...)`. Fork results cannot ingest (as in pypely). */
export type AfterFork<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, Rs extends readonly unknown[]> = Pipe<
  IsInferInput<In> extends true ? unknown : In,
  AwaitedAll<Rs>,
  Mem,
  Keys,
  JoinMode<Mode, ModeOfAll<Rs>>,
  StepInfo<[], Cur, [], [], [], [], "fork(...) only combines its branches">,
  never
>;

/**
 * What `.merge(h)` and `.to(Ctor)` accept: the current value must be a tuple whose elements fit
 * `h`'s parameters one to one. `What` names the function in messages.
 */
export type SpreadCheck<P extends readonly unknown[], Cur, What extends string> = [Cur] extends [readonly unknown[]]
  ? SpreadVerdict<SpreadWalk<Cur, P>, What, Cur>
  : `${What} spreads a tuple (what fork returns) into its parameters, but the current value is ${Show<Cur>}, not a tuple`;

type SpreadVerdict<W, What extends string, Cur extends readonly unknown[]> = W extends "ok"
  ? never
  : W extends ["missing", infer I extends number, infer H]
    ? `${What} has more parameters than the tuple has elements: its parameter ${I} (${Show<H>}) gets no value (the tuple has ${Cur["length"]} elements)`
    : W extends ["too-many", infer N extends number]
      ? `${What} takes ${N} parameter${N extends 1 ? "" : "s"} but the tuple has ${Cur["length"]} elements: every element must have a parameter`
      : W extends ["mismatch", infer I extends number, infer T, infer H]
        ? `${What}'s parameter ${I} expects ${Show<H>}, but element ${I} of the tuple is ${Show<T>}`
        : never;

/** Element-by-element comparison of a tuple with a parameter list (as `Walk`, for spreads). */
type SpreadWalk<T extends readonly unknown[], P extends readonly unknown[], I extends readonly 0[] = []> =
  number extends T["length"]
    ? [T[number][]] extends [P]
      ? "ok"
      : ["mismatch", 1, T[number], P[0]]
    : T extends readonly [infer E, ...infer TR]
      ? P extends readonly []
        ? ["too-many", I["length"]]
        : P extends readonly [(infer H)?, ...infer PR]
          ? [E] extends [H]
            ? SpreadWalk<TR, PR, [...I, 0]>
            : ["mismatch", [...I, 0]["length"], E, H]
          : ["too-many", I["length"]]
      : [] extends P
        ? "ok"
        : P extends readonly [infer H, ...unknown[]]
          ? ["missing", [...I, 0]["length"], H]
          : "ok";

/** The parameter list `merge(h)` contextually gives an unannotated `h`: the tuple's elements. */
export type SpreadDefault<Cur> = Cur extends readonly unknown[] ? [...Cur] : [Cur];

/** The builder after a spread (`.merge(h)` or `.to(Ctor)`). */
export type AfterSpread<In, Mem, Keys extends string, Mode extends AsyncMode, Cur, R, What extends string> = Pipe<
  In,
  Awaited<R>,
  Mem,
  Keys,
  JoinMode<Mode, ModeOf<R>>,
  StepInfo<[], Cur, [], [], [], [], `${What} only spreads the tuple`>,
  never
>;

/** The builder after `.flatten()`. */
export type AfterFlatten<In, Cur, Mem, Keys extends string, Mode extends AsyncMode> = Pipe<
  In,
  Cur extends readonly unknown[] ? Flatten<Cur> : Cur,
  Mem,
  Keys,
  Mode,
  StepInfo<[], Cur, [], [], [], [], "flatten() only reshapes the tuple">,
  never
>;

/** The function `.build()` returns: `(input: In) => Out`, `Promise<Out>` when a step is async. */
export type BuiltPipeline<In, Cur, Mode extends AsyncMode> = (input: InputOf<In>) => ResultIn<Mode, Cur>;

/** Carries `memorizable`'s `allowIngest` flag in a function's type. */
export interface AllowIngestTag<A extends boolean> {
  readonly [ALLOW_INGEST]?: A;
}

