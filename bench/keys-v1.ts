/**
 * Baseline of bench/keys.ts, not used by the library: the first key encoder (memopipe-key-v1,
 * src/runtime/cache/canonical.ts before the binary grammar), kept verbatim but for its imports so
 * the benchmark compares the old text encoding with the new one in the same run.
 *
 * The canonical encoding of cache-key material, and its SHA-256 digests.
 *
 * Why not JSON (or a "stable stringify")? Every stable JSON serializer encodes a `Map` and a `Set`
 * as `{}`, a `Date` as its ISO string, `NaN`/`Infinity` as `null`, a `Uint8Array` as the object
 * `{"0":…}`, drops `undefined` properties, loses `-0` and throws on (or rounds) BigInts — each of
 * those is a false cache hit (caching-anchors.md, pitfalls 2 and 3). This encoding is:
 *
 * - **type-tagged**: every value starts with a one-character tag naming its type, so `1`, `"1"`,
 *   `1n`, `new Number(1)` and `[1]` never meet;
 * - **framed**: strings are length-prefixed, numbers are `;`-terminated and containers carry their
 *   size and a closing bracket, so the encoding of a value is never a prefix of another's and
 *   concatenations cannot be re-split differently (`["a,b"]` vs `["a","b"]`);
 * - **canonical**: object keys are sorted; Map entries and Set elements are sorted by their own
 *   encodings, so insertion order never matters where it carries no meaning (it does for arrays);
 * - **versioned**: digests are salted with {@link KEY_FORMAT}; change it whenever the grammar changes.
 *
 * Grammar (one tag character, then the payload):
 *
 * | tag | value | payload |
 * |---|---|---|
 * | `u` `n` `t` `f` | undefined, null, true, false | — |
 * | `d` | number | `String(n)` (`-0` written as `-0`, `NaN`, `Infinity`) then `;` |
 * | `i` | bigint | decimal then `;` |
 * | `s` | well-formed string | `<length>:<text>` |
 * | `w` | string with lone surrogates | `<length>:` then 4 hex digits per UTF-16 unit |
 * | `a` | array | `<length>[` then each element (`h` for a hole) then `]` |
 * | `o` | plain object | `<key count>{` then sorted (string key, value) pairs then `}` |
 * | `M` | Map | `<size>{` then entries (key, value) sorted by their encoding then `}` |
 * | `S` | Set | `<size>{` then elements sorted by their encoding then `}` |
 * | `D` | Date | time value (or `NaN`) then `;` |
 * | `R` | RegExp | source and flags, as strings |
 * | `B` | ArrayBuffer / SharedArrayBuffer | constructor name (string), `<byteLength>:` then base64 |
 * | `V` | typed array, DataView, Buffer | constructor name (string), `<byteLength>:` then base64 of the viewed bytes |
 * | `x` | boxed primitive | `N`/`Z`/`Y`/`I` (Number, String, Boolean, BigInt) then the primitive |
 * | `F` | {@link ResolvedFile} | path, sha256 (strings) and size (number) |
 */
import * as crypto from "node:crypto";
import { createHash, type Hash } from "node:crypto";
import { UnrecordableValueError } from "../src/runtime/errors.js";
import { FileRef, ResolvedFile } from "../src/runtime/cache/types.js";

/**
 * The version of the key grammar. It salts every digest, so a change of the encoding can never
 * make an old entry look like a hit.
 *
 * @example
 * KEY_FORMAT; // "memopipe-key-v1"
 */
export const KEY_FORMAT = "memopipe-key-v1";

/**
 * A path segment, kept unformatted while encoding (formatting every segment of a large value
 * would cost more than the encoding itself); formatted only when an error is thrown.
 * A number is an array index, a string an object key, a `{ raw }` a ready-made segment.
 */
type Segment = number | string | { readonly raw: string };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(root: string, segments: readonly Segment[]): string {
  let out = root;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string") out += IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    else out += s.raw;
  }
  return out;
}

/** A short description of a Map key, for paths: `"a"`, `1`, `#3` (the entry's position) otherwise. */
function describeKey(key: unknown, index: number): string {
  if (typeof key === "string") return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (typeof key === "number" || typeof key === "boolean" || key === null || key === undefined) return String(key);
  if (typeof key === "bigint") return `${key}n`;
  return `#${index}`;
}

// `String.prototype.isWellFormed` is in Node ≥ 20 but not in the ES2022 lib this project compiles against.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const TYPED_ARRAY_NAMES = new Set([
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
]);

