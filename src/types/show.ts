/**
 * `Show<T>`: a type written out as text, for the messages of compile errors. A message that says
 * "expects an object, but the current value is an object" tells nothing; one that says "expects
 * { name: string }, but the current value is { id: number }" says what differs. So types are
 * spelled the way TypeScript spells them, as far as the type level can:
 *
 * - primitives and literals: `number`, `'train'`, `42`, `true`, `10n`, `undefined`;
 * - unions, members in TypeScript's order with `null` and `undefined` last, `true | false` as
 *   `boolean`: `string | undefined`, `'a' | 'b'` (up to {@link MAX_MEMBERS} members, then "a union of
 *   N types");
 * - arrays and tuples with their `readonly`: `number[]`, `readonly string[]`, `readonly [number, string]`,
 *   `[x?: number]` as `[number?]`, rest elements as `...string[]`;
 * - objects with their properties (up to {@link MAX_PROPERTIES}, then "… N more"), `readonly` and
 *   optional ones marked: `{ readonly id: number; name?: string }`; an index signature as
 *   `{ [key: string]: number }`;
 * - functions as `(number, string) => boolean` (the type level cannot see parameter names), a
 *   Promise as `Promise<number>`, the standard classes by name: `Date`, `RegExp`, `Error`,
 *   `Map<string, number>`, `Set<string>`, `Uint8Array`…; an instance of a class extending one of
 *   them as "an object extending Map<…>".
 *
 * What the type level cannot do: name a user's class (an instance is written as its public
 * properties: a private member is invisible to `keyof`), or order an object's properties as
 * declared (they come in TypeScript's internal order, usually the declaration order).
 *
 * Cost: only error messages use `Show`, and a message is computed only when the code is wrong, so
 * none of this runs for a correct pipeline. Nesting stops at depth {@link MAX_DEPTH} (`{…}`, `[…]`),
 * which also ends recursive types.
 *
 * Every check is wrapped in `[T]` so that a union is not distributed (which would turn one message
 * into a union of messages).
 */

/** Members of a union written out before "a union of N types". */
type MAX_MEMBERS = 6;
/** Properties of an object written out before "… N more". */
type MAX_PROPERTIES = 4;
/** Nesting depth written out; deeper values are `{…}`, `[…]`, `(…) => …`. */
type MAX_DEPTH = 2;

/**
 * A type as text, for an error message.
 *
 * @example
 * type A = Show<number>;                       // "number"
 * type B = Show<"train">;                      // "'train'"
 * type C = Show<string | undefined>;           // "string | undefined"
 * type D = Show<readonly [number, string]>;    // "readonly [number, string]"
 * type E = Show<{ id: number; name?: string }>; // "{ id: number; name?: string }"
 */
export type Show<T> = ShowAt<T, []>;

type ShowAt<T, D extends readonly 0[]> = [T] extends [never]
  ? "never"
  : 0 extends 1 & T
    ? "any"
    : unknown extends T
      ? "unknown"
      : ShowPrimitive<T> extends infer S extends string
        ? [S] extends [never]
          ? IsUnion<T> extends true
            ? ShowUnion<T, D>
            : D["length"] extends MAX_DEPTH
              ? Elided<T>
              : ShowCompound<T, [...D, 0]>
          : S
        : never;

/** One primitive type or one literal; `never` otherwise (a union of literals included, `boolean` excepted). */
type ShowPrimitive<T> = [T] extends [string]
  ? string extends T
    ? "string"
    : IsUnion<T> extends true
      ? never
      : `'${T & string}'`
  : [T] extends [number]
    ? number extends T
      ? "number"
      : IsUnion<T> extends true
        ? never
        : `${T & number}`
    : [T] extends [boolean]
      ? boolean extends T
        ? "boolean"
        : `${T & boolean}`
      : [T] extends [bigint]
        ? bigint extends T
          ? "bigint"
          : IsUnion<T> extends true
            ? never
            : `${T & bigint}n`
        : [T] extends [symbol]
          ? "symbol"
          : [T] extends [undefined]
            ? "undefined"
            : [T] extends [null]
              ? "null"
              : [T] extends [void]
                ? "void"
                : never;

