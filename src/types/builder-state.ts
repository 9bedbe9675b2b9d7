import type { AsyncMode, JoinMode, ModeOf, ResultIn } from "./async.js";
import type { Assess, Incomplete, Wrong, Verdict } from "./step-fit.js";
import type { PipeTypeError } from "./type-error.js";
import type { AddKeyText } from "./memory.js";
import type { FirstParam } from "./tuple.js";
import type { Pipe } from "./builder.js";
import { ALLOW_INGEST } from "../runtime/allow-ingest.js";

/**
 * The state a pipe builder carries in its type parameters, and the type-level steps between states.
 *
 * A builder's type is `Pipe<In, Cur, Mem, Keys, Mode, Last, Issue>` (which is a `PipeBuilder`, or an
 * `IncompletePipe` when `Issue` is a message):
 * - `In`: the pipeline's input (`InferInput` until the first step when `pipe()` has no type argument);
 * - `Cur`: the current value, already awaited;
 * - `Mem`, `Keys`: the memory record and its printable key list (memory.ts);
 * - `Mode`: whether the result is a Promise (async.ts);
 * - `Last`: the step the next `.ingestBefore/.ingestAfter` modifies (`LastStep`), or `NoStep`;
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
export type CheckedCur<Cur> = IsInferInput<Cur> extends true ? never : Cur;

/**
 * The step the next ingest modifies: its parameters `P`, the value it receives (`Prev`), the types
 * of the values ingested before and after it (`B`, `A`, plain tuples for the one-check fast path
 * in `Assess`) and their keys (`BK`, `AK`, for messages). `Allow` is `true` or the reason it
 * cannot ingest.
 *
 * The common states have interfaces of their own (`Step`, `NoStep`, `CombinatorStep`), with fewer
 * type arguments: the editor prints a builder's type with its type arguments, and
 * `Step<[x: number], number, true>` reads better than seven of them, four empty.
 */
export interface LastStep<
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
/** Any step state: the constraint of a builder's `Last`. */
export type AnyStep = LastStep<readonly unknown[], unknown, readonly unknown[], readonly unknown[], readonly string[], readonly string[], string | true>;
/** A step just added by `.step(f)`, before any ingest. */
export interface Step<P extends readonly unknown[], Prev, Allow extends string | true> extends LastStep<P, Prev, [], [], [], [], Allow> {}
/** Why there is no step to ingest into: right after `pipe()` or `.store(k)`. */
export type NoStepReason = "no step";
/** No step to ingest into. */
export interface NoStep extends LastStep<[], unknown, [], [], [], [], NoStepReason> {}

/** An operation that is not a `.step(f)` (fork, merge, to, flatten): it cannot ingest. */
export interface CombinatorStep<Prev, Why extends string> extends LastStep<[], Prev, [], [], [], [], Why> {}

/** The message an incomplete step leaves for the next call (never when it is complete). */
export type IssueOf<V extends Verdict> = V extends Incomplete<infer M> ? M : never;


/**
 * The constraint of `.step`'s parameter list `P`, which checks it (F-bounded: `P extends
 * StepParams<P, Cur>`).
 *
 * Why a constraint and not a conditional parameter type (`f: ok ? (...args: P) => R : Error`):
 * TypeScript instantiates a *generic* function argument (`identity`, `<T>(x: T) => { value: T }`)
 * for the call only when the parameter type is a plain function type; behind a conditional or an
 * intersection it erases the function's type parameters to `unknown`. So `f` is declared
 * `(...args: P) => R`, and the check moves into `P`'s constraint: when the step does not fit,
 * the constraint is a parameter list whose first element is the message (`ErrorParam`), the
 * inferred `P` fails it, TypeScript falls back to the constraint, and the error lands on `f`:
 *
 * ```text
 * Argument of type '(s: string) => string' is not assignable to parameter of type
 *   '(args_0: PipeTypeError<"this step's parameter 1 expects string, but the current value … is number">, ...args: unknown[]) => …'
 * ```
 *
 * At `.step(f)` the layout is only `[current]`, so a wrong step is always wrong at parameter 1.
 */
