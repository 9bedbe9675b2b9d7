import type { PipeTypeError, Show } from "./type-error.js";
import type { Simplify } from "./stage.js";

/**
 * The types of the experiment loggers (`memlist`, `memfile`, `memweb`, `memfunc`, `memstdout`,
 * `memwandb`): what a logged function is, the record it produces, and the compile-time check of a
 * record against the record type a sink declares.
 *
 * A logged function takes ONE object of named arguments and returns an object. Its record is the
 * arguments merged with the result, the result winning on a key clash (memo's `{**kwargs, **result}`):
 *
 * ```ts
 * const f = ({ n, s }: { n: number; s: string }) => ({ s: n > 1, score: n * 2 });
 * type R = LoggedRecord<{ n: number; s: string }, { s: boolean; score: number }>; // { n: number; s: boolean; score: number }
 * ```
 */

/**
 * The first words of every message about a function that cannot be logged.
 *
 * @example
 * // memlist({ data })((a: number, b: number) => ({ s: a + b }));
 * //   → PipeTypeError<"a logged function takes one object of named arguments and returns an object, but this one takes 2 parameters">
 */
export type NotLoggable = "a logged function takes one object of named arguments and returns an object";

/**
 * The record of a call: the named arguments merged with the (awaited) result; on a key clash the
 * result's type wins, as its value does at run time.
 *
 * @example
 * type R = LoggedRecord<{ n: number; tag: string }, { tag: number }>; // { n: number; tag: number }
 */
export type LoggedRecord<Args, Res> = Simplify<Omit<Args, keyof Res> & Res>;

/**
 * The record type of a logged function `F`, or `never` when `F` cannot be logged.
 *
 * @example
 * type R = RecordOf<(a: { n: number }) => Promise<{ p: number }>>; // { n: number; p: number }
 */
export type RecordOf<F> = ShapeOf<F> extends Loggable<infer Rec> ? Rec : never;

/**
 * What a logger returns: a decorator that wraps a logged function and gives it back with its own
 * type (`Wrapped` adds members such as `memweb`'s `flush`). `Rec` is the record type the sink
 * declares (`any` when it declares none) and `Sink` names the sink in messages (`data`, `the callback`).
 *
 * The check is `F`'s constraint, F-bounded (`F extends LoggedFn<F, Rec, Sink>`), for the reason
 * `StepParams` gives in `builder-state.ts`: behind a conditional *parameter* type TypeScript would
 * erase a generic function's type parameters, and the error would not land on the argument. Here,
 * when `F` is fine the constraint is a plain function type that `F` satisfies, and `F` is returned
 * unchanged. When it is not, the constraint is `PipeTypeError<"…message…">`: the inferred `F` fails
 * it, TypeScript falls back to the constraint as `F`, and the call reports
 *
 * ```text
 * Argument of type '(a: number, b: number) => number' is not assignable to parameter of type
 *   'PipeTypeError<"a logged function takes one object of named arguments and returns an object, but this one takes 2 parameters">'.
 * ```
 *
 * on the function argument itself (a function is never assignable to a `PipeTypeError`, an object
 * type with a required property no function has).
 *
 * @example
 * const log: LoggerOf<{ n: number; sq: number }, "data"> = memlist({ data: [] as { n: number; sq: number }[] });
 * const square = log(({ n }: { n: number }) => ({ sq: n * n })); // typeof square: ({ n }: { n: number }) => { sq: number }
 */
export interface LoggerOf<Rec, Sink extends string, Extra = unknown> {
  <F extends LoggedFn<F, Rec, Sink>>(fn: F): F & Extra;
}

/**
 * The constraint of a logged function `F` (see `LoggerOf`): any one-argument function when `F`
 * can be logged to a sink of record type `Rec`, else `PipeTypeError<message>`.
 *
 * @example
 * type Ok = LoggedFn<(a: { n: number }) => { sq: number }, any, "data">;  // (args: any) => any
 * type No = LoggedFn<(n: number) => { sq: number }, any, "data">;         // PipeTypeError<"… but this one takes number">
 */
export type LoggedFn<F, Rec, Sink extends string> =
  Verdict<F, Rec, Sink> extends Wrong<infer M> ? PipeTypeError<M> : (args: any) => any;

/** The whole check: the function's shape, then its record against the sink's record type. */
type Verdict<F, Rec, Sink extends string> =
  ShapeOf<F> extends Loggable<infer Got> ? (0 extends 1 & Rec ? Fits : FitOf<Got, Rec, Sink>) : ShapeOf<F>;

interface Wrong<M extends string> {
  readonly wrong: M;
}
interface Loggable<Rec> {
  readonly record: Rec;
}
interface Fits {
  readonly fits: true;
}

// --- the function's shape -----------------------------------------------------------------------

/**
 * `Loggable<record>` or `Wrong<message>`. `F extends (args: infer A) => infer R` matches a function
 * of no parameter (A is `unknown`: the record is the result alone), of one, and of one required
 * parameter followed by optional ones (called with one argument, which is what a logger does); it
 * does not match two required parameters, which is the positional style memo cannot log.
 */
