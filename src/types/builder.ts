import type { AsyncMode, ResultIn } from "./async.js";
import type { StoreKeyArg } from "./memory.js";
import type { PipeTypeError } from "./type-error.js";
import type { IssueText } from "./step-fit.js";
import type { AfterStep, AfterStore, AnyStep, CurArg, InputOf, IsInferInput, StepParams } from "./builder-state.js";
import type { AfterIngestAfter, AfterIngestBefore, IngestAfterArg, IngestBeforeArg } from "./ingest.js";
import type { ForkMethod, ForkMethodFirst } from "./fork.js";
import type { AfterFlatten, AfterSpread, SpreadDefault, SpreadParams } from "./spread.js";

/**
 * The type of a pipe builder. See builder-state.ts for what each type parameter holds.
 *
 * When the last step cannot run yet (`Issue` is a message: a required parameter has no value, or
 * the current value only fits further right), the builder is an `IncompletePipe`: only the ingest
 * methods can be called, and every other member is a `PipeTypeError` carrying the message, so the
 * next call reads "This expression is not callable. Type 'PipeTypeError<"…">' has no call
 * signatures" with the reason and the fix.
 */
export type Pipe<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, Last extends AnyStep, Issue> = [Issue] extends [never]
  ? PipeBuilder<In, Cur, Mem, Mode, Keys, Last>
  : IncompletePipe<In, Cur, Mem, Mode, Keys, Last, Issue>;

/*
 * Why the builder interfaces take their type arguments in this order, and the last step as one:
 * the editor shows a builder's type with all its type arguments (an interface's arguments are
 * never hidden). So the ones a reader wants come first: the input, the current value, the memory
 * and whether the result is a Promise, then the stored keys as text, then the last step as one
 * argument whose common states print short (`Step<[x: number], number, true>`, `NoStep`):
 *
 *   PipeBuilder<number, string, { readonly doubled: number; }, "sync", "'doubled'", NoStep>
 *
 * rather than twelve arguments, most of them empty tuples. The methods read the step's pieces by
 * indexed access (`Last["params"]`), which costs no more per step than passing them one by one.
 */

/** The ingest methods, available on every builder (they are what completes an incomplete step). */
export interface PipeIngest<
  In,
  Cur,
  Mem,
  Mode extends AsyncMode,
  Keys extends string,
  Last extends AnyStep,
> {
  /**
   * Passes the value stored under `key` to the step just added, *before* the current value.
   * Several ingests compose in call order: `.step(g).ingestBefore("a").ingestBefore("b")
   * .ingestAfter("c")` calls `g(a, b, current, c)`.
   *
   * Fails to compile when `key` was never stored in this pipeline, when the step was made with
   * `memorizable(f, { allowIngest: false })`, when it has no parameter left, or when the value
   * does not fit the parameter it lands in.
   *
   * @example
   * pipe<number>().store("n").step((n: number, s: string) => s.repeat(n)).ingestBefore("n")
   */
  ingestBefore<K extends string>(
    key: IngestBeforeArg<K, Mem, Keys, Last["params"], Last["prev"], Last["before"], Last["after"], Last["beforeKeys"], Last["afterKeys"], Last["allow"]>,
  ): AfterIngestBefore<K, In, Cur, Mem, Keys, Mode, Last["params"], Last["prev"], Last["before"], Last["after"], Last["beforeKeys"], Last["afterKeys"], Last["allow"]>;

  /**
   * Passes the value stored under `key` to the step just added, *after* the current value (and
   * after earlier `.ingestAfter` keys): `.step(g).ingestAfter("a").ingestAfter("b")` calls
   * `g(current, a, b)`.
   *
   * @example
   * pipe<number>()
   *   .step((x) => x * 2).store("doubled")
   *   .step((x) => String(x))
   *   .step((s: string, d: number) => s + d).ingestAfter("doubled")
   */
  ingestAfter<K extends string>(
    key: IngestAfterArg<K, Mem, Keys, Last["params"], Last["prev"], Last["before"], Last["after"], Last["beforeKeys"], Last["afterKeys"], Last["allow"]>,
  ): AfterIngestAfter<K, In, Cur, Mem, Keys, Mode, Last["params"], Last["prev"], Last["before"], Last["after"], Last["beforeKeys"], Last["afterKeys"], Last["allow"]>;
}

/** A builder whose last step can run: every method is available. */
export interface PipeBuilder<
  In,
  Cur,
  Mem,
  Mode extends AsyncMode,
  Keys extends string,
  Last extends AnyStep,
