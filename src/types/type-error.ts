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

export type { IsUnion, Show, ShowKeys } from "./show.js";