/** The name of a known typed array / DataView / Buffer, or undefined for a subclass we do not know. */
function viewName(view: ArrayBufferView): string | undefined {
  const proto = Object.getPrototypeOf(view) as object | null;
  if (view instanceof DataView) return proto === DataView.prototype ? "DataView" : undefined;
  const tag = (view as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
  const ctor = (globalThis as unknown as Record<string, { prototype: object } | undefined>)[tag];
  if (TYPED_ARRAY_NAMES.has(tag) && ctor !== undefined && proto === ctor.prototype) return tag;
  // Buffer is a Uint8Array subclass whose methods differ (`toString()` decodes UTF-8): keep it distinct.
  if (Buffer.isBuffer(view) && proto === Buffer.prototype) return "Buffer";
  return undefined;
}

function bytesBase64(buffer: ArrayBufferLike, offset: number, length: number): string {
  return Buffer.from(buffer, offset, length).toString("base64");
}

function className(value: object): string {
  try {
    const ctor = (value as { constructor?: unknown }).constructor;
    if (typeof ctor === "function" && ctor.name) return ctor.name;
  } catch {
    /* a throwing getter: fall through */
  }
  return Object.prototype.toString.call(value).slice(8, -1);
}

/** How many pieces are joined at a time (see {@link Encoder}). */
const CHUNK_PARTS = 1024;

/**
 * The encoder. Output goes through `emit` into `parts`, which is joined every {@link CHUNK_PARTS}
 * pieces and handed to `sink` (an array for {@link canonicalEncode}, the hash for {@link digest},
 * so a digest never builds the whole encoding as one string).
 *
 * Why chunks: string `+=` in a loop is quadratic in the worst case, and one `join` over millions
 * of small strings measured 3× slower than joining 1,024 at a time (V8 flattens each piece, and
 * the big join leaves its fast path): a 1M-number array took 187 ms one way, 54 ms the other.
 *
 * `ancestors` holds the containers on the current path only, so a value shared twice (`[a, a]`)
 * is fine and only a true cycle throws.
 */
class Encoder {
  private parts: string[] = [];
  private sink: (chunk: string) => void;
  private readonly segments: Segment[] = [];
  private readonly ancestors = new Set<object>();

  constructor(
    private readonly root: string,
    sink: (chunk: string) => void,
  ) {
    this.sink = sink;
  }

  private emit(piece: string): void {
    const parts = this.parts;
    parts.push(piece);
    if (parts.length >= CHUNK_PARTS) {
      this.sink(parts.join(""));
      parts.length = 0;
    }
  }

  /** Hands what is left to the sink. */
  end(): void {
    if (this.parts.length > 0) {
      this.sink(this.parts.join(""));
      this.parts.length = 0;
    }
  }

  private fail(kind: string): never {
    throw new UnrecordableValueError(formatPath(this.root, this.segments), kind);
  }

  private str(s: string): void {
    if (isWellFormed(s)) {
      this.emit(`s${s.length}:`);
      this.emit(s);
      return;
    }
    // A lone surrogate becomes U+FFFD when the text is hashed as UTF-8, so "\uD800" and "\uFFFD"
    // would share a digest; such strings are written as their UTF-16 code units in hex instead.
    let hex = "";
    for (let i = 0; i < s.length; i++) hex += s.charCodeAt(i).toString(16).padStart(4, "0");
    this.emit(`w${s.length}:${hex}`);
  }

  private num(n: number): void {
    this.emit(Object.is(n, -0) ? "d-0;" : `d${n};`);
  }

  /** Encodes `value` into a separate string (for the sortable members of Maps and Sets). */
  private sub(value: unknown): string {
    const { parts, sink } = this;
    const chunks: string[] = [];
    this.parts = [];
    this.sink = (chunk) => chunks.push(chunk);
    try {
      this.value(value);
      this.end();
    } finally {
      this.parts = parts;
      this.sink = sink;
    }
    return chunks.length === 1 ? chunks[0]! : chunks.join("");
  }

  value(value: unknown): void {
    switch (typeof value) {
      case "string":
        this.str(value);
        return;
      case "number":
        this.num(value);
        return;
      case "boolean":
        this.emit(value ? "t" : "f");
        return;
      case "undefined":
        this.emit("u");
        return;
      case "bigint":
        this.emit(`i${value};`);
        return;
      case "symbol":
        this.fail("symbol");
      case "function":
        this.fail("function");
      case "object":
        if (value === null) {
          this.emit("n");
          return;
        }
        this.object(value);
        return;
      default:
        this.fail(typeof value);
    }
  }

  private object(value: object): void {
    if (this.ancestors.has(value)) this.fail("circular reference");
    this.ancestors.add(value);
    try {
      this.container(value);
    } finally {
      this.ancestors.delete(value);
    }
  }

  private container(value: object): void {
    const segments = this.segments;
    const proto = Object.getPrototypeOf(value) as object | null;

    if (Array.isArray(value)) {
      if (proto !== ARRAY_PROTO) this.fail(`class instance (${className(value)})`);
      const arr = value as unknown[];
      const n = arr.length;
      this.emit(`a${n}[`);
      segments.push(0);
      const top = segments.length - 1;
      for (let i = 0; i < n; i++) {
        segments[top] = i;
        // `i in arr` tells a hole from an explicit undefined.
        if (arr[i] === undefined && !(i in arr)) this.emit("h");
        else this.value(arr[i]);
      }
      segments.pop();
      this.emit("]");
      return;
    }

    if (proto === OBJECT_PROTO || proto === null) {
      // A plain object: the same data whatever its prototype (Object.prototype or null).
      if (Object.getOwnPropertySymbols(value).some((s) => Object.prototype.propertyIsEnumerable.call(value, s))) {
        this.fail("object with symbol keys");
      }
      const keys = Object.keys(value).sort();
      this.emit(`o${keys.length}{`);
      const record = value as Record<string, unknown>;
      segments.push("");
      const top = segments.length - 1;
      for (const k of keys) {
        segments[top] = k;
        this.str(k);
        this.value(record[k]);
      }
      segments.pop();
      this.emit("}");
      return;
    }

    if (value instanceof ResolvedFile) {
      this.emit("F");
      this.str(value.path);
      this.str(value.sha256);
      this.num(value.size);
      return;
    }
    if (value instanceof FileRef) this.fail("file() reference that was not resolved to its contents (call resolveFiles first)");

    if (value instanceof Map) {
      if (proto !== Map.prototype) this.fail(`class instance (${className(value)})`);
      const entries: string[] = [];
      let i = 0;
      for (const [k, v] of value) {
        segments.push({ raw: `<map key #${i}>` });
        const ek = this.sub(k);
        segments[segments.length - 1] = { raw: `<map value at ${describeKey(k, i)}>` };
        const ev = this.sub(v);
        segments.pop();
        // Keys are prefix-free, so sorting the concatenations orders by key, then by value (two
        // distinct keys can share an encoding, e.g. two different `{}` objects).
        entries.push(ek + ev);
        i++;
      }
      entries.sort();
      this.emit(`M${entries.length}{`);
      for (const e of entries) this.emit(e);
      this.emit("}");
      return;
    }

    if (value instanceof Set) {
      if (proto !== Set.prototype) this.fail(`class instance (${className(value)})`);
      const elements: string[] = [];
      let i = 0;
      for (const v of value) {
        segments.push({ raw: `<set element #${i}>` });
        elements.push(this.sub(v));
        segments.pop();
        i++;
      }
      elements.sort();
      this.emit(`S${elements.length}{`);
      for (const e of elements) this.emit(e);
      this.emit("}");
      return;
    }

    if (value instanceof Date) {
      if (proto !== Date.prototype) this.fail(`class instance (${className(value)})`);
      this.emit(`D${value.getTime()};`);
      return;
    }

    if (value instanceof RegExp) {
      if (proto !== RegExp.prototype) this.fail(`class instance (${className(value)})`);
      this.emit("R");
      this.str(value.source);
      this.str(value.flags);
      return;
    }

    if (ArrayBuffer.isView(value)) {
      const name = viewName(value);
      if (name === undefined) this.fail(`class instance (${className(value)})`);
      this.emit("V");
      this.str(name);
      this.emit(`${value.byteLength}:`);
      this.emit(bytesBase64(value.buffer, value.byteOffset, value.byteLength));
      return;
    }
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) {
      const name = value instanceof ArrayBuffer ? "ArrayBuffer" : "SharedArrayBuffer";
      if (proto !== (value instanceof ArrayBuffer ? ArrayBuffer.prototype : SharedArrayBuffer.prototype)) {
        this.fail(`class instance (${className(value)})`);
      }
      this.emit("B");
      this.str(name);
      this.emit(`${value.byteLength}:`);
      this.emit(bytesBase64(value, 0, value.byteLength));
      return;
    }

    // Boxed primitives: `new Number(1)` is not `1` (typeof, truthiness of `new Boolean(false)`).
    if (value instanceof Number && proto === Number.prototype) {
      this.emit("xN");
      this.num(value.valueOf());
      return;
    }
    if (value instanceof String && proto === String.prototype) {
      this.emit("xZ");
      this.str(value.valueOf());
      return;
    }
    if (value instanceof Boolean && proto === Boolean.prototype) {
      this.emit(value.valueOf() ? "xYt" : "xYf");
      return;
    }
    if (typeof BigInt === "function" && value instanceof BigInt && proto === BigInt.prototype) {
      this.emit(`xI${value.valueOf() as bigint};`);
      return;
    }

    if (value instanceof Promise) this.fail("Promise (await it before passing it)");
    if (value instanceof WeakMap) this.fail("WeakMap");
    if (value instanceof WeakSet) this.fail("WeakSet");
    if (value instanceof WeakRef) this.fail("WeakRef");
    if (value instanceof Symbol) this.fail("boxed symbol");
    this.fail(`class instance (${className(value)})`);
  }
}

