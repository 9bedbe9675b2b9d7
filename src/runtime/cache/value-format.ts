/**
 * The byte format of cached values, `mpv1` (see {@link VALUE_CODEC}): the tags, the constants both
 * directions share, and the decode error. The encoder is value-encode.ts, the decoder
 * value-decode.ts, the public face value-codec.ts.
 *
 * An entry is one version byte (`0x01`) then one value. A value is one tag byte then its payload.
 * All multi-byte numbers are little-endian. `varint` is unsigned LEB128 (7 bits a byte, low group
 * first, high bit set on every byte but the last; at most 8 bytes, at most 2^53 − 1). `str` is a
 * value that must be one of the three string forms (tags 0x08–0x0A).
 *
 * | tag | value | payload |
 * |---|---|---|
 * | `0x00` `0x01` `0x02` `0x03` | undefined, null, false, true | — |
 * | `0x04` | a hole (inside an array only) | — |
 * | `0x80`–`0xFF` | integer 0–127 | — (the value is `tag − 0x80`) |
 * | `0x05` | int32 (not `-0`) | 4 bytes, signed |
 * | `0x06` | any other number (`-0`, `NaN`, `±Infinity` exact) | 8 bytes, float64 |
 * | `0x07` | bigint | varint n, then n ASCII bytes: `value.toString(16)` (`-` first when negative) |
 * | `0x08` | string of one-byte characters (U+0000–U+00FF) | 1 byte n (≤ 255), then n bytes, one per character |
 * | `0x09` | well-formed string | varint n, then n bytes of UTF-8 |
 * | `0x0A` | string with lone surrogates | varint n, then n UTF-16LE code units (2n bytes) |
 * | `0x0B` | back-reference | varint id: the id-th object of this entry in the order they were first met (0-based) |
 * | `0x10` | array | varint length, then `length` values (`0x04` for a hole) |
 * | `0x11` | sparse array | varint length, varint count, then count × (varint index, value), indices increasing |
 * | `0x12` | packed number array | varint n, then n float64s |
 * | `0x13` | packed int32 array | varint n, then n int32s (every element an int32, none `-0`) |
 * | `0x14` | packed byte array | varint n, then n bytes (every element an integer 0–255, none `-0`) |
 * | `0x15` | plain object | shape, then a value for each of its keys |
 * | `0x16` | object with a null prototype | same as `0x15` |
 * | `0x17` | Map | varint size, then size × (key value, value) |
 * | `0x18` | Set | varint size, then size values |
 * | `0x19` | Date | 8 bytes, float64 time value (`NaN` for an invalid date) |
 * | `0x1A` | RegExp | str source, str flags, number value `lastIndex` |
 * | `0x1B` | ArrayBuffer | varint n, then n bytes |
 * | `0x1C` | typed array, Buffer, DataView | 1 byte kind (see {@link VIEW_KINDS}), varint n, then n bytes (the viewed bytes) |
 * | `0x1D` | `new Number(x)` | 8 bytes, float64 |
 * | `0x1E` | `new String(s)` | str |
 * | `0x1F` `0x20` | `new Boolean(false)`, `new Boolean(true)` | — |
 * | `0x21` | `Object(1n)` | as bigint (`0x07`) without the tag |
 * | `0x22` | `FileRef` | str path |
 *
 * A **shape** (the keys of an object, in order) is `varint s`: `0` means a new shape follows,
 * `varint count` then count keys, which is given the next number of the entry's shape table;
 * `s ≥ 1` is the (s−1)-th shape of that table. A **key** is `varint k`: `0` means a new key follows
 * (a str), which is given the next number of the entry's key table; `k ≥ 1` is the (k−1)-th key of
 * that table. So 10,000 records `{ id, name }` store their two keys once and one byte of shape
 * each, and the decoder makes every record from one template.
 *
 * **Identity.** Every object (anything not a primitive: arrays, plain objects, Maps, Dates, typed
 * arrays, FileRefs…) gets the next id when it is first written, before its contents; meeting it
 * again writes `0x0B id`. The decoder numbers objects in the same order (when it reads their tag,
 * before their contents), so shared references and cycles come back as the same graph.
 *
 * Nothing is padded or aligned: the decoder reads float64s through a DataView, which measured as
 * fast unaligned as a Float64Array over aligned bytes (bench/codec.ts).
 */