/** What a value too deep to write out is shown as. */
type Elided<T> = [T] extends [readonly unknown[]] ? "[…]" : [T] extends [(...args: never) => unknown] ? "(…) => …" : "{…}";

// --- unions ---------------------------------------------------------------------------------------

/**
 * `A | B | …` in TypeScript's order, `null` and `undefined` last, `true | false` as `boolean`.
 * Members are taken off one at a time (`LastOf`), at most MAX_MEMBERS + 1 of them, so a union of a
 * thousand literals costs no more than a small one.
 */
type ShowUnion<T, D extends readonly 0[]> = Members<Exclude<T, null | undefined | boolean>, []> extends infer M extends readonly unknown[]
  ? [...M, ...([boolean] extends [T] ? [boolean] : [true] extends [T] ? [true] : [false] extends [T] ? [false] : []), ...([null] extends [T] ? [null] : []), ...([undefined] extends [T] ? [undefined] : [])] extends infer All extends readonly unknown[]
    ? All["length"] extends MAX_MEMBERS | 0 | 1 | 2 | 3 | 4 | 5
      ? Join<ShowEach<All, D>, " | ">
      : `a union of ${MemberCount<T>} types`
    : never
  : never;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** The member TypeScript keeps last in a union (the overload-resolution trick). */
type LastOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L : never;
/** Up to MAX_MEMBERS + 1 members, in order. */
type Members<U, Acc extends readonly unknown[]> = [U] extends [never]
  ? Acc
  : Acc["length"] extends 7
    ? Acc
    : LastOf<U> extends infer L
      ? Members<Exclude<U, L>, [L, ...Acc]>
      : never;
/** "7", or "more than 7" (counting stops there). */
type MemberCount<T> = Members<T, []>["length"] extends 7 ? "more than 6" : `${Members<T, []>["length"]}`;

/**
 * Up to three names of a union of keys, quoted and joined: `'a', 'b' and 'c'` (`… and N more`).
 *
 * @example
 * type K = ShowKeys<"img" | "ref">; // "'img' and 'ref'"
 */
export type ShowKeys<K> = Members<K, []> extends infer M extends readonly unknown[]
  ? M extends readonly [infer A extends string | number]
    ? `'${A}'`
    : M extends readonly [infer A extends string | number, infer B extends string | number]
      ? `'${A}' and '${B}'`
      : M extends readonly [infer A extends string | number, infer B extends string | number, infer C extends string | number]
        ? `'${A}', '${B}' and '${C}'`
        : M extends readonly [infer A extends string | number, infer B extends string | number, infer C extends string | number, ...infer R]
          ? `'${A}', '${B}', '${C}' and ${M["length"] extends 7 ? "more" : `${R["length"]} more`}`
          : ""
  : never;

/** `true` when `T` is a union (`boolean` counts as one type: callers test it first). */
export type IsUnion<T> = [T] extends [UnionToIntersection<T>] ? false : true;

// --- compound types -------------------------------------------------------------------------------

type ShowCompound<T, D extends readonly 0[]> = [T] extends [readonly unknown[]]
  ? ShowArray<T, D>
  : [T] extends [PromiseLike<infer V>]
    ? `Promise<${ShowAt<V, D>}>`
    : [T] extends [(...args: infer A) => infer R]
      ? `(${TupleElements<A, D>}) => ${ShowAt<R, D>}`
      : [T] extends [abstract new (...args: never) => unknown]
        ? "a class"
        : KnownClass<T, D> extends infer K extends string
          ? [K] extends [never]
            ? ShowObject<T, D>
            : K
          : never;

