/**
 * The codecs of an entry's outputs payload, by the name a record gives them. The store is
 * codec-agnostic: it keeps bytes and a codec name, and decodes through this table on a read.
 *
 * Entries are written in `mpv1` (value-codec.ts: binary, iterative, identity-keeping, several times
 * faster to decode than JSON or V8 for number arrays). The codec is named in every entry, so another
 * can be added without breaking what is stored.
 */
import { decodeValue, encodeValue, VALUE_CODEC } from "./value-codec.js";

/**
 * Outputs encoded for an entry, with what the encoder saw of files: the paths of `file()` values,
 * and (when asked) every string value, for the store to check which name files.
 *
 * @example
 * const p: Payload = encodePayload({ n: 1 }, "s"); // { codec: "mpv1", bytes, fileRefs: [], strings: [] }
 */
export interface Payload {
  readonly codec: string;
  readonly bytes: Uint8Array;
  readonly fileRefs?: readonly string[];
  readonly strings?: readonly string[];
}

/**
 * Encodes a stage's outputs for the store.
 *
 * @throws UnrecordableValueError naming the path and the stage when part of the value cannot be recorded.
 * @example
 * const p = encodePayload(new Map([[1, 2]]), "s"); decodePayload(p.codec, p.bytes); // Map { 1 => 2 }
 */
export function encodePayload(value: unknown, stage: string, options: { readonly collectStrings?: boolean } = {}): Payload {
  const encoded = encodeValue(value, { path: "outputs", stage, collectStrings: options.collectStrings === true });
  return { codec: VALUE_CODEC, bytes: encoded.bytes, fileRefs: encoded.fileRefs, strings: encoded.strings };
}

/**
 * Decodes a payload (`bytes[start, end)`, all of it by default): a fresh value on every call.
 *
 * @throws Error for an unknown codec or bytes that do not decode (the store reads it as damage).
 * @example
 * decodePayload("mpv1", bytes); // the value encodePayload was given
 */
export function decodePayload(codec: string, bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  if (codec !== VALUE_CODEC) throw new Error(`unknown codec ${JSON.stringify(codec)}`);
  return decodeValue(bytes, start, end);
}
