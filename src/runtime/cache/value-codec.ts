/**
 * The binary codec of cached values, `mpv1`: what a cache entry stores a stage's outputs in.
 *
 * Why not JSON or `node:v8`: both cost ~32 µs to decode the cache benchmark's value (800 floats
 * and a short string), which alone is more than the whole budget of a verified hit (~25 µs); and
 * both fail on deep values — `v8.serialize` of a 2,000-level object succeeds but `v8.deserialize`
 * throws RangeError (an entry that can be written and never read), and JSON, v8 and
 * structuredClone all throw at 10,000 levels. This codec:
 *
 * - round-trips exactly what V8's serializer does, and a little more: undefined, null, booleans,
 *   numbers (`-0`, `NaN`, `±Infinity`), bigints, strings (lone surrogates too), arrays (holes
 *   kept, sparse ones stored sparse), plain and null-prototype objects (an own `__proto__` key
 *   stays a key), Map, Set, Date (invalid too), RegExp (with `lastIndex`), ArrayBuffer, every
 *   typed array, DataView, Buffer (comes back a Buffer), boxed primitives and `FileRef`;
 * - keeps identity: an object met twice is written once, then as a back-reference, so shared
 *   references and cycles come back as the same graph;
 * - is iterative both ways (an explicit stack): 100,000 levels of arrays, objects or Maps work;
 * - stores a dense array of numbers as one tag, a length and raw float64s (or int32s, or bytes,
 *   when every element fits), and each distinct object key once per entry;
 * - refuses, naming the path, what it could not give back as it was: functions, symbols,
 *   symbol-keyed properties, class instances, Errors, Promises, WeakMap/WeakSet/WeakRef,
 *   SharedArrayBuffers, arrays or Maps… with extra properties;
 * - decodes any byte string to some value or a {@link ValueCodecError}: never another error,
 *   never a hang, never an allocation larger than the bytes given.
 *
 * The byte format is described in value-format.ts; figures against v8 and JSON in bench/codec.ts
 * (docs/value-codec.md).
 */
import { decodeValue as decode } from "./value-decode.js";
import { type EncodedValue, type EncodeOptions, encodeValue as encode } from "./value-encode.js";

export { VALUE_CODEC, ValueCodecError } from "./value-format.js";
export type { EncodedValue, EncodeOptions } from "./value-encode.js";

/**
 * Encodes a value as one `mpv1` entry (a version byte, then the value).
 *
 * @param options.path how the value is named in errors (default `"outputs"`).
 * @param options.stage the stage, named in errors.
 * @param options.collectStrings also report every distinct string value (not object keys) of
 *   1–4,096 characters without NUL or newline, in first-met order (the store checks which name files).
 * @returns the bytes, the paths of the `FileRef`s met (each once, in first-met order), and the
 *   strings (empty unless `collectStrings`).
 * @throws UnrecordableValueError naming the path and kind of the first value that cannot be
 *   recorded exactly (`outputs.model.fit is a function`); nothing is returned then.
 *
 * @example
 * const { bytes, fileRefs } = encodeValue({ image: file("out/a.nii"), scores: [0.5, 0.25] }, { stage: "register" });
 * fileRefs; // ["out/a.nii"]
 * encodeValue({ fit: () => 1 }, { stage: "train" }); // throws: stage 'train': outputs.fit is a function, …
 */
export function encodeValue(value: unknown, options?: EncodeOptions): EncodedValue {
  return encode(value, options);
}

/**
 * Decodes an entry written by {@link encodeValue}, from `bytes[start]` (its version byte) to
 * `bytes[end - 1]` (its last byte; nothing may follow the value).
 *
 * @throws ValueCodecError for anything that is not exactly one `mpv1` value (wrong version byte,
 *   unknown tag, a length past `end`, trailing bytes…), with the offset where decoding stopped.
 *
 * @example
 * const a: unknown[] = [];
 * a.push(a);
 * const back = decodeValue(encodeValue({ a, n: -0 }).bytes) as { a: unknown[]; n: number };
 * back.a[0] === back.a; // true
 * Object.is(back.n, -0); // true
 */
export function decodeValue(bytes: Uint8Array, start?: number, end?: number): unknown {
  return decode(bytes, start, end);
}