/** `E[]` / `readonly E[]` for arrays, `[A, B?, ...C[]]` / `readonly […]` for tuples. */
type ShowArray<T extends readonly unknown[], D extends readonly 0[]> = `${T extends unknown[] ? "" : "readonly "}${number extends T["length"]
  ? T extends readonly [unknown, ...unknown[]] | readonly [...unknown[], unknown]
    ? `[${TupleElements<T, D>}]`
    : `${ArrayElement<T[number], D>}[]`
  : `[${TupleElements<T, D>}]`}`;

/** An array's element, parenthesised when `E[]` would be read wrongly (`(string | number)[]`). */
type ArrayElement<E, D extends readonly 0[]> = ShowAt<E, D> extends infer S extends string
  ? IsUnion<E> extends true
    ? [boolean] extends [E]
      ? [E] extends [boolean]
        ? S
        : `(${S})`
      : `(${S})`
    : [E] extends [(...args: never) => unknown]
      ? `(${S})`
      : S
  : never;

/** A tuple's elements: required, then optional (`T?`), then a rest (`...T[]`). */
type TupleElements<T extends readonly unknown[], D extends readonly 0[], Acc extends string = ""> = T extends readonly []
  ? Acc
  : T extends readonly [infer H, ...infer R]
    ? TupleElements<R, D, Sep<Acc, ShowAt<H, D>>>
    : T extends readonly [(infer H)?, ...infer R]
      ? number extends T["length"]
        ? T extends readonly [...infer F, infer L]
          ? `${Sep<Acc, `...${ArrayElement<F[number], D>}[]`>}, ${ShowAt<L, D>}`
          : Sep<Acc, `...${ArrayElement<H, D>}[]`>
        : TupleElements<R, D, Sep<Acc, `${ShowAt<H, D>}?`>>
      : Acc;

type Sep<Acc extends string, S extends string> = Acc extends "" ? S : `${Acc}, ${S}`;

type ShowEach<T extends readonly unknown[], D extends readonly 0[]> = { [I in keyof T]: ShowAt<T[I], D> };
type Join<T, Separator extends string, Acc extends string = ""> = T extends readonly [infer H extends string, ...infer R]
  ? Join<R, Separator, Acc extends "" ? H : `${Acc}${Separator}${H}`>
  : Acc;

// --- classes of the standard library --------------------------------------------------------------

/**
 * The standard classes, by name, recognised structurally (both ways assignable: a `{}` parameter
 * is no `Date`). An instance of a subclass (more members) is "an object extending Map<…>". `never`
 * when `T` is none of them.
 */
type KnownClass<T, D extends readonly 0[]> = [T] extends [Date]
  ? Exact<T, Date, "Date">
  : [T] extends [RegExp]
    ? Exact<T, RegExp, "RegExp">
    : [T] extends [Map<infer K, infer V>]
      ? Exact<T, Map<K, V>, `Map<${ShowAt<K, D>}, ${ShowAt<V, D>}>`>
      : [T] extends [Set<infer E>]
        ? Exact<T, Set<E>, `Set<${ShowAt<E, D>}>`>
        : [T] extends [ReadonlyMap<infer K, infer V>]
          ? Exact<T, ReadonlyMap<K, V>, `ReadonlyMap<${ShowAt<K, D>}, ${ShowAt<V, D>}>`>
          : [T] extends [ReadonlySet<infer E>]
            ? Exact<T, ReadonlySet<E>, `ReadonlySet<${ShowAt<E, D>}>`>
            : [T] extends [WeakMap<infer K, infer V>]
              ? Exact<T, WeakMap<K, V>, `WeakMap<${ShowAt<K, D>}, ${ShowAt<V, D>}>`>
              : [T] extends [WeakSet<infer E>]
                ? Exact<T, WeakSet<E>, `WeakSet<${ShowAt<E, D>}>`>
                : [T] extends [Error]
                  ? Exact<T, Error, "Error">
                  : TypedArrayName<T> extends infer N extends string
                    ? [N] extends [never]
                      ? [T] extends [ArrayBuffer]
                        ? Exact<T, ArrayBuffer, "ArrayBuffer">
                        : never
                      : N
                    : never;