/**
 * The canonical encoding of a value: a deterministic string in which two values are equal exactly
 * when they are the same data (see the grammar at the top of this file). Object key order, Map
 * insertion order and Set insertion order do not count; array order, holes, `-0`, `NaN`,
 * `undefined` vs a missing property, BigInt vs number, and the concrete typed-array type do.
 *
 * @param path how the value is named in error messages (`inputs.ref`, …).
 * @throws UnrecordableValueError for functions, symbols, Promises, WeakMaps/WeakSets, class
 *   instances (other than Date, RegExp, Map, Set, typed arrays, Buffer, ResolvedFile) and cycles,
 *   naming where the value is: `value.options.cb`, `value[2]`, `value<map value at "k">`.
 *
 * @example
 * canonicalEncode({ b: [1, "1"], a: -0 }); // 'o2{s1:ad-0;s1:ba2[d1;s1:1]}'
 * canonicalEncode({ cb: () => {} });       // throws UnrecordableValueError: value.cb is a function…
 */
export function canonicalEncode(value: unknown, path = "value"): string {
  const chunks: string[] = [];
  const encoder = new Encoder(path, (chunk) => chunks.push(chunk));
  encoder.value(value);
  encoder.end();
  return chunks.join("");
}

/** `crypto.hash` (Node ≥ 20.12), when this Node has it. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/** SHA-256 hex of `prefix` then the encoding of `value`, fed to the hash chunk by chunk. */
function hashEncoding(prefix: string, value: unknown, path: string): string {
  // Small values (the common case) end in one chunk: one-shot `crypto.hash` costs about half of
  // `createHash().update().digest()` (0.4 vs 0.85 µs). Larger ones stream into a Hash.
  let first: string | undefined;
  let hash: Hash | undefined;
  const encoder = new Encoder(path, (chunk) => {
    if (hash !== undefined) hash.update(chunk, "utf8");
    else if (first === undefined) first = chunk;
    else hash = createHash("sha256").update(prefix, "utf8").update(first, "utf8").update(chunk, "utf8");
  });
  encoder.value(value);
  encoder.end();
  if (hash !== undefined) return hash.digest("hex");
  const text = prefix + (first ?? "");
  return oneShot !== undefined ? oneShot("sha256", text, "hex") : createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * SHA-256 (hex) of {@link KEY_FORMAT} and the canonical encoding of a value: what an input's
 * digest is (files resolved first with `resolveFiles`).
 *
 * @example
 * digest(new Map([["a", 1], ["b", 2]])) === digest(new Map([["b", 2], ["a", 1]])); // true
 * digest(0) === digest(-0); // false
 */
export function digest(value: unknown, path?: string): string {
  return hashEncoding(`${KEY_FORMAT}\n`, value, path ?? "value");
}

/**
 * The cache key of one stage run: SHA-256 (hex) of the canonical encoding of
 * `[KEY_FORMAT, stage, code, inputs]`, where `inputs` maps each input name to its {@link digest}.
 *
 * @example
 * cacheKey({ stage: "register", code: fingerprint, inputs: { ref: digest(ref), image: digest(img) } });
 */
export function cacheKey(parts: { stage: string; code: string; inputs: Readonly<Record<string, string>> }): string {
  return hashEncoding("", [KEY_FORMAT, parts.stage, parts.code, parts.inputs], "key");
}
