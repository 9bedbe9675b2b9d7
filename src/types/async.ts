/**
 * Whether a pipeline returns a Promise.
 *
 * A pipeline's result is a Promise exactly when one of its steps returned one at run time. The
 * types track three states so that the declared result is exact:
 * - `"sync"`: no step can return a Promise: the built function returns the value;
 * - `"async"`: some step always returns a Promise: it returns `Promise<value>`;
 * - `"maybe"`: some step returns `T | Promise<T>` (or `any`): it returns `value | Promise<value>`.
 */
export type AsyncMode = "sync" | "maybe" | "async";

/** The mode of one step's declared return type `R`. */
// A step typed to return `any` (`JSON.parse`) counts as synchronous: calling every later result
// `T | Promise<T>` would be wrong far more often than right (the run is still correct if it does
// return a Promise: later steps receive the awaited value).
export type ModeOf<R> = 0 extends 1 & R
  ? "sync"
  : [R] extends [never]
    ? "sync"
    : [R] extends [PromiseLike<unknown>]
      ? "async"
      : true extends (R extends PromiseLike<unknown> ? true : false)
        ? "maybe"
        : "sync";

/** The mode of a sequence: async wins over maybe, maybe over sync. */
export type JoinMode<A extends AsyncMode, B extends AsyncMode> = "async" extends A | B
  ? "async"
  : "maybe" extends A | B
    ? "maybe"
    : "sync";

/** The mode of a tuple of branch results (fork). */
export type ModeOfAll<Rs extends readonly unknown[]> = JoinModes<{ [K in keyof Rs]: ModeOf<Rs[K]> }[number]>;
type JoinModes<M extends AsyncMode> = [M] extends [never] ? "sync" : JoinMode<M, M>;

/** The declared result of a pipeline whose value is `T` in mode `M`. */
export type ResultIn<M extends AsyncMode, T> = M extends "sync" ? T : M extends "async" ? Promise<T> : T | Promise<T>;