type ShapeOf<F> = unknown extends F
  ? Wrong<`${NotLoggable}; annotate the parameter of an inline function, e.g. ({ n }: { n: number }) => ({ sq: n * n })`>
  : F extends (...args: infer P) => unknown
    ? number extends P["length"]
      ? Wrong<`${NotLoggable}, but this one takes a rest parameter`>
      : F extends (args: infer A) => infer R
        ? ArgsOf<A> extends infer Args
          ? Args extends Wrong<string>
            ? Args
            : ResultProblem<Awaited<R>> extends infer Problem extends string
              ? [Problem] extends [never]
                ? Loggable<0 extends 1 & Args ? any : 0 extends 1 & Awaited<R> ? any : LoggedRecord<Args, Awaited<R>>>
                : Wrong<`${NotLoggable}, but this one returns ${Problem}`>
              : never
          : never
        : Wrong<`${NotLoggable}, but this one takes ${P["length"]} parameters`>
    : Wrong<`${NotLoggable}, but this is not a function`>;

/** The named arguments (`{}` for a function of no parameter, `undefined` dropped), or `Wrong`. */
type ArgsOf<A> = 0 extends 1 & A
  ? any
  : unknown extends A
    ? {}
    : [NonNullable<A>] extends [readonly unknown[]]
      ? Wrong<`${NotLoggable}, but this one takes ${Show<NonNullable<A>>} (an array is positional: give its elements names)`>
      : [NonNullable<A>] extends [(...args: never) => unknown]
        ? Wrong<`${NotLoggable}, but this one takes a function`>
        : [NonNullable<A>] extends [object]
          ? NonNullable<A>
          : Wrong<`${NotLoggable}, but this one takes ${Show<A>}`>;

/** What is wrong with a (awaited) result, or `never`. */
type ResultProblem<R> = 0 extends 1 & R
  ? never
  : [R] extends [readonly unknown[]]
    ? `${Show<R>}, not an object`
    : [R] extends [(...args: never) => unknown]
      ? "a function"
      : [R] extends [object]
        ? never
        : Show<R>;

// --- the record against the sink's record type ------------------------------------------------

/**
 * `Fits` when the record `Got` is assignable to the sink's record type `Rec` and declares no field
 * `Rec` lacks (SPEC: a sink's records are "exactly that record type"; a sink typed `object`,
 * `Record<string, …>` or `unknown` takes any record), else `Wrong` naming the field.
 */
type FitOf<Got, Rec, Sink extends string> = unknown extends Rec
  ? Fits
  : [Rec] extends [never]
    ? Fits // `memlist({ data: [] })`: nothing declared
    : [Got] extends [Rec]
      ? ExcessOf<Got, Rec, Sink>
      : IsUnionOf<Rec> extends true
        ? Wrong<`the logged record matches no member of the union ${Sink} declares; hover over the function to see its record`>
        : MissingOf<Got, Rec> extends infer Missing
          ? [Missing] extends [never]
            ? MismatchOf<Got, Rec> extends infer Bad
              ? [Bad] extends [never]
                ? Wrong<`the logged record does not fit the record type ${Sink} declares; hover over the function to see its record`>
                : IsUnionOf<Bad> extends true
                  ? Wrong<`fields ${QuoteList<Bad>} of the logged record do not have the types ${Sink} declares`>
                  : Wrong<`field '${Bad & string}' of the logged record is ${Show<Got[Bad & keyof Got]>}, but ${Sink} declares it as ${Show<
                      Rec[Bad & keyof Rec]
                    >}`>
              : never
            : Wrong<`the logged record has no field ${QuoteList<Missing>}, which ${Sink} requires (a record is the function's arguments merged with its result)`>
          : never;

/** Keys `Rec` requires that the record lacks. */
type MissingOf<Got, Rec> = {
  [K in keyof Rec]-?: {} extends Pick<Rec, K> ? never : K extends keyof Got ? never : K;
}[keyof Rec];

/** Keys of both whose types do not fit. */
type MismatchOf<Got, Rec> = {
  [K in keyof Rec & keyof Got]-?: [Got[K]] extends [Rec[K]] ? never : K;
}[keyof Rec & keyof Got];

/**
 * Fields of the record that the sink's record type does not declare. Skipped when the record type
 * declares no key at all (`object`, `{}`) or has a string index signature (`Record<string, …>`);
 * for a union, a field counts as declared when any member declares it.
 */
type ExcessOf<Got, Rec, Sink extends string> = [AllKeys<Rec>] extends [never]
  ? Fits
  : string extends AllKeys<Rec>
    ? Fits
    : [Exclude<keyof Got, AllKeys<Rec>>] extends [never]
      ? Fits
      : Wrong<`the logged record has field ${QuoteList<Exclude<keyof Got, AllKeys<Rec>>>}, which ${Sink} does not declare`>;

type AllKeys<T> = T extends unknown ? keyof T : never;

// --- small helpers ------------------------------------------------------------------------------

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type LastOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L : never;
type IsUnionOf<T> = [T] extends [UnionToIntersection<T>] ? false : true;

/**
 * `'a', 'b'` from the union `"a" | "b"` (symbol keys are left out). A union cannot be walked in a
 * guaranteed order; `LastOf` (the last member of the intersection of `() => member` overloads)
 * takes members one at a time, which TypeScript does in declaration order in practice.
 */
type QuoteList<U, Acc extends string = ""> = [U] extends [never]
  ? Acc
  : LastOf<U> extends infer L
    ? QuoteList<Exclude<U, L>, L extends string | number ? (Acc extends "" ? `'${L}'` : `'${L}', ${Acc}`) : Acc>
    : Acc;
