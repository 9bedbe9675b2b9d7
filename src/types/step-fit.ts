import type { IsUnion, Show, ShowKeys } from "./type-error.js";

/**
 * Does a step's parameter list fit the arguments memory ingests and the current value give it?
 *
 * A step `g` with `.ingestBefore("a").ingestBefore("b").ingestAfter("c")` is called as
 * `g(a, b, current, c)`: the *layout* is `[...before, current, ...after]`, each part in call order.
 * This file compares a layout with `g`'s parameter tuple `P`, one position at a time, and says what
 * is wrong in words a person can act on.
 *
 * Each argument of the layout is a `Slot`: its type and how to name it in a message ("the current
 * value", "memory key 'a'"). The comparison (`Walk`) is a tail-recursive conditional type over
 * the layout, so its cost is linear in the number of arguments of *one* step (a handful), never in
 * the length of the pipeline: the per-step cost of a pipeline stays O(1).
 *
 * The verdict (`Assess`) distinguishes three outcomes, because the builder learns a step's layout
 * one call at a time (`.step(g)` first, then each ingest):
 * - `Complete`: the layout fills `P` exactly (optional and rest parameters included);
 * - `Incomplete<M>`: nothing is wrong *yet*, but the step cannot run as it stands (a required
 *   parameter is still empty, or the current value only fits further right, which a later
 *   `.ingestBefore` will fix). The message is shown on whatever is called next if it is not an
 *   ingest (`.step`, `.store`, `.build()`…);
 * - `Wrong<M>`: no later ingest can fix it (a key in the wrong position, no parameter left, a
 *   current value that fits no parameter). The message is shown on the call being checked.
 */
export interface Slot {
  readonly t: unknown;
  readonly label: string;
}
/** The value flowing through the pipeline, as an argument of the step. */
export interface CurrentSlot<T> extends Slot {
  readonly t: T;
  readonly label: "the current value";
}
/** A memory key ingested into the step. */
export interface KeySlot<T, K extends string> extends Slot {
  readonly t: T;
  readonly label: `memory key '${K}'`;
}

export interface Complete {
  readonly verdict: "complete";
}
export interface Incomplete<M extends string | MissingParams> {
  readonly verdict: "incomplete";
  readonly message: M;
}

/**
 * A step whose layout fits the first parameters of `P` and leaves required ones empty: the usual
 * state between `.step(g)` and its `.ingestAfter(key)`. Recognised with two cheap checks
 * (`FitsPrefix`), it keeps the layout instead of a message: the message is only written
 * (`IssueText`) if a call other than an ingest follows, which valid code never does.
 */
export interface MissingParams<
  P extends readonly unknown[] = readonly unknown[],
  B extends readonly unknown[] = readonly unknown[],
  Cur = unknown,
  A extends readonly unknown[] = readonly unknown[],
> {
  readonly params: P;
  readonly before: B;
  readonly current: Cur;
  readonly after: A;
}

/** The message of an incomplete step, written when it is needed. */
export type IssueText<I> = I extends string
  ? I
  : I extends MissingParams<infer P, infer B, infer Cur, infer A>
    ? Walk<[...KeySlots<B, []>, CurrentSlot<Cur>, ...KeySlots<A, []>], P> extends Missing<infer Index, infer H>
      ? MissingMessage<Index, H>
      : never
    : never;

type MissingMessage<Index extends number, H> = `this step's parameter ${Index} (${Show<H>}) gets no value: pass a stored value to it with .ingestAfter(key) or .ingestBefore(key)`;

/** Whether the layout `L` fits the first `L["length"]` parameters of `P`. */
type FitsPrefix<L extends readonly unknown[], P extends readonly unknown[]> = P extends readonly [
  ...{ [I in keyof L]: unknown },
  ...infer R,
]
  ? [...L, ...R] extends P
    ? true
    : false
  : false;
export interface Wrong<M extends string> {
  readonly verdict: "wrong";
  readonly message: M;
}
export type Verdict = Complete | Incomplete<string | MissingParams> | Wrong<string>;

interface Missing<Index extends number, H> {
  readonly walk: "missing";
  readonly index: Index;
  readonly param: H;
}
interface Mismatch<Index extends number, S extends Slot, H> {
  readonly walk: "mismatch";
  readonly index: Index;
  readonly slot: S;
  readonly param: H;
}
interface TooMany<Count extends number> {
  readonly walk: "too-many";
  readonly count: Count;
}

/**
 * Compares the layout `L` with the parameters `P`, position by position.
 *
 * `P extends readonly [(infer H)?, ...infer PR]` matches a required *or* optional first parameter
 * and also a rest parameter (`number[]` matches with `PR = number[]`), so one branch handles all
 * three; the layout is finite, so the recursion ends. `I` counts positions (1-based in messages).
 * The comparison `[S["t"]] extends [H]` is wrapped so unions are compared whole, not distributed.
 */
