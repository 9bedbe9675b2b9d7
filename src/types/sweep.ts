import type { PipeTypeError, Show } from "./type-error.js";

/**
 * Types of sweeps (memo's `grid`, `random_grid`, `time_taken`, error capture) and of the `Runner`.
 *
 * Where a call is wrong, the parameter type of the offending argument (or property) becomes a
 * `PipeTypeError<"…">` naming the key, as everywhere in memopipe.
 */

/** Flattens an intersection or mapped type for display. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * What became of a point whose function threw (or whose Promise rejected): its named arguments and
 * `error`. Both `ignoreError(fn)` and the `Runner` produce it.
 *
 * @example
 * type E = ErrorRecord<{ n: number }>; // { n: number } & { error: { name: string; message: string } }
 */
export type ErrorRecord<Args> = Args & { error: { name: string; message: string } };

// --- grids -------------------------------------------------------------------------------------

/**
 * `grid()`'s and `randomGrid()`'s spec as checked: every value must be an array of the values to
 * try. A property that is not an array gets a message naming its key, so the error lands on it.
 *
 * @example
 * grid({ n: 1 }); // error on `n`: grid value 'n' must be an array of the values to try, got number; write n: [value]
 */
export type GridSpecCheck<S> = {
  [K in keyof S]: S[K] extends readonly unknown[]
    ? S[K]
    : PipeTypeError<`grid value '${K & string}' must be an array of the values to try, got ${Show<S[K]>}; write ${K & string}: [value]`>;
};

/**
 * One point of a grid over spec `S`: each key takes one element of its array. Literal types the
 * caller wrote (`["adam", "sgd"] as const`) are kept; plain array literals are already widened by
 * TypeScript (`[1, 2]` is `number[]`).
 *
 * @example
 * type P = GridPoint<{ n: number[]; s: string[] }>; // { n: number; s: string }
 */
export type GridPoint<S> = { -readonly [K in keyof S]: S[K] extends readonly (infer E)[] ? E : never } & {};

/**
 * Options of `grid(spec, options)`.
 *
 * @example
 * grid({ n: [1, 2, 3] }, { shuffle: true, seed: 42 });
 */
export interface GridOptions {
  /** Shuffle the points (default `false`: the points come in order, last key varying fastest). */
  readonly shuffle?: boolean;
  /** Seed of the shuffle (an integer): the same seed gives the same order. Without it the order is random. */
  readonly seed?: number;
}

/**
 * Options of `randomGrid(spec, options)`.
 *
 * @example
 * randomGrid({ lr: [0.1, 0.01] }, { n: 10, seed: 1 });
 */
export interface RandomGridOptions {
  /** How many points to draw. */
  readonly n: number;
  /** Seed (an integer): the same seed draws the same points. Without it the draw is random. */
  readonly seed?: number;
}

// --- wrapped functions (timeTaken, ignoreError) -------------------------------------------------

/**
 * The check of a function that `timeTaken()` or `ignoreError` wraps: it takes one object of named
 * arguments (or nothing) and returns an object of named results (or a Promise of one), as every
 * logged function does.
 *
 * @example
 * timeTaken()(({ n }: { n: number }) => n * 2); // error: timeTaken()(fn): the function must return an object of named results, not number
 */
export type NamedFnCheck<Wrapper extends string, A, R> = [unknown] extends [A]
  ? ResultCheck<Wrapper, R>
  : [A] extends [object]
    ? [A] extends [readonly unknown[]]
      ? PipeTypeError<`${Wrapper}: the function must take one object of named arguments, not ${Show<A>}`>
      : ResultCheck<Wrapper, R>
    : PipeTypeError<`${Wrapper}: the function must take one object of named arguments, not ${Show<A>}`>;

type ResultCheck<Wrapper extends string, R> = [R] extends [object]
  ? [R] extends [readonly unknown[]]
    ? PipeTypeError<`${Wrapper}: the function must return an object of named results, not ${Show<R>}`>
    : unknown
  : PipeTypeError<`${Wrapper}: the function must return an object of named results, not ${Show<R>}`>;

/**
 * Whether `timeTaken(options)` adds `timeStart`: `"always"` for `{ start: true }`, `"never"` without
 * it (or `start: false`), `"maybe"` when `start` is a `boolean` only known at run time.
 *
 * @example
 * type S = StartOf<{ start: true }>; // "always"
 */
export type StartOf<O> = "start" extends keyof O
  ? [O["start" & keyof O]] extends [true]
    ? "always"
    : [O["start" & keyof O]] extends [false | undefined]
      ? "never"
      : "maybe"
  : "never";

/** The `timeStart` field a start mode adds: an ISO 8601 time (`new Date().toISOString()`). */
type TimeStartField<S> = S extends "always" ? { timeStart: string } : S extends "maybe" ? { timeStart?: string } : {};

/**
 * A result with `timeTaken` (seconds) added, and with `Start` `"always"` (`timeTaken({ start: true })`)
 * also `timeStart`, when the call started (ISO 8601); a `timeTaken` or `timeStart` the function
 * returned is replaced.
 *
 * @example
 * type T = WithTimeTaken<{ est: number }>;           // { est: number; timeTaken: number }
 * type U = WithTimeTaken<{ est: number }, "always">; // { est: number; timeStart: string; timeTaken: number }
 */
