/**
 * The codecs of an entry's outputs payload, by the name a record gives them. The store is
 * codec-agnostic: it keeps bytes and a codec name, and decodes through this table on a read.
 */
import { decodeOutputs, encodeOutputs } from "./codec.js";
import { decodeFileRefs, encodeFileRefs, hasFileRefs } from "./file-refs.js";

/**
 * Outputs encoded for an entry.
 *
 * @example
 * const p: Payload = encodePayload({ n: 1 }, "s"); // { codec: "json", bytes }
 */
export interface Payload {
  readonly codec: string;
  readonly bytes: Uint8Array;
}

/**
 * Encodes a stage's outputs for the store.
 *
 * @throws UnrecordableValueError naming the path and the stage when part of the value cannot be recorded.
 * @example
 * const p = encodePayload(new Map([[1, 2]]), "s"); decodePayload(p.codec, p.bytes); // Map { 1 => 2 }
 */
export function encodePayload(value: unknown, stage: string): Payload {
  const withRefs = hasFileRefs(value);
  const encoded = encodeOutputs(withRefs ? encodeFileRefs(value) : value, stage);
  return { codec: withRefs ? `${encoded.codec}+files` : encoded.codec, bytes: encoded.bytes };
}

/**
 * Decodes a payload: a fresh value on every call.
 *
 * @throws Error for an unknown codec or bytes that do not decode (the store reads it as damage).
 * @example
 * decodePayload("json", Buffer.from('{"n":1}')); // { n: 1 }
 */
export function decodePayload(codec: string, bytes: Buffer): unknown {
  const files = codec.endsWith("+files");
  const base = files ? codec.slice(0, -"+files".length) : codec;
  if (base !== "json" && base !== "v8") throw new Error(`unknown codec ${JSON.stringify(codec)}`);
  const value = decodeOutputs(base, bytes);
  return files ? decodeFileRefs(value) : value;
}