type Walk<L extends readonly Slot[], P extends readonly unknown[], I extends readonly 0[] = []> =
  L extends readonly [infer S extends Slot, ...infer LR extends readonly Slot[]]
    ? P extends readonly []
      ? TooMany<I["length"]>
      : // a required parameter: its exact type (`[(infer H)?]` would drop the `undefined` of `x: T | undefined`)
        P extends readonly [infer H, ...infer PR]
        ? [S["t"]] extends [H]
          ? Walk<LR, PR, [...I, 0]>
          : Mismatch<[...I, 0]["length"], S, H>
        : P extends readonly [(infer H)?, ...infer PR]
          ? // optional (`[H?]` takes undefined exactly as the compiler options say) or rest (`H` itself)
            (number extends P["length"] ? [S["t"]] extends [H] ? true : false : [S["t"]] extends [H?] ? true : false) extends true
            ? Walk<LR, PR, [...I, 0]>
            : Mismatch<[...I, 0]["length"], S, H>
          : TooMany<I["length"]>
    : [] extends P
      ? "ok"
      : P extends readonly [infer H, ...unknown[]]
        ? Missing<[...I, 0]["length"], H>
        : "ok";

/** `P` without its first `N` elements (`N` as a counter tuple). */
type Drop<P extends readonly unknown[], N extends readonly 0[]> = N extends readonly [0, ...infer NR extends readonly 0[]]
  ? P extends readonly [unknown?, ...infer PR]
    ? Drop<PR, NR>
    : P
  : P;

/**
 * Can the current value and the `.ingestAfter` keys still fit if more `.ingestBefore` keys come?
 * Tries each later start position; a step with a rest parameter is not searched (its length is
 * not finite), which only means such a step is reported at once instead of waiting.
 */
type FitsFurtherRight<L extends readonly Slot[], P extends readonly unknown[]> = number extends P["length"]
  ? false
  : P extends readonly []
    ? false
    : P extends readonly [unknown?, ...infer PR]
    ? Walk<L, PR> extends "ok" | Missing<number, unknown>
      ? true
      : FitsFurtherRight<L, PR>
    : false;

type ToCounter<T extends readonly unknown[]> = { [K in keyof T]: 0 };


/**
 * The verdict on a step whose parameters are `P`, with values of types `B` ingested before the
 * current value (type `Cur`) and `A` after it; `BK` / `AK` are their keys, for messages. `Newest`
 * is the key of the ingest being checked (`""` at `.step(f)` itself), named when the step has no
 * parameter left for it.
 *
 * Fast path first: a layout that fits is one tuple assignability check (`[...B, Cur, ...A]
 * extends P`, which handles optional and rest parameters as a call would). Only a layout that does
 * not fit pays for the position-by-position walk that explains why: most calls in a pipeline are
 * valid, and this keeps their cost flat.
 */
export type Assess<
  P extends readonly unknown[],
  B extends readonly unknown[],
  Cur,
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Newest extends string,
> = [...B, Cur, ...A] extends P
  ? Complete
  : FitsPrefix<[...B, Cur, ...A], P> extends true
    ? Incomplete<MissingParams<P, B, Cur, A>>
    : [B, A, P] extends [readonly [], readonly [], readonly []]
    ? Complete // a step without parameters ignores the current value: () => 42 is a fine step
    : Judge<Walk<[...KeySlots<B, BK>, CurrentSlot<Cur>, ...KeySlots<A, AK>], P>, P, KeySlots<B, BK>, Cur, KeySlots<A, AK>, Newest>;

/** Labels ingested values with their keys, for the messages of the slow path. */
type KeySlots<T extends readonly unknown[], K extends readonly string[]> = {
  [I in keyof T]: KeySlot<T[I], K[I & keyof K] extends infer N extends string ? N : "?">;
};

type Judge<W, P extends readonly unknown[], B extends readonly Slot[], Cur, A extends readonly Slot[], Newest extends string> =
  W extends "ok"
    ? Complete
    : W extends Missing<infer Index, infer H>
      ? Incomplete<MissingMessage<Index, H>>
      : W extends TooMany<infer Count>
        ? Wrong<`no parameter left for ${Newest extends "" ? "the current value" : `memory key '${Newest}'`}: this step takes ${Count} parameter${Count extends 1 ? "" : "s"} and ${Count extends 1 ? "it is" : "they are all"} filled already (ingestBefore keys first, then the current value, then ingestAfter keys)`>
        : W extends Mismatch<infer Index, infer S, infer H>
          ? IsBefore<Index, B> extends true
            ? Wrong<MismatchMessage<Index, S, H, B, A>>
            : FitsFurtherRight<[CurrentSlot<Cur>, ...A], Drop<P, ToCounter<B>>> extends true
              ? Incomplete<`${S["label"]} (${Show<S["t"]>}) does not fit this step's parameter ${Index} (${Show<H>}) yet: fill the parameters before the current value with .ingestBefore(key), which moves the current value and the ingestAfter keys right`>
              : Wrong<MismatchMessage<Index, S, H, B, A>>
          : never;