export type WithTimeTaken<R, Start extends "always" | "never" | "maybe" = "never"> = R extends unknown
  ? Simplify<Omit<R, "timeTaken" | (Start extends "never" ? never : "timeStart")> & TimeStartField<Start> & { timeTaken: number }>
  : never;

/**
 * What `timeTaken(options)(fn)` returns for `fn`'s result `R`: the same, synchronous or a Promise.
 *
 * @example
 * type T = TimedResult<Promise<{ est: number }>>; // Promise<{ est: number; timeTaken: number }>
 */
export type TimedResult<R, Start extends "always" | "never" | "maybe" = "never"> = R extends PromiseLike<infer V>
  ? Promise<WithTimeTaken<V, Start>>
  : WithTimeTaken<R, Start>;

/**
 * What `ignoreError(fn)` returns for `fn`'s arguments `A` and result `R`.
 *
 * @example
 * type T = IgnoredErrorResult<{ n: number }, { inv: number }>; // { inv: number } | ErrorRecord<{ n: number }>
 */
export type IgnoredErrorResult<A, R> = R extends PromiseLike<infer V> ? Promise<V | ErrorRecord<A>> : R | ErrorRecord<A>;

// --- runner tasks -------------------------------------------------------------------------------

/**
 * Where a worker finds a task: a module (an absolute `file:` URL or path; `new URL("./points.js",
 * import.meta.url)` is the usual way) and the name of the function it exports.
 *
 * @example
 * const address: TaskAddress = { module: new URL("./points.js", import.meta.url), export: "simulate" };
 */
export interface TaskAddress {
  /** The module: a `URL`, a `file:` URL string or an absolute path. */
  readonly module: string | { readonly href: string };
  /** The name of the exported function that computes one point. */
  readonly export: string;
}

/**
 * A task addressed by module and export, made by `task()`: the same entry serves every backend.
 * `Point` and `Result` are the exported function's argument and (awaited) result, for the checks
 * of `runner.run`.
 *
 * @example
 * const t: WorkerTask<{ n: number }, { sq: number }> = task<typeof square>({ module: new URL("./points.js", import.meta.url), export: "square" });
 */
export interface WorkerTask<Point = any, Result = unknown> {
  /** The module's URL (`file:`). */
  readonly module: string;
  /** The export's name. */
  readonly export: string;
  /** Phantom member for the type checks; never present at run time. */
  readonly __types?: { readonly point: Point; readonly result: Result };
}

/**
 * The point type a task takes (`object` when the task does not say).
 *
 * @example
 * type P = PointOf<(p: { n: number }) => unknown>; // { n: number }
 */
export type PointOf<T> = T extends (point: infer P) => unknown
  ? P
  : T extends { readonly __types?: { readonly point: infer P } }
    ? unknown extends P
      ? object
      : P
    : object;

/**
 * The result type of a task (awaited).
 *
 * @example
 * type R = ResultOf<WorkerTask<{ n: number }, { sq: number }>>; // { sq: number }
 */
export type ResultOf<T> = T extends (point: never) => infer R
  ? Awaited<R>
  : T extends { readonly __types?: { readonly result: infer R } }
    ? R
    : unknown;

/**
 * What `runner.run(task, points)` resolves to: one result or error record per point, in order.
 *
 * @example
 * type R = RunResults<WorkerTask<{ n: number }, { sq: number }>, { n: number }>; // Array<{ sq: number } | RunErrorRecord<{ n: number }>>
 */
export type RunResults<T, Point> = Array<ResultOf<T> | RunErrorRecord<Point>>;

/**
 * The error record of a point of a `Runner` sweep: as {@link ErrorRecord}, and `error.code` when
 * the Runner made the failure itself (`MEMOPIPE_POINT_TIMEOUT`: past its `timeout`;
 * `MEMOPIPE_WORKER_DIED`: its thread died; `MEMOPIPE_UNCLONABLE_POINT`: it cannot be copied to a
 * thread). A task's own error has no `code`.
 *
 * @example
 * type E = RunErrorRecord<{ n: number }>; // { n: number } & { error: { name: string; message: string; code?: string } }
 */
export type RunErrorRecord<Args> = Args & { error: { name: string; message: string; code?: string } };

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** One member of a union (the last one TypeScript lists), to name one key in a message. */
type OneOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L : never;

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/**
 * Checks the points against the task's point type: `unknown` when they fit, otherwise a message that
 * names the first key that is missing or of the wrong type.
 *
 * @example
 * type C = PointsCheck<{ n: number }, { n: string }>; // PipeTypeError<"the task takes 'n' as number, but the points give string">
 */
export type PointsCheck<Need, Have> = [Have] extends [Need]
  ? unknown
  : PipeTypeError<PointsMismatch<Need, Have>>;

type PointsMismatch<Need, Have> = [Exclude<RequiredKeys<Need>, keyof Have>] extends [never]
  ? {
      [K in keyof Need & keyof Have]: [Have[K]] extends [Need[K]] ? never : K;
    }[keyof Need & keyof Have] extends infer Bad
    ? [Bad] extends [never]
      ? "the points do not fit the task's point type"
      : `the task takes '${OneOf<Bad> & string}' as ${Show<Need[OneOf<Bad> & keyof Need]>}, but the points give ${Show<Have[OneOf<Bad> & keyof Have]>}`
    : never
  : `the task needs '${OneOf<Exclude<RequiredKeys<Need>, keyof Have>> & string}' in every point, but the points lack it`;
