/**
 * Readable compile-time errors.
 *
 * memopipe never reports a mistake as a wall of builder types. Where a call is wrong, the
 * *parameter type* of the offending argument (or the type of the offending member) becomes a
 * `PipeTypeError<"…message…">`, so TypeScript prints, on that very argument:
 *
 * ```text
 * Argument of type '"doubel"' is not assignable to parameter of type
 *   '"doubled" | PipeTypeError<"memory key 'doubel' was never stored in this pipeline …">'.
 * ```
 *
 * Why an interface whose type argument is the message (Kysely's `KyselyTypeError<E>`, ts-pattern's
 * `NonExhaustiveError<T>`) rather than a bare string literal:
 * - TypeScript prints an interface reference with its type arguments, and never truncates a
 *   string literal, so the whole message is shown however long it is;
 * - no real value is assignable to it (the property key is not a valid identifier anyone writes),
 *   so it can only ever produce an error;
 * - as a *member* type it is not callable, so `.build()` on an incomplete pipeline reads
 *   "This expression is not callable. Type 'PipeTypeError<"…">' has no call signatures."
 *   (a bare string member would print the unhelpful "Type 'String' has no call signatures");
 * - it is not a string literal, so the editor never offers the message as a completion inside
 *   `.ingestAfter("`.
 *
 * Messages quote keys with single quotes: TypeScript escapes double quotes inside string literal
 * types (`\"`), which is hard to read.
 */
export interface PipeTypeError<Message extends string> {
  readonly "memopipe type error": Message;
}

/**
 * Renders a type as text for an error message, where that is possible at the type level.
 *
 * Only types with a short, exact spelling are rendered: primitives, single literals and arrays of
 * those. Anything else (objects, unions, functions) becomes a neutral description, because the
 * type level cannot print an arbitrary type; the error still lands on the right argument, where
 * the editor shows both types on hover.
 *
 * The checks are wrapped in `[T]` so that a union is not distributed (which would turn one message
 * into a union of messages).
 *
 * @example
 * type A = Show<number>;        // "number"
 * type B = Show<"train">;       // "'train'"
 * type C = Show<string[]>;      // "string[]"
 * type D = Show<{ a: 1 }>;      // "an object"
 */
export type Show<T> = [T] extends [never]
  ? "never"
  : 0 extends 1 & T
    ? "any"
    : unknown extends T
      ? "unknown"
      : ShowPrimitive<T> extends infer S extends string
        ? [S] extends [never]
          ? ShowCompound<T>
          : S
        : never;

/** `never` when `T` is not exactly one primitive or one literal. */
type ShowPrimitive<T> = [T] extends [string]
  ? string extends T
    ? "string"
    : IsUnion<T> extends true
      ? "a union of strings"
      : `'${T & string}'`
  : [T] extends [number]
    ? number extends T
      ? "number"
      : IsUnion<T> extends true
        ? "a union of numbers"
        : `${T & number}`
    : [T] extends [boolean]
      ? boolean extends T
        ? "boolean"
        : `${T & boolean}`
      : [T] extends [bigint]
        ? bigint extends T
          ? "bigint"
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

type ShowCompound<T> = [T] extends [readonly (infer E)[]]
  ? number extends T["length"]
    ? ShowPrimitive<E> extends infer S extends string
      ? [S] extends [never]
        ? "an array"
        : `${S}[]`
      : never
    : "a tuple"
  : [T] extends [PromiseLike<unknown>]
    ? "a Promise"
    : [T] extends [(...args: never) => unknown]
      ? "a function"
      : IsUnion<T> extends true
        ? "a union type"
        : "an object";

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

/** `true` when `T` is a union (booleans count as one type here: callers test them first). */
export type IsUnion<T> = [T] extends [UnionToIntersection<T>] ? false : true;
