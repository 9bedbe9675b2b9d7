import type { AsyncMode, JoinMode, ModeOf } from "./async.js";
import type { CombinatorStep, ErrorParam, IsInferInput } from "./builder-state.js";
import type { Pipe } from "./builder.js";
import type { Show } from "./type-error.js";
import type { Complete, MismatchHint, Wrong } from "./step-fit.js";
import type { Flatten } from "./tuple.js";

/**
 * `.merge(h)` and `.to(Ctor)`: spread the current tuple into a function's or a constructor's
 * parameters. The check is `P`'s constraint (F-bounded, as `.step`'s: see `StepParams`), so a
 * generic `h` is instantiated for the tuple and a misfit is reported on `h` with the message.
 */
export type SpreadParams<P extends readonly unknown[], Cur, What extends string> =
  SpreadVerdictOf<P, Cur, What> extends Wrong<infer M>
    ? [ErrorParam<M, P extends readonly [(infer H)?, ...unknown[]] ? H : unknown>, ...unknown[]]
    : readonly unknown[];

type SpreadVerdictOf<P extends readonly unknown[], Cur, What extends string> = [SpreadCheck<P, Cur, What>] extends [never]
  ? Complete
  : Wrong<SpreadCheck<P, Cur, What>>;

/** `never` when the tuple `Cur` fits `P`, else the message. */
export type SpreadCheck<P extends readonly unknown[], Cur, What extends string> = IsInferInput<Cur> extends true
  ? `${What} spreads a tuple, but pipe() without a type argument has no value before its first step: write pipe<[A, B]>() to start from a tuple`
  : [Cur] extends [readonly unknown[]]
  ? SpreadVerdict<SpreadWalk<Cur, P>, What, Cur>
  : `${What} spreads a tuple (what fork returns) into its parameters, but the current value is ${Show<Cur>}, not a tuple`;

type SpreadVerdict<W, What extends string, Cur extends readonly unknown[]> = W extends "ok"
  ? never
  : W extends ["missing", infer I extends number, infer H]
    ? `${What} has more parameters than the tuple has elements: its parameter ${I} (${Show<H>}) gets no value (the tuple has ${Cur["length"]} elements)`
    : W extends ["too-many", infer N extends number]
      ? `${What} takes ${N} parameter${N extends 1 ? "" : "s"} but the tuple has ${Cur["length"]} elements: every element must have a parameter`
      : W extends ["mismatch", infer I extends number, infer T, infer H]
        ? `${What}'s parameter ${I} expects ${Show<H>}, but element ${I} of the tuple is ${Show<T>}${MismatchHint<T, H>}: change that parameter, or the fork branch that produces the element`
        : never;

/** Element-by-element comparison of a tuple with a parameter list (as `Walk`, for spreads). */
type SpreadWalk<T extends readonly unknown[], P extends readonly unknown[], I extends readonly 0[] = []> =
  [...T] extends P
    ? "ok" // fast path: one assignability check
    : number extends T["length"]
      ? ["mismatch", 1, T[number], P[0]]
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
export type SpreadDefault<Cur> = [...(Cur extends readonly unknown[] ? Cur : [never])]; // not a tuple: nothing fits

/** The builder after a spread (`.merge(h)` or `.to(Ctor)`). */
export type AfterSpread<In, Mem, Keys extends string, Mode extends AsyncMode, Cur, R, What extends string> = Pipe<
  In,
  Awaited<R>,
  Mem,
  Keys,
  JoinMode<Mode, ModeOf<R>>,
  CombinatorStep<Cur, `${What} only spreads the tuple`>,
  never
>;

/** The builder after `.flatten()`. */
export type AfterFlatten<In, Cur, Mem, Keys extends string, Mode extends AsyncMode> = Pipe<
  In,
  Cur extends readonly unknown[] ? Flatten<Cur> : Cur,
  Mem,
  Keys,
  Mode,
  CombinatorStep<Cur, "flatten() only reshapes the tuple">,
  never
>;