export type StepParams<P extends readonly unknown[], Cur> =
  // the error tuple is written out (not `ErrorParams<M, P>`) so that TypeScript prints it, not the alias
  Assess<P, [], CheckedCur<Cur>, [], [], [], ""> extends Wrong<infer M>
    ? [ErrorParam<M, P extends readonly [(infer H)?, ...unknown[]] ? H : unknown>, ...unknown[]]
    : readonly unknown[];

/**
 * A parameter list that no step with the first parameter `P[0]` accepts, carrying the message.
 * The message type must not be assignable to `P[0]` (else the fallback would be accepted): a
 * `PipeTypeError` is an object, so where `P[0]` takes any object (`object`, `{}`) the message is
 * given as a string literal instead, and where it takes both, as `unknown` (the error then shows
 * TypeScript's own wording: only for a parameter of type `{}` given `null` or `undefined`).
 */
export type ErrorParam<M extends string, H> = [PipeTypeError<M>] extends [H] ? ([`✖ ${M}`] extends [H] ? unknown : `✖ ${M}`) : PipeTypeError<M>;

/** Why a step made by `memorizable(f, { allowIngest: false })` cannot ingest. */
export type NotIngestable = "this step was marked memorizable(f, { allowIngest: false })";

/**
 * `memorizable(f, { allowIngest: false })` marks the *parameter list* of the function it returns
 * (an optional symbol property on the tuple: calls are unaffected), because `.step` sees only
 * `f`'s parameters and result (see `StepParams`). This reads the mark back.
 */
export type AllowOf<P extends readonly unknown[]> = P extends { readonly [ALLOW_INGEST]?: infer A }
  ? [A] extends [false]
    ? NotIngestable
    : true
  : true;

/** The marked parameter list of a `memorizable(f, { allowIngest: false })` step. */
export type NotIngestableParams<P extends readonly unknown[]> = P & { readonly [ALLOW_INGEST]?: false };

/** The builder after `.step(f)`. */
export type AfterStep<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, P extends readonly unknown[], R> = AfterStepOf<
  IsInferInput<In> extends true ? FirstParam<P> : In,
  Awaited<R>,
  Mem,
  Keys,
  JoinMode<Mode, ModeOf<R>>,
  P,
  CheckedCur<Cur>,
  Assess<P, [], CheckedCur<Cur>, [], [], [], "">
>;

type AfterStepOf<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, P extends readonly unknown[], Prev, V extends Verdict> = Pipe<
  In,
  Cur,
  Mem,
  Keys,
  Mode,
  // A wrong step was reported on `f`: further ingests into it are not checked again (no cascade).
  Step<P, Prev, V extends Wrong<string> ? Errored : AllowOf<P>>,
  IssueOf<V>
>;

/** Marks a step already reported as wrong: later ingests into it are accepted without a second error. */
export type Errored = "errored";

/** The builder after `.store(key)`. */
export type AfterStore<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, K extends string> = Pipe<
  In,
  Cur,
  // written out, not through the StoreKey alias: the editor then shows the memory as its records
  Mem & { readonly [P in K]: Cur },
  AddKeyText<Keys, K>,
  Mode,
  NoStep,
  never
>;

/**
 * The type stored under `K`. Resolved eagerly through `infer` rather than written `Mem[K]`: an
 * indexed access into the memory intersection stays unresolved inside the tuples that carry it,
 * and every later instantiation touching it would re-instantiate all the stored entries.
 */
export type Lookup<Mem, K extends string> = Mem extends { readonly [P in K]: infer V } ? V : never;

/** The function `.build()` returns: `(input: In) => Out`, `Promise<Out>` when a step is async. */
export type BuiltPipeline<In, Cur, Mode extends AsyncMode> = (input: InputOf<In>) => ResultIn<Mode, Cur>;
