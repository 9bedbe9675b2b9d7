import type { AsyncMode, JoinMode, ModeOfAll } from "./async.js";
import type { CombinatorStep, IsInferInput } from "./builder-state.js";
import type { Pipe } from "./builder.js";
import type { AwaitedAll } from "./tuple.js";

/**
 * `.fork(a, b, …)` and `fork(a, b, …)`.
 *
 * Each branch is its own parameter with its own result type parameter (`a: (current: Cur) => A`,
 * `b?: (current: Cur) => B`, …), not one variadic tuple: that is what lets TypeScript
 * - give unannotated branches the current value's type,
 * - report a branch that does not accept the current value *on that branch*,
 * - and instantiate a *generic* branch (`identity`, `<T>(x: T) => [T]`) for the current value
 *   (inferred through a tuple or a mapped type, its type parameters would be erased to `unknown`).
 *
 * A branch not given keeps its default, `NoBranch`, and is left out of the result. Up to ten
 * branches are typed (a rest parameter after the optional ones stops TypeScript from inferring
 * them: it then fixes the missing ones' defaults too early); untyped JavaScript may pass more.
 */
declare const noBranch: unique symbol;
export type NoBranch = typeof noBranch;

type IsNoBranch<T> = 0 extends 1 & T ? false : [T] extends [never] ? false : [T] extends [NoBranch] ? true : false;

/** The results of the branches given, in order. */
export type Branches<Rs extends readonly unknown[]> = Rs extends readonly [infer H, ...infer R]
  ? IsNoBranch<H> extends true
    ? []
    : [H, ...Branches<R>]
  : Rs;

/** The results of the branches given. */
export type ForkResults<Rs extends readonly unknown[]> = Branches<Rs>;

/** The builder after `.fork(...)`. Fork results cannot ingest (as in pypely). */
export type AfterFork<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, Rs extends readonly unknown[]> = Pipe<
  IsInferInput<In> extends true ? unknown : In,
  AwaitedAll<Rs>,
  Mem,
  Keys,
  JoinMode<Mode, ModeOfAll<Rs>>,
  CombinatorStep<Cur, "fork(...) only combines its branches">,
  never
>;

/** `.fork`'s signature for a current value of type `C`. */
export type ForkMethod<In, Cur, Mem, Keys extends string, Mode extends AsyncMode, C> = <
  A,
  B = NoBranch,
  D = NoBranch,
  E = NoBranch,
  F = NoBranch,
  G = NoBranch,
  H = NoBranch,
  I = NoBranch,
  J = NoBranch,
  L = NoBranch,
>(
  a: (current: C) => A,
  b?: (current: C) => B,
  d?: (current: C) => D,
  e?: (current: C) => E,
  f?: (current: C) => F,
  g?: (current: C) => G,
  h?: (current: C) => H,
  i?: (current: C) => I,
  j?: (current: C) => J,
  l?: (current: C) => L,
) => AfterFork<In, Cur, Mem, Keys, Mode, ForkResults<[A, B, D, E, F, G, H, I, J, L]>>;

/**
 * `.fork` right after `pipe()` without a type argument: the branches' (annotated) parameter type
 * becomes the pipeline's input, and every branch must accept it (as the free `fork` infers it).
 */
export type ForkMethodFirst<Mem, Keys extends string, Mode extends AsyncMode> = <
  In,
  A,
  B = NoBranch,
  D = NoBranch,
  E = NoBranch,
  F = NoBranch,
  G = NoBranch,
  H = NoBranch,
  I = NoBranch,
  J = NoBranch,
  L = NoBranch,
>(
  a: (input: In) => A,
  b?: (input: In) => B,
  d?: (input: In) => D,
  e?: (input: In) => E,
  f?: (input: In) => F,
  g?: (input: In) => G,
  h?: (input: In) => H,
  i?: (input: In) => I,
  j?: (input: In) => J,
  l?: (input: In) => L,
) => AfterFork<In, In, Mem, Keys, Mode, ForkResults<[A, B, D, E, F, G, H, I, J, L]>>;
