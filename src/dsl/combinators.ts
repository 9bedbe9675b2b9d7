import type { ModeOfAll, ResultIn } from "../types/async.js";
import type { ForkResults, NoBranch } from "../types/fork.js";
import type { AwaitedAll, Flatten } from "../types/tuple.js";
import { defineShape, flattenTuple, markResult, requireTuple, runFork, shapeOf, unmarked, type Shape } from "../runtime/fork.js";
import { alwaysAsync, isAlwaysAsync } from "../runtime/async-steps.js";
import { PipelineDefinitionError } from "../runtime/errors.js";
import { WRITTEN } from "../runtime/program.js";
import { attachPart } from "../runtime/graph/parts.js";
import { unwrapMemorizable } from "./memorizable.js";

/**
 * pypely's combinators as free functions. Each returns a plain function, so it can be a step
 * (`.step(fork(f, g))`), a fork branch, or be called on its own. The builder has the same
 * operations as methods (`.fork`, `.merge`, `.to`, `.flatten`), which give unannotated branches
 * the current value's type.
 */

/**
 * Runs every branch on the same input; returns the readonly tuple of their results, in order
 * (a Promise of it when a branch is async; async branches run concurrently).
 *
 * @example
 * const both = fork((x: number) => x + 1, (x: number) => String(x));
 * both(1); // readonly [2, "1"]
 */
// One parameter per branch (see types/fork.ts for why): each branch is checked on its own argument
// and a generic branch (`identity`) is instantiated for the input.
export function fork<
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
): (input: In) => ResultIn<ModeOfAll<ForkResults<[A, B, D, E, F, G, H, I, J, L]>>, AwaitedAll<ForkResults<[A, B, D, E, F, G, H, I, J, L]>>>;
export function fork(...branches: readonly unknown[]): (input: never) => unknown {
  if (branches.length === 0) throw new PipelineDefinitionError("fork(...) needs at least one branch");
  const originals = branches.map((b, i) => {
    if (typeof b !== "function") throw new PipelineDefinitionError(`fork branch ${i + 1} must be a function, got ${typeof b}`);
    return unwrapMemorizable(b as (input: unknown) => unknown);
  });
  const fns = originals.map(unmarked);
  // a fork with an async branch always returns a Promise: let pipelines see that (async-steps.ts)
  const wrap = (f: (input: unknown) => unknown) => (originals.some(isAlwaysAsync) ? alwaysAsync(f) : f);
  const raw = wrap((input: unknown) => runFork(fns, input));
  // Its result's shape (runtime/fork.ts): what a pipeline using this fork as a step or a branch
  // knows statically, and calls `raw` for. Called directly, its result carries the shape.
  const shapeFor = (input: Shape): Shape => originals.map((b) => shapeOf(b, input));
  const own = shapeFor(null) as readonly Shape[];
  const forked = wrap((input: unknown) => markResult(runFork(fns, input), own));
  // what describe() draws, on both variants (a pipeline calls `raw`)
  const part = () => ({ kind: "fork", branches: fns }) as const;
  attachPart(raw, part);
  // a pipeline's generated code writes it out in place, as a step or a branch (runtime/generate.ts)
  Object.defineProperty(raw, WRITTEN, { value: { kind: "fork", branches: fns } });
  return attachPart(defineShape(forked, shapeFor, raw), part);
}

/**
 * Spreads a tuple into `h`'s parameters: `merge(h)(tuple)` is `h(...tuple)`.
 *
 * @example
 * pipe<number>().step(fork((x: number) => x, (x: number) => x * 2)).step(merge((a: number, b: number) => a + b))
 */
export function merge<P extends readonly unknown[], R>(h: (...args: P) => R): (tuple: Readonly<P>) => R {
  if (typeof h !== "function") throw new PipelineDefinitionError(`merge(h) needs a function, got ${typeof h}`);
  const fn = unwrapMemorizable(h as unknown as (...args: unknown[]) => unknown);
  const merged = attachPart((tuple: readonly unknown[]) => fn(...requireTuple(tuple, "merge(h)")), () => ({ kind: "merge", fn }));
  // right after a fork, a pipeline's generated code calls `h` with the branch results (runtime/generate.ts)
  return Object.defineProperty(merged, WRITTEN, { value: { kind: "merge", fn } }) as never;
}

/**
 * Spreads a tuple into a constructor: `to(Ctor)(tuple)` is `new Ctor(...tuple)`.
 *
 * @example
 * class Range { constructor(readonly lo: number, readonly hi: number) {} }
 * to(Range)([1, 5] as const); // Range { lo: 1, hi: 5 }
 */
export function to<P extends readonly unknown[], I>(ctor: new (...args: P) => I): (tuple: Readonly<P>) => I {
  if (typeof ctor !== "function") throw new PipelineDefinitionError(`to(Ctor) needs a class, got ${typeof ctor}`);
  const made = attachPart((tuple: P) => new ctor(...(requireTuple(tuple, "to(Ctor)") as P)), () => ({ kind: "to", ctor }));
  return Object.defineProperty(made, WRITTEN, { value: { kind: "to", ctor } }) as never;
}

/**
 * Returns its input: the "pass the value on" branch of a fork.
 *
 * @example
 * pipe<number>().fork(identity, (x) => x * 2) // readonly [number, number]
 */
export function identity<T>(value: T): T {
  return value;
}
// Its result is its input: a fork tuple stays one (runtime/fork.ts).
defineShape(identity, (input) => input);
attachPart(identity, () => ({ kind: "identity" }));
Object.defineProperty(identity, WRITTEN, { value: { kind: "identity" } });

/**
 * Flattens nested fork results into one tuple.
 *
 * @example
 * flatten(fork((x: number) => x, fork((x: number) => x + 1, (x: number) => x + 2))(1)); // readonly [1, 2, 3]
 */
export function flatten<T extends readonly unknown[]>(tuple: T): Flatten<T> {
  return flattenTuple(tuple, null) as unknown as Flatten<T>;
}
attachPart(flatten, () => ({ kind: "flatten" }));