> extends PipeIngest<In, Cur, Mem, Mode, Keys, Last> {
  /**
   * Adds a step: `f(current)`, or with ingests `f(...before, current, ...after)`. The step may
   * return a Promise; later steps receive the awaited value. A built pipeline is a step too (a
   * sub-pipeline, with its own memory).
   *
   * An unannotated parameter is the current value (`.step((x) => x * 2)`); annotate the
   * parameters of a step that ingests. Fails to compile, on `f`, when the current value fits none
   * of `f`'s parameters.
   *
   * @example
   * pipe<number>().step((x) => x * 2).step(async (x) => String(x)).build(); // (input: number) => Promise<string>
   */
  step<P extends StepParams<P, Cur> = [CurArg<Cur>], R = unknown>(f: (...args: P) => R): AfterStep<In, Cur, Mem, Keys, Mode, P, R>;

  /**
   * Remembers the current value (the last step's result; right after `pipe<In>()`, the input)
   * under `key`, for a later `.ingestBefore(key)` / `.ingestAfter(key)`. The value is kept by
   * reference; each run of the built pipeline has its own memory. A key is stored once per
   * pipeline.
   *
   * @example
   * pipe<string>().store("raw").step((s) => s.trim()).step((t: string, raw: string) => t !== raw).ingestAfter("raw")
   */
  store: IsInferInput<Cur> extends true
    ? PipeTypeError<"pipe() without a type argument learns its input type from the first step, so the input cannot be stored before it: write pipe<Input>().store(key)">
    : <K extends string>(key: StoreKeyArg<Mem, Keys, K>) => AfterStore<In, Cur, Mem, Keys, Mode, K>;

  /**
   * Runs every branch on the current value; the result is the readonly tuple of their (awaited)
   * results, in order. Async branches run concurrently.
   *
   * @example
   * pipe<number>().fork((x) => x + 1, (x) => String(x)).build(); // (input: number) => readonly [number, string]
   */
  // With `pipe()` and no step yet, the branches' (annotated) parameter types give the input type.
  fork: IsInferInput<Cur> extends true ? ForkMethodFirst<Mem, Keys, Mode> : ForkMethod<In, Cur, Mem, Keys, Mode, Cur>;

  /**
   * Spreads the current tuple (a fork's result) into `h`'s parameters: `h(...tuple)`. Fails to
   * compile when the current value is not a tuple or its elements do not fit `h`'s parameters.
   *
   * @example
   * pipe<number>().fork((x) => x + 1, (x) => x * 2).merge((a, b) => a + b)
   */
  // `| SpreadDefault<Cur>` lets the declaration see that the default meets the constraint; a `P`
  // that fails the check is never the tuple itself, so it still fails.
  merge<P extends SpreadParams<P, Cur, "merge(h)"> | SpreadDefault<Cur> = SpreadDefault<Cur>, R = unknown>(
    h: (...args: P) => R,
  ): AfterSpread<In, Mem, Keys, Mode, Cur, R, "merge(h)">;

  /**
   * Spreads the current tuple into a constructor: `new Ctor(...tuple)`.
   *
   * @example
   * class Point { constructor(readonly x: number, readonly y: number) {} }
   * pipe<number>().fork((x) => x, (x) => -x).to(Point) // current value: Point
   */
  to<P extends SpreadParams<P, Cur, "to(Ctor)">, I>(ctor: new (...args: P) => I): AfterSpread<In, Mem, Keys, Mode, Cur, I, "to(Ctor)">;

  /**
   * Flattens nested fork results into one tuple: `readonly [readonly [A, B], C]` becomes
   * `readonly [A, B, C]`.
   *
   * @example
   * pipe<number>().fork((x) => x, fork((x: number) => x + 1, (x: number) => x + 2)).flatten()
   */
  flatten: Cur extends readonly unknown[]
    ? () => AfterFlatten<In, Cur, Mem, Keys, Mode>
    : PipeTypeError<"flatten() flattens nested fork results, but the current value is not a tuple">;

  /**
   * Returns the pipeline as a plain function `(input) => result`: `Promise<result>` when a step is
   * async. Each call has its own memory, so concurrent calls never share values.
   *
   * @example
   * const double = pipe<number>().step((x) => x * 2).build(); // (input: number) => number
   */
  build(): (input: InputOf<In>) => ResultIn<Mode, Cur>;

  /**
   * `.build()` for a pipeline whose types prove every step synchronous: the built function does not
   * check each step's result for a Promise (it trusts the types), which is what hand-written code
   * costs where values have many shapes. A compile error when a step may return a Promise. At run
   * time an `async function` step is refused while building, and a Promise as the *result* is a
   * `PipelineStepError`; a Promise from a step in the middle (one typed `any`, or cast) is passed on
   * as it is: where a step's type may lie, use `.build()`.
   *
   * @example
   * const double = pipe<{ n: number }>().step((r) => ({ n: r.n * 2 })).buildSync(); // (input: { n: number }) => { n: number }
   */
  buildSync: [Mode] extends ["sync"]
    ? () => (input: InputOf<In>) => Cur
    : PipeTypeError<"buildSync() needs every step synchronous, and a step here may return a Promise: use .build()">;

  /**
   * Builds and runs the pipeline once: `.run(input)` is `.build()(input)`.
   *
   * @example
   * pipe<number>().step((x) => x + 1).run(41); // 42
   */
  run(input: InputOf<In>): ResultIn<Mode, Cur>;
}


/**
 * A builder whose last step still needs an ingest: only `.ingestBefore` / `.ingestAfter` can be
 * called; everything else explains what is missing.
 *
 * The members that take functions (`step`, `fork`, `merge`) stay callable, with a parameter that
 * is the message *and* a function of anything: a non-callable member would also leave the lambda
 * passed to it without a contextual type, so an unannotated parameter (`.step((y) => y)`) would add
 * an unrelated "TS7006: Parameter 'y' implicitly has an 'any' type" to the one real error. Now the
 * lambda's parameters are `any` and the only error is the argument's: it is not the message.
 * The call's result is `any`, so the rest of the chain is not reported again.
 */
export interface IncompletePipe<
  In,
  Cur,
  Mem,
  Mode extends AsyncMode,
  Keys extends string,
  Last extends AnyStep,
  Issue,
> extends PipeIngest<In, Cur, Mem, Mode, Keys, Last> {
  // written out, not through an alias, so that TypeScript prints the message
  step(f: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`> & ((...args: any[]) => unknown)): any;
  store: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
  fork(...branches: (PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`> & ((...args: any[]) => unknown))[]): any;
  merge(h: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`> & ((...args: any[]) => unknown)): any;
  to: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
  flatten: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
  build: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
  buildSync: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
  run: PipeTypeError<`the step before cannot run yet: ${IssueText<Issue>}`>;
}