type Exact<T, C, Name extends string> = [C] extends [T] ? Name : `an object extending ${Name}`;

// Told apart by their `[Symbol.toStringTag]` literal: structurally, most typed arrays look alike.
type TypedArrayName<T> = T extends { readonly [Symbol.toStringTag]: infer Tag extends string }
  ? Tag extends "Uint8Array" | "Int8Array" | "Uint8ClampedArray" | "Int16Array" | "Uint16Array" | "Int32Array" | "Uint32Array" | "Float32Array" | "Float64Array" | "BigInt64Array" | "BigUint64Array"
    ? Tag
    : never
  : never;

// --- objects --------------------------------------------------------------------------------------

/**
 * `{ readonly a: A; b?: B }`: the string and number keys, up to MAX_PROPERTIES of them (symbol keys
 * are left out); an index signature as `[key: string]: V`. A private member of a class is not a
 * key, so it is not shown (callers name it as a possible difference when nothing else differs).
 */
type ShowObject<T, D extends readonly 0[]> = string extends keyof T
  ? `{ [key: string]: ${ShowAt<T[string & keyof T], D>} }`
  : number extends keyof T
    ? `{ [index: number]: ${ShowAt<T[number & keyof T], D>} }`
    : Members<Extract<keyof T, string | number>, []> extends infer Keys extends readonly (string | number)[]
      ? Keys extends readonly []
        ? [string] extends [T]
          ? "{}"
          : "object"
        : `{ ${Properties<T, Keys, D>} }`
      : never;

type Properties<T, Keys extends readonly (string | number)[], D extends readonly 0[], Acc extends string = "", N extends readonly 0[] = []> = Keys extends readonly [
  infer K extends keyof T & (string | number),
  ...infer R extends readonly (string | number)[],
]
  ? N["length"] extends MAX_PROPERTIES
    ? // Members stops counting at 7 keys: past that, the count is not known
      `${Acc}; … ${[...N, ...Keys]["length"] extends 7 ? "" : `${Keys["length"]} `}more`
    : Properties<T, R, D, `${Acc extends "" ? "" : `${Acc}; `}${Property<T, K, D>}`, [...N, 0]>
  : Acc;

type Property<T, K extends keyof T & (string | number), D extends readonly 0[]> = `${IsReadonlyKey<T, K> extends true ? "readonly " : ""}${PropertyName<K>}${{} extends Pick<T, K> ? "?" : ""}: ${ShowAt<{} extends Pick<T, K> ? Exclude<T[K], undefined> : T[K], D>}`;

type PropertyName<K extends string | number> = K extends number ? `${K}` : K extends `${infer _ extends number}` ? `'${K}'` : IsIdentifier<K & string> extends true ? K : `'${K}'`;
/** A plain identifier (letters, digits, `_`, `$`; not starting with a digit) can be written unquoted. */
type IsIdentifier<K extends string> = K extends `${infer C}${infer R}` ? (C extends IdentifierStart ? IdentifierRest<R> : false) : false;
type IdentifierRest<K extends string> = K extends "" ? true : K extends `${infer C}${infer R}` ? (C extends IdentifierStart | Digit ? IdentifierRest<R> : false) : false;
type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
type IdentifierStart = "_" | "$" | Lowercase<Letter> | Letter;
type Letter = "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M" | "N" | "O" | "P" | "Q" | "R" | "S" | "T" | "U" | "V" | "W" | "X" | "Y" | "Z";

/** A readonly property is the one whose `Pick` differs from its mutable copy (the identity trick). */
type IsReadonlyKey<T, K extends keyof T> = (<V>() => V extends Pick<T, K> ? 1 : 2) extends <V>() => V extends { -readonly [P in K]: T[P] } ? 1 : 2 ? false : true;
