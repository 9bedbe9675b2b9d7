/**
 * Tuple helpers for `fork`, `merge`, `to` and `flatten`.
 */

/** The awaited results of fork branches, as the readonly tuple `fork` returns. */
export type AwaitedAll<Rs extends readonly unknown[]> = { readonly [K in keyof Rs]: Awaited<Rs[K]> };

/**
 * Flattens nested readonly tuples (what nested `fork`s produce) into one readonly tuple.
 *
 * `fork(fork(a, b), c)` gives `readonly [readonly [A, B], C]`; `flatten` gives
 * `readonly [A, B, C]`. Mutable arrays and tuples a step returns itself are values, not fork
 * results, and are kept whole (pypely flattens only its own `PypelyTuple`). Non-tail recursion,
 * bounded by the nesting depth of the forks.
 *
 * @example
 * type F = Flatten<readonly [1, readonly [2, readonly [3]], 4]>; // readonly [1, 2, 3, 4]
 */
export type Flatten<T extends readonly unknown[]> = number extends T["length"]
  ? T // not a tuple (an array of unknown length): nothing to flatten at the type level
  : T extends readonly [infer H, ...infer R]
  ? [H] extends [readonly unknown[]]
    ? IsReadonlyTuple<H> extends true
      ? readonly [...Flatten<H>, ...Flatten<R>]
      : readonly [H, ...Flatten<R>]
    : readonly [H, ...Flatten<R>]
  : readonly [];

type IsReadonlyTuple<T extends readonly unknown[]> = T extends unknown[] ? false : number extends T["length"] ? false : true;

/** A readonly tuple's elements as a mutable tuple, for a parameter list (`(...args: [A, B])`). */
export type Mutable<T extends readonly unknown[]> = [...T];

/** The first parameter of a step, which becomes the pipeline's input when `pipe()` has no type argument. */
export type FirstParam<P extends readonly unknown[]> = P extends readonly [] ? void : P extends readonly [(infer H)?, ...unknown[]] ? H : unknown;
