import type { IsUnion, PipeTypeError } from "./type-error.js";

/**
 * The pipeline's memory, as the types see it.
 *
 * `Mem` is a plain object type from key to stored type. `.store("k")` grows it by intersection,
 * `Mem & { k: Cur }`: that is O(1) per call (no mapped type is recomputed, unlike a `Simplify`
 * per step; type-level-anchors.md §1.2, Kysely's `DB & ShallowRecord<A, R>`), and a lookup
 * `Mem["k"]` is a property lookup on the intersection. The record is never flattened: users never
 * see it (it is not part of a built pipeline's type).
 *
 * `Keys` is the same set of keys pre-rendered as text (`"'a', 'b'"`), extended by one template
 * literal per store, so that an error can list the stored keys without turning a union into a
 * tuple (which is expensive and has no stable order).
 */
export type EmptyMemory = {};

/** `Mem` with `K` stored as `V`. */
export type StoreKey<Mem, K extends string, V> = Mem & { readonly [P in K]: V };

/** The printable list of stored keys after storing `K`. */
export type AddKeyText<Keys extends string, K extends string> = Keys extends "" ? `'${K}'` : `${Keys}, '${K}'`;

/** Says which keys exist, for messages. */
export type StoredKeysText<Keys extends string> = Keys extends "" ? "nothing has been stored yet" : `stored so far: ${Keys}`;

/**
 * The parameter type of `.store(key)`: the key itself when it may be stored, an error otherwise.
 *
 * A key must be a string literal (a `string`-typed key cannot be checked) and is stored once per
 * pipeline (pypely raises at run time; memopipe refuses to compile).
 */
export type StoreKeyArg<Mem, Keys extends string, K extends string> = IsSingleLiteral<K> extends false
  ? PipeTypeError<"a memory key must be one string literal such as .store('model'): a key of type string, a union or a template type cannot be checked">
  : K extends keyof Mem
    ? PipeTypeError<`memory key '${K}' is already stored in this pipeline (${StoredKeysText<Keys>}): a key is stored once per pipeline, so pick another name`>
    : K;

/**
 * Whether `K` is exactly one string literal: not `string`, not a union (`"a" | "b"`: which one is
 * stored?) and not a template pattern (`` `key-${string}` ``). A pattern type is recognised
 * because `{}` is assignable to a record over it (it is an index signature), but not to a record
 * over a literal key (a required property).
 */
export type IsSingleLiteral<K extends string> = string extends K
  ? false
  : [K] extends [never]
    ? false
    : IsUnion<K> extends true
      ? false
      : {} extends Record<K, 1>
        ? false
        : true;
