import type { PipeTypeError, Show, ShowKeys } from "./type-error.js";

/**
 * Stages: named inputs in, named outputs out (memori's `Stage`).
 *
 * A stage's function takes one object of named inputs and returns an object of named outputs, or
 * a tuple that `outputs: [...] as const` names (memori's `stage_outputs`). `fixed` inputs are
 * bound when the stage is made and leave its input type.
 */

/** Flattens an intersection or mapped type for display (`{ a: 1 } & { b: 2 }` → `{ a: 1; b: 2 }`). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The inputs a caller still gives: the function's, without the fixed ones. Without fixed inputs,
 * the function's own input type as it is: a `Simplify<Omit<…>>` there would make every check of
 * the stage in a DAG compare a mapped type (~50 instantiations per stage, bench/type-cost-dag.ts).
 */
export type StageInput<In, Fixed> = [keyof Fixed] extends [never] ? In : Simplify<Omit<In, keyof Fixed>>;

/**
 * The outputs object: the function's result, or its tuple named by `outputs`.
 *
 * @example
 * type O = StageOutput<readonly [number, string], readonly ["count", "label"]>; // { count: number; label: string }
 */
export type StageOutput<R, Names> = [Names] extends [readonly string[]]
  ? R extends readonly unknown[]
    ? Simplify<{ readonly [I in keyof Names & `${number}` as Names[I] & string]: R[I & keyof R] }>
    : never
  : R;

/**
 * A stage: call it (or `.run` it) with its named inputs; it resolves to its named outputs. A stage
 * is a function of one object, so it is also a pipe step (`pipe<{ img: FileRef }>().step(register)`).
 */
export interface Stage<Name extends string = string, In = any, Out = any> {
  (inputs: In): Promise<Out>;
  /** Runs the stage: `stage.run(inputs)` is `stage(inputs)`. */
  run(inputs: In): Promise<Out>;
  /** The stage's name (its cache directory and its name in reports). */
  readonly stageName: Name;
  /** Phantom members for the type checks of `dag()`; never read at run time. */
  readonly __types?: { readonly in: In; readonly out: Out };
}

/** Any stage. */
export type AnyStage = Stage<string, any, any>;
// Read through the phantom `__types` and `stageName` members: matching the call signature
// (`S extends Stage<infer N, unknown, unknown>`) would fail, as a stage does not accept `unknown`.
export type InOf<S> = S extends { readonly __types?: { readonly in: infer In } } ? In : never;
export type OutOf<S> = S extends { readonly __types?: { readonly out: infer Out } } ? Out : never;
export type NameOf<S> = S extends { readonly stageName: infer N extends string } ? N : never;

/**
 * A value the cache can record: plain data. The first place where a cached stage's inputs or
 * outputs hold something else (a function, a symbol), as a path like `inputs.options.callback`,
 * or `never`. Four levels deep: deeper values are checked at run time (`UnrecordableValueError`).
 */
export type UnrecordablePath<T, Path extends string, Depth extends readonly 0[] = []> = Depth["length"] extends 4
  ? never
  : 0 extends 1 & T
    ? never
    : UnrecordableMember<T, Path, Depth>;

// Distributive over `T` (a naked type parameter): each member of a union is checked, so
// `string | (() => void)` and an optional `cb?: () => void` are caught, not hidden by the union.
type UnrecordableMember<T, Path extends string, Depth extends readonly 0[]> = T extends (...args: never) => unknown
  ? Path
  : T extends symbol
    ? Path
    : T extends PromiseLike<unknown>
      ? Path
      : T extends readonly unknown[]
        ? UnrecordablePath<T[number], `${Path}[]`, [...Depth, 0]>
        : T extends Map<infer K, infer V>
          ? UnrecordablePath<K, `${Path}<key>`, [...Depth, 0]> | UnrecordablePath<V, `${Path}<value>`, [...Depth, 0]>
          : T extends Set<infer E>
            ? UnrecordablePath<E, `${Path}<element>`, [...Depth, 0]>
            : T extends WeakMap<object, unknown> | WeakSet<object>
              ? Path
              : T extends Date | RegExp | ArrayBufferView | ArrayBuffer
                ? never
                : T extends object
                  ? { [K in keyof T & string]-?: UnrecordablePath<T[K], `${Path}.${K}`, [...Depth, 0]> }[keyof T & string]
                  : never;

