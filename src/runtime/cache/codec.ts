/**
 * The outputs codec of the directory store: plain JSON when the value survives JSON exactly (people
 * can read it, as memori's records), else Node's own structured-clone format (`node:v8`).
 *
 * Why v8 and not msgpackr: v8 is built into Node (no dependency, no native addon to install), and
 * it restores Map, Set, Date, BigInt, every typed array, `undefined`, `-0`, `NaN`, sparse arrays and
 * shared or cyclic references as they were. msgpackr (2.1.3, native extension loaded, structured
 * clone + records) is faster to decode but turned `-0` into `0` in the same test. Measured on this
 * machine (Node 20.20, 2-vCPU AMD EPYC), a mixed value of 6,500 records (strings, numbers, Dates,
 * BigInts, nulls, undefined) + a 1,000-entry Map + a 6,500-entry Set + a 20,000-element
 * Float64Array, 100 rounds after warm-up:
 *
 * | codec    | bytes   | encode    | decode     | encode+decode |
 * |----------|---------|-----------|------------|---------------|
 * | v8       | 918,336 | 4.1–5.5 ms | 10.6–10.8 ms | 12.0–14.5 ms |
 * | msgpackr | 535,700 | 4.8–5.2 ms | 2.7–3.0 ms  | 8.0–8.8 ms   |
 *
 * So a v8 hit on a 1 MB value costs ~8 ms more than msgpackr would; correctness (`-0`) and no
 * dependency decided it. The codec is named in every record, so another can be added later.
 */

import { deserialize, serialize } from "../lazy-builtins.js";
import { UnrecordableValueError } from "../errors.js";

/**
 * Outputs encoded for the store: the codec, the file it goes to, and its bytes.
 *
 * @example
 * const e: EncodedOutputs = encodeOutputs([1, 2], "s"); // { codec: "json", file: "outputs.json", bytes }
 */
export interface EncodedOutputs {
  readonly codec: "json" | "v8";
  readonly file: "outputs.json" | "outputs.bin";
  readonly bytes: Buffer;
}

/**
 * The file each codec writes, the only names a record may give (a record cannot point elsewhere).
 *
 * @example
 * CODEC_FILES.v8; // "outputs.bin"
 */
export const CODEC_FILES = { json: "outputs.json", v8: "outputs.bin" } as const;

/**
 * Prototypes whose objects v8 rebuilds exactly. Anything else (class instances, Map/Set subclasses,
 * Errors, Promises, WeakMaps…) would come back as a plain object, or not at all: that is a wrong
 * value on a hit, so it is refused up front. Null-prototype objects come back with
 * `Object.prototype` (same own properties): accepted as plain data.
 */
const REBUILDABLE = new Set<unknown>([
  Object.prototype,
  null,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  Buffer.prototype,
  Number.prototype,
  String.prototype,
  Boolean.prototype,
  BigInt.prototype,
  ...[
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  ].map((c) => c.prototype),
]);

/** A node of the walk; `up` links to the parent so a path is built only when something is wrong. */
interface Step {
  readonly value: unknown;
  readonly key: string;
  readonly up: Step | undefined;
}

function pathOf(step: Step): string {
  const parts: string[] = [];
  for (let s: Step | undefined = step; s; s = s.up) parts.push(s.key);
  return parts.reverse().join("");
}

function propertyKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function kindOf(value: unknown): string {
  if (typeof value === "function") return "function";
  if (typeof value === "symbol") return "symbol";
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const name = proto?.constructor?.name;
  return name ? `${name} instance` : "object of an unknown class";
}

/**
 * Walks `value` once and tells (a) whether it survives `JSON.stringify` + `JSON.parse` exactly, and
 * (b) the first part of it no codec can rebuild, with its path. Iterative, so deep values do not
 * overflow the stack; each object is visited once, so cycles terminate (and, like shared
 * references, make the value non-JSON: JSON would duplicate or reject them).
 */