/** Is 1-based position `Index` one of the `.ingestBefore` slots? */
type IsBefore<Index extends number, B extends readonly Slot[], I extends readonly 0[] = [0]> = B extends readonly [
  Slot,
  ...infer BR extends readonly Slot[],
]
  ? I["length"] extends Index
    ? true
    : IsBefore<Index, BR, [...I, 0]>
  : false;

type MismatchMessage<Index extends number, S extends Slot, H, B extends readonly Slot[], A extends readonly Slot[]> =
  S extends CurrentSlot<infer T>
    ? [B, A] extends [readonly [], readonly []]
      ? `this step's parameter ${Index} expects ${Show<H>}, but the current value (the previous step's result) is ${Show<T>}${MismatchHint<T, H>}: make the step accept it, or convert the value in a step before`
      : `this step's parameter ${Index} expects ${Show<H>}, but the ingests put the current value (${Show<T>}) there${MismatchHint<T, H>}: ${OrderAdvice}`
    : `${S["label"]} (${Show<S["t"]>}) would be passed as this step's parameter ${Index}, which expects ${Show<H>}${MismatchHint<S["t"], H>}: ingest a key of that type, or ${OrderAdvice}`;

type OrderAdvice = "check the order (ingestBefore keys come first, then the current value, then ingestAfter keys)";

/**
 * A precise reason where the type level can name one, after both types are written out:
 * - a parameter that expects a Promise (steps receive the awaited value of an async step);
 * - arrays and tuples: a readonly one given where a mutable one is wanted (fork results are
 *   readonly), or the first tuple element that does not fit;
 * - objects: the properties the parameter needs and the value lacks, or those whose types differ,
 *   or, when no public property differs, that a private or protected member does (two classes).
 */
export type MismatchHint<T, H> = [H] extends [PromiseLike<unknown>]
  ? " (steps receive the awaited value of an async step)"
  : [T, H] extends [infer TT extends readonly unknown[], infer HH extends readonly unknown[]]
    ? ArrayHint<TT, HH>
    : [IsPlainObject<T>, IsPlainObject<H>] extends [true, true]
      ? ObjectHint<T, H>
      : "";

type IsPlainObject<T> = [T] extends [object] ? ([T] extends [readonly unknown[] | ((...args: never) => unknown)] ? false : true) : false;

/** Readonly-ness first (the elements may all fit), then the first tuple element that does not. */
type ArrayHint<T extends readonly unknown[], H extends readonly unknown[]> = [T] extends [unknown[]]
  ? TupleHint<T, H>
  : [H] extends [unknown[]]
    ? [T] extends [Readonly<H>]
      ? " (it is readonly, the parameter is not: make the parameter readonly)"
      : TupleHint<T, H>
    : TupleHint<T, H>;

/** Names the properties that make two object types differ. */
type ObjectHint<T, H> = Exclude<RequiredKeys<H>, keyof T> extends infer K
  ? [K] extends [never]
    ? DifferingProperty<T, H> extends infer D
      ? [D] extends [never]
        ? " (their public properties fit: a private or protected member differs, as between two classes)"
        : IsUnion<D> extends true
          ? ` (properties ${ShowKeys<D>} have other types there)`
          : ` (property '${D & string}' is ${Show<T[D & keyof T]>} there, the parameter wants ${Show<H[D & keyof H]>})`
      : never
    : IsUnion<K> extends true
      ? ` (it lacks properties ${ShowKeys<K>})`
      : ` (it lacks property '${K & string}')`
  : never;

type DifferingProperty<T, H> = {
  [K in keyof H & keyof T]: [T[K]] extends [H[K]] ? never : K;
}[keyof H & keyof T];

/** Names the first tuple element that does not fit. */
type TupleHint<T extends readonly unknown[], H extends readonly unknown[], I extends readonly 0[] = []> = number extends T["length"] | H["length"]
  ? ""
  : T extends readonly [infer E, ...infer TR]
    ? H extends readonly [(infer X)?, ...infer HR]
      ? [E] extends [X]
        ? TupleHint<TR, HR, [...I, 0]>
        : ` (element ${[...I, 0]["length"]} is ${Show<E>}, the parameter wants ${Show<X>})`
      : ` (it has more elements than the parameter's ${I["length"]})`
    : H extends readonly [unknown, ...unknown[]]
      ? ` (it has ${I["length"]} elements, the parameter wants more)`
      : "";

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