import { MemopipeError } from "../errors.js";

/** The first byte of every entry; a new format gets a new byte (and a new {@link VALUE_CODEC}). */
export const FORMAT_VERSION = 0x01;

/**
 * The name of this format, to be recorded with every entry that uses it.
 *
 * @example
 * const record = { codec: VALUE_CODEC, sha256 }; // { codec: "mpv1", … }
 */
export const VALUE_CODEC = "mpv1";

// Tags. Plain numeric constants (not a TS enum) so both files compare against literals.
export const T_UNDEFINED = 0x00;
export const T_NULL = 0x01;
export const T_FALSE = 0x02;
export const T_TRUE = 0x03;
export const T_HOLE = 0x04;
export const T_INT32 = 0x05;
export const T_FLOAT64 = 0x06;
export const T_BIGINT = 0x07;
export const T_LATIN1 = 0x08;
export const T_UTF8 = 0x09;
export const T_UTF16 = 0x0a;
export const T_REF = 0x0b;
export const T_ARRAY = 0x10;
export const T_SPARSE_ARRAY = 0x11;
export const T_PACKED_F64 = 0x12;
export const T_PACKED_I32 = 0x13;
export const T_PACKED_U8 = 0x14;
export const T_OBJECT = 0x15;
export const T_NULL_OBJECT = 0x16;
export const T_MAP = 0x17;
export const T_SET = 0x18;
export const T_DATE = 0x19;
export const T_REGEXP = 0x1a;
export const T_ARRAY_BUFFER = 0x1b;
export const T_VIEW = 0x1c;
export const T_BOXED_NUMBER = 0x1d;
export const T_BOXED_STRING = 0x1e;
export const T_BOXED_FALSE = 0x1f;
export const T_BOXED_TRUE = 0x20;
export const T_BOXED_BIGINT = 0x21;
export const T_FILE_REF = 0x22;
/** Tags from here up are small integers: `tag − T_SMALL_INT`. */
export const T_SMALL_INT = 0x80;

/**
 * The views of tag `0x1C`, by kind byte. Buffer is its own kind (a Uint8Array subclass whose
 * methods differ: it must come back a Buffer).
 */
export const VIEW_KINDS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
export const VIEW_BUFFER = 11;
export const VIEW_DATAVIEW = 12;

/**
 * The methods behind `buf.toString(encoding, start, end)` and `buf.write(string, offset, encoding)`
 * for one encoding each. Not in @types/node, but on Buffer.prototype since Node 0.x (msgpackr,
 * protobufjs and avsc call them): they skip the encoding-name dispatch, 20–30 ns a call, which is
 * a fair share of a short string.
 */
export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number): number;
  utf8Write(s: string, offset: number): number;
  ucs2Write(s: string, offset: number): number;
}

/**
 * Bytes that are not a value of this format: a wrong version byte, an unknown tag, a length longer
 * than the bytes left, trailing bytes… `offset` is where the decoder gave up (from the start of
 * the entry). The store reads it as a corrupt entry (its checksum normally catches damage first).
 *
 * @example
 * try { decodeValue(Buffer.from([1, 0x42])); } catch (e) { if (e instanceof ValueCodecError) console.log(e.offset); } // 1
 */
export class ValueCodecError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_VALUE_CODEC";
  constructor(
    message: string,
    /** Byte offset (from the entry's first byte) where decoding stopped. */
    readonly offset: number,
    /** Set only when the platform itself refused something (see decodeValue); never for malformed bytes. */
    cause?: unknown,
  ) {
    super(`cannot decode cached value (${VALUE_CODEC}) at byte ${offset}: ${message}`, cause === undefined ? undefined : { cause });
  }
}