function inspect(value: unknown, root: string): { json: boolean; problem?: { path: string; kind: string } } {
  let json = true;
  let problem: { path: string; kind: string } | undefined;
  const seen = new Set<object>();
  const stack: Step[] = [];
  // Primitives are judged on the spot (a million-number array allocates no Step); objects are queued.
  const visit = (v: unknown, key: string, up: Step | undefined): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v) || Object.is(v, -0)) json = false;
        return;
      case "undefined":
      case "bigint":
        json = false;
        return;
      case "function":
      case "symbol":
        problem ??= { path: pathOf({ value: v, key, up }), kind: kindOf(v) };
        return;
      default:
        if (v !== null) stack.push({ value: v, key, up });
    }
  };
  visit(value, root, undefined);
  while (stack.length > 0 && !problem) {
    const step = stack.pop()!;
    const obj = step.value as object;
    if (seen.has(obj)) {
      json = false;
      continue;
    }
    seen.add(obj);
    const proto: unknown = Object.getPrototypeOf(obj);
    if (!REBUILDABLE.has(proto)) return { json: false, problem: { path: pathOf(step), kind: kindOf(obj) } };
    if (Object.getOwnPropertySymbols(obj).length > 0) return { json: false, problem: { path: pathOf(step), kind: "object with symbol-keyed properties" } };
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      json = false; // raw bytes: nothing inside to check
    } else if (obj instanceof Map) {
      json = false;
      let i = 0;
      for (const [k, item] of obj) {
        visit(k, `.<key ${i}>`, step);
        visit(item, `.<value ${i++}>`, step);
      }
    } else if (obj instanceof Set) {
      json = false;
      let i = 0;
      for (const item of obj) visit(item, `.<item ${i++}>`, step);
    } else if (proto === Array.prototype) {
      const arr = obj as unknown[];
      let holes = false;
      for (let i = 0; i < arr.length; i++) {
        if (i in arr) visit(arr[i], `[${i}]`, step);
        else holes = true; // JSON would write null
      }
      // extra non-index properties: JSON drops them, v8 keeps them
      const keys = Object.keys(arr);
      if (holes || keys.length !== arr.length) {
        json = false;
        for (const k of keys) if (!/^\d+$/.test(k)) visit((arr as unknown as Record<string, unknown>)[k], propertyKey(k), step);
      }
    } else {
      if (proto !== Object.prototype) json = false; // Date, RegExp, boxed primitives, null prototype
      const record = obj as Record<string, unknown>;
      for (const k of Object.keys(record)) visit(record[k], propertyKey(k), step);
    }
  }
  return problem ? { json: false, problem } : { json };
}

/**
 * Encodes a stage's outputs: pretty JSON when the value round-trips through JSON exactly (only
 * plain objects, arrays, strings, finite numbers other than `-0`, booleans and null, no shared
 * references), else `v8.serialize`.
 *
 * @param stage named in the error.
 * @throws UnrecordableValueError naming the path and kind of the first value no codec can rebuild
 *   (a function, a symbol, a class instance…); nothing has been written then.
 * @example
 * encodeOutputs({ n: 1 }, "s").codec;          // "json"
 * encodeOutputs(new Map([[1, 2]]), "s").codec; // "v8"
 * encodeOutputs({ f: () => 1 }, "s");          // throws UnrecordableValueError: outputs.f is a function
 */
/**
 * Whether `value` is plain JSON that round-trips exactly (no `undefined`, `-0`, `NaN`, Date, Map…):
 * what the records show verbatim for people reading them.
 *
 * @example
 * isExactJson({ a: [1, "x", null] }); // true
 * isExactJson({ d: new Date() });     // false
 */
export function isExactJson(value: unknown): boolean {
  try {
    return inspect(value, "value").json;
  } catch {
    return false;
  }
}

export function encodeOutputs(value: unknown, stage: string): EncodedOutputs {
  const { json, problem } = inspect(value, "outputs");
  if (problem) throw new UnrecordableValueError(problem.path, problem.kind, stage);
  if (json) {
    try {
      return { codec: "json", file: CODEC_FILES.json, bytes: Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8") };
    } catch {
      // too deep for JSON.stringify's recursion: the binary codec may still manage
    }
  }
  try {
    return { codec: "v8", file: CODEC_FILES.v8, bytes: serialize(value) };
  } catch (error) {
    const kind = error instanceof RangeError ? "value nested too deeply" : `value v8 cannot serialize (${error instanceof Error ? error.message : String(error)})`;
    throw new UnrecordableValueError("outputs", kind, stage);
  }
}

/**
 * Decodes bytes written by {@link encodeOutputs}. Throws on malformed input (the store turns that
 * into a `corrupt` read; it has checked the digest first).
 *
 * @example
 * const { codec, bytes } = encodeOutputs(new Set([1]), "s");
 * decodeOutputs(codec, bytes); // Set { 1 }
 */
export function decodeOutputs(codec: "json" | "v8", bytes: Buffer): unknown {
  return codec === "json" ? JSON.parse(bytes.toString("utf8")) : deserialize(bytes);
}