/**
 * `fixed` must name inputs of the stage, with values of their types; otherwise the type of
 * `fixed` becomes the message (the error lands on `fixed`, naming the stage and the input).
 */
type FixedCheck<Name extends string, In, Fixed> = [keyof Fixed] extends [never]
  ? unknown
  : [Exclude<keyof Fixed, keyof In>] extends [never]
    ? { [K in keyof Fixed & keyof In]: [Fixed[K]] extends [In[K]] ? never : K }[keyof Fixed & keyof In] extends infer Bad
      ? [Bad] extends [never]
        ? unknown
        : {
            readonly fixed: PipeTypeError<`stage '${Name}': fixed input '${Bad & string}' must be ${Show<In[Bad & keyof In]>}, got ${Show<Fixed[Bad & keyof Fixed]>}`>;
          }
      : never
    : {
        readonly fixed: PipeTypeError<`stage '${Name}' has no input '${Exclude<keyof Fixed, keyof In> & string}' to fix (its inputs: ${ShowKeys<keyof In>})`>;
      };

/** Whether `options.cache` turns the cache on. */
type CacheOn<Cache> = [Cache] extends [undefined] ? false : [Cache] extends [false] ? false : true;

/**
 * `stage()`'s options, with the compile-time check of a cached stage: when `cache` is on and an
 * input or output cannot be recorded, the type of `cache` becomes the message, so the error
 * lands on `cache: true` and names the stage and the value.
 */
export type StageOptionsArg<Name extends string, In, Out, Cache, Fixed, Names> = StageOptions<In, Fixed, Names, Cache> &
  FixedCheck<Name, In, Fixed> &
  (CacheOn<Cache> extends true
    ? [UnrecordablePath<In, "inputs"> | UnrecordablePath<Out, "outputs">] extends [never]
      ? unknown
      : {
          readonly cache: PipeTypeError<`stage '${Name}' cannot be cached: ${UnrecordablePath<In, "inputs"> | UnrecordablePath<Out, "outputs"> & string} cannot be recorded (a function, a symbol or a Promise); pass plain data or set cache: false`>;
        }
    : unknown);

/** Options of `stage(name, fn, options)`. */
export interface StageOptions<In, Fixed, Names, Cache> {
  /** Memoize on disk: `true` (in `.memopipe/` under the working directory) or `{ dir }`. Default `false`. */
  readonly cache?: Cache;
  /** Inputs bound now; they leave the stage's input type and cannot be overridden by a run. */
  readonly fixed?: Fixed;
  /** Names for a tuple result, in order (`as const`): `outputs: ["affine", "out"] as const`. */
  readonly outputs?: Names;
  /** Hash string inputs that name an existing file by content, as memori does. Default `true`. */
  readonly hashStringPaths?: boolean;
}

/** What `stage()` accepts as the function's result, given `outputs`. */
// Checked whole (`[R] extends [...]`): a result that is an object only sometimes
// (`x > 0 ? { a: 1 } : undefined`) must not pass through a union.
export type StageResultCheck<R, Names> = [Names] extends [readonly string[]]
  ? HasDuplicate<Names> extends true
    ? PipeTypeError<"outputs names an output twice: each name must be different">
    : [R] extends [readonly unknown[]]
    ? number extends R["length"]
      ? PipeTypeError<`outputs names ${Show<Names["length"]>} values, but the stage returns an array of any length: return a tuple (\`[a, b] as const\`)`>
      : R["length"] extends Names["length"]
        ? unknown
        : PipeTypeError<`the stage returns ${Show<R["length"]>} values but outputs names ${Show<Names["length"]>}`>
    : PipeTypeError<"outputs names the elements of a tuple result, but the stage does not return a tuple">
  : [R] extends [object]
    ? [R] extends [readonly unknown[]]
      ? PipeTypeError<"a stage returns an object of named outputs; to return a tuple, name its elements with outputs: [...] as const">
      : unknown
    : PipeTypeError<`a stage returns an object of named outputs, but this one returns ${Show<R>}`>;

type HasDuplicate<Names> = Names extends readonly [infer H, ...infer R] ? (H extends R[number] ? true : HasDuplicate<R>) : false;
