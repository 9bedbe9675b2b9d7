/**
 * The canonical encoding of cache-key material, and its SHA-256 digests.
 *
 * Why not JSON (or a "stable stringify")? Every stable JSON serializer encodes a `Map` and a `Set`
 * as `{}`, a `Date` as its ISO string, `NaN`/`Infinity` as `null`, a `Uint8Array` as the object
 * `{"0":…}`, drops `undefined` properties, loses `-0` and throws on (or rounds) BigInts — each of
 * those is a false cache hit (caching-anchors.md, pitfalls 2 and 3). This encoding is:
 *
 * - **type-tagged**: every value starts with a tag byte naming its type, so `1`, `"1"`, `1n`,
 *   `new Number(1)` and `[1]` never meet;
 * - **framed**: strings and byte runs are length-prefixed, numbers have a fixed width, containers
 *   start with their size, so the encoding of a value is never a prefix of another's and
 *   concatenations cannot be re-split differently (`["a,b"]` vs `["a","b"]`);
 * - **canonical**: object keys are sorted; Map entries and Set elements are sorted by their own
 *   encodings, so insertion order never matters where it carries no meaning (it does for arrays);
 * - **versioned**: digests are salted with {@link KEY_FORMAT}; change it whenever the grammar changes.
 *
 * Grammar (v2, binary). Tags are single bytes, chosen as ASCII letters so a hex dump stays
 * readable. `varint` is unsigned LEB128; `str` is a string as in the `s`/`w` rows (tag included).
 *
 * | tag | value | payload |
 * |---|---|---|
 * | `u` `n` `t` `f` | undefined, null, true, false | — |
 * | `d` | number | float64, little-endian (`-0` kept; every NaN as `7ff8000000000000`) |
 * | `i` | bigint | varint length, then its decimal digits (ASCII, `-` first when negative) |
 * | `s` | well-formed string | varint length in UTF-16 units, then the UTF-8 bytes |
 * | `w` | string with lone surrogates | varint length in UTF-16 units, then each unit as 2 bytes LE |
 * | `a` | array | varint length, then each element (`h` for a hole) |
 * | `o` | plain object (prototype `Object.prototype` or `null`) | varint key count, then (`str` key, value) pairs sorted by key (UTF-16 order) |
 * | `M` | Map | varint size, then the entries' (key, value) encodings, sorted bytewise |
 * | `S` | Set | varint size, then the elements' encodings, sorted bytewise |
 * | `D` | Date | its time value as a `d` payload (NaN when invalid) |
 * | `R` | RegExp | source and flags, as `str` (lastIndex is state, not data) |
 * | `B` | ArrayBuffer / SharedArrayBuffer | constructor name (`str`), varint byte length, the bytes |
 * | `V` | typed array, DataView, Buffer | constructor name (`str`), varint byte length, the viewed bytes |
 * | `x` | boxed primitive | `N`/`Z`/`Y`/`I` (Number, String, Boolean, BigInt), then the primitive's encoding |
 * | `F` | {@link ResolvedFile} | path and sha256 (`str`), size (`d` encoding) |
 *
 * A digest is SHA-256 over `KEY_FORMAT`, `"\n"`, then the encoding. Values are walked with an
 * explicit stack (no recursion), so a 100,000-level value encodes like a flat one; only a true cycle
 * throws ({@link UnrecordableValueError} "circular reference", with its path).
 */
import { UnrecordableValueError } from "../errors.js";
import { KeyWriter, TAG_NUMBER } from "./key-writer.js";
import { FileRef, ResolvedFile } from "./types.js";

/**
 * The version of the key grammar. It salts every digest, so a change of the encoding can never
 * make an old entry look like a hit.
 *
 * @example
 * KEY_FORMAT; // "memopipe-key-v2"
 */
export const KEY_FORMAT = "memopipe-key-v2";

const T = {
  undefined: 0x75, // u
  null: 0x6e, // n
  true: 0x74, // t
  false: 0x66, // f
  number: TAG_NUMBER, // d
  bigint: 0x69, // i
  array: 0x61, // a
  hole: 0x68, // h
  object: 0x6f, // o
  map: 0x4d, // M
  set: 0x53, // S
  date: 0x44, // D
  regexp: 0x52, // R
  buffer: 0x42, // B
  view: 0x56, // V
  boxed: 0x78, // x
  boxedNumber: 0x4e, // N
  boxedString: 0x5a, // Z
  boxedBoolean: 0x59, // Y
  boxedBigint: 0x49, // I
  file: 0x46, // F
} as const;

/**
 * Turns file names met in value positions into {@link ResolvedFile}s while a value is encoded (the
 * single-pass key path of key-material.ts). Map keys and object keys are never resolved, as in
 * `resolveFiles`.
 *
 * @example
 * const resolver: FileResolver = { file: (ref) => lookup(ref.path), string: (s) => undefined };
 */
export interface FileResolver {
  /** The digest of a `file(path)`; throws when the file cannot be hashed. */
  file(ref: FileRef): ResolvedFile;
  /** The digest of a string that names a regular file, or undefined when it does not. */
  string(s: string): ResolvedFile | undefined;
}

const ARRAY = 0;
const OBJECT = 1;
const MAP = 2;
const SET = 3;

/**
 * One open container on the explicit stack. One class for all kinds (fields unused by a kind stay
 * at their defaults) so every frame has the same hidden class and the walk stays monomorphic.
 * `i` is the index of the child being encoded (-1 before the first): error paths are read from it.
 */
class Frame {
  kind = ARRAY;
  container: object = Frame;
  i = -1;
  n = 0;
  keys: string[] | undefined = undefined;
  iter: Iterator<unknown> | undefined = undefined;
  /** Map: 1 while the current entry's key is encoded, 2 while its value is. */
  phase = 0;
  key: unknown = undefined;
  value: unknown = undefined;
  /** Map: whether the current key is an object (it may hold strings, which are never resolved as file names). */
  keyIsObject = false;
  /** Map/Set: where the body starts, and where each complete entry ends. */
  start = 0;
  ends: number[] = [];
}

/**
 * The cycle check. A container is compared with the first {@link SCAN} frames of the path (a few
 * pointer compares for the usual shallow value, no Set insert/delete per container — those cost
 * ~60 ns each and, with the garbage they leave, made a 100,000-level array take 0.5 µs a level).
 * Deeper than that, only every {@link SAMPLE}-th frame's container goes into a Set. That still
 * finds every cycle: a cycle of length c repeats its containers every c levels, so within
 * SAMPLE·c levels one of them comes back at a sampled depth and is found in the Set. The walk may
 * go up to SAMPLE rounds of the cycle too far before it notices; the error then names the first
 * repetition on the path (found once, when the error is built), as an exact check would.
 */
const SCAN = 16;
const SAMPLE = 8;

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const MAP_PROTO = Map.prototype;
const SET_PROTO = Set.prototype;
const DATE_PROTO = Date.prototype;
const REGEXP_PROTO = RegExp.prototype;
const hasEnumerableSymbol = (o: object): boolean => {
  const symbols = Object.getOwnPropertySymbols(o);
  for (const s of symbols) if (Object.prototype.propertyIsEnumerable.call(o, s)) return true;
  return false;
};

/** The encoder: one per writer, reused; `run` encodes one value. */
class Encoder {
  readonly w = new KeyWriter();
  private readonly frames: Frame[] = [];
  private depth = 0;
  private readonly deep = new Set<object>();
  private root = "value";
  private resolver: FileResolver | undefined = undefined;
  /** How many Map keys that are objects are open: file names inside a Map key are never resolved (as in `resolveFiles`). */
  private inKey = 0;

  run(value: unknown, root: string, resolver: FileResolver | undefined): void {
    this.root = root;
    this.resolver = resolver;
    this.inKey = 0;
    if (typeof value !== "object" || value === null) return this.primitive(value);
    this.open(value);
    while (this.depth > 0) {
      const f = this.frames[this.depth - 1]!;
      const child = f.kind === OBJECT ? this.stepObject(f) : f.kind === ARRAY ? this.stepArray(f) : f.kind === MAP ? this.stepMap(f) : this.stepSet(f);
      if (child !== undefined) this.open(child);
    }
  }

  /** Drops what the last `run` left: frames after an error, the deep set, the resolver. */
  reset(): void {
    while (this.depth > 0) this.pop();
    if (this.deep.size > 0) this.deep.clear();
    this.resolver = undefined;
    // Keep the pool of frames small after a very deep value.
    if (this.frames.length > 4096) this.frames.length = 4096;
  }

  // ---- children ----------------------------------------------------------------------------
  // Each step writes primitive children inline and returns the next object child (left for `open`,
  // which may push a frame), or undefined once the container is complete (then popped).

  private stepObject(f: Frame): object | undefined {
    const keys = f.keys!;
    const record = f.container as Record<string, unknown>;
    const w = this.w;
    for (;;) {
      const i = ++f.i;
      if (i >= f.n) return this.pop();
      const k = keys[i]!;
      // An own "__proto__" key is read as the own property (it shadows Object.prototype's accessor).
      const x = record[k];
      w.str(k);
      if (typeof x === "number") w.tagF64(T.number, x);
      else if (typeof x === "object" && x !== null) return x;
      else this.primitive(x);
    }
  }

  private stepArray(f: Frame): object | undefined {
    const arr = f.container as unknown[];
    const w = this.w;
    for (;;) {
      const i = ++f.i;
      if (i >= f.n) return this.pop();
      const x = arr[i];
      if (typeof x === "number") w.tagF64(T.number, x);
      else if (typeof x === "object" && x !== null) return x;
      // `i in arr` tells a hole from an explicit undefined.
      else if (x === undefined && !(i in arr)) w.u8(T.hole);
      else this.primitive(x);
    }
  }

  private stepMap(f: Frame): object | undefined {
    const w = this.w;
    for (;;) {
      if (f.phase === 1) {
        // The key is complete: now its value.
        if (f.keyIsObject) this.inKey--;
        f.phase = 2;
        const x = f.value;
        if (typeof x === "object" && x !== null) return x;
        this.primitive(x);
      }
      if (f.phase === 2) f.ends.push(w.pos);
      const next = f.iter!.next();
      if (next.done === true) return this.popSorted(f);
      const [k, x] = next.value as [unknown, unknown];
      f.i++;
      f.key = k;
      f.value = x;
      f.phase = 1;
      f.keyIsObject = typeof k === "object" && k !== null;
      if (f.keyIsObject) {
        this.inKey++;
        return k as object;
      }
      this.primitive(k, true);
    }
  }

  private stepSet(f: Frame): object | undefined {
    const w = this.w;
    for (;;) {
      if (f.i >= 0) f.ends.push(w.pos);
      const next = f.iter!.next();
      if (next.done === true) return this.popSorted(f);
      f.i++;
      const x = next.value;
      if (typeof x === "object" && x !== null) return x;
      this.primitive(x);
    }
  }

  // ---- values ------------------------------------------------------------------------------

  /** A primitive (or null). `inMapKey`: a Map key, never resolved as a file name. */
  private primitive(x: unknown, inMapKey = false): void {
    const w = this.w;
    switch (typeof x) {
      case "number":
        w.tagF64(T.number, x);
        return;
      case "string": {
        const r = this.resolver;
        const file = r !== undefined && !inMapKey && this.inKey === 0 ? r.string(x) : undefined;
        if (file === undefined) w.str(x);
        else this.file(file);
        return;
      }
      case "boolean":
        w.u8(x ? T.true : T.false);
        return;
      case "undefined":
        w.u8(T.undefined);
        return;
      case "bigint":
        this.bigint(T.bigint, x);
        return;
      case "object": // null
        w.u8(T.null);
        return;
      case "symbol":
        return this.fail("symbol");
      case "function":
        return this.fail("function");
      default:
        return this.fail(typeof x);
    }
  }

  private bigint(tag: number, x: bigint): void {
    const digits = String(x);
    this.w.u8(tag);
    this.w.varint(digits.length);
    this.w.ensure(digits.length);
    for (let i = 0; i < digits.length; i++) this.w.buf[this.w.pos++] = digits.charCodeAt(i);
  }

  private file(f: ResolvedFile): void {
    this.w.u8(T.file);
    this.w.str(f.path);
    this.w.str(f.sha256);
    this.w.tagF64(T.number, f.size);
  }

  /** An object: a container gets a frame, anything else is written whole. */
  private open(value: object): void {
    const w = this.w;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === OBJECT_PROTO || proto === null) {
      if (Array.isArray(value)) this.fail(`class instance (${className(value)})`);
      this.checkCycle(value);
      if (hasEnumerableSymbol(value)) this.fail("object with symbol keys");
      const keys = sortedKeys(value);
      w.u8(T.object);
      w.varint(keys.length);
      const f = this.push(OBJECT, value, keys.length);
      f.keys = keys;
      return;
    }
    if (proto === ARRAY_PROTO && Array.isArray(value)) {
      this.checkCycle(value);
      const n = value.length;
      w.u8(T.array);
      w.varint(n);
      this.push(ARRAY, value, n);
      return;
    }
    if (proto === MAP_PROTO && value instanceof Map) {
      this.checkCycle(value);
      w.u8(T.map);
      w.varint(value.size);
      const f = this.push(MAP, value, value.size);
      f.iter = value.entries();
      f.start = w.pos;
      w.holds++;
      return;
    }
    if (proto === SET_PROTO && value instanceof Set) {
      this.checkCycle(value);
      w.u8(T.set);
      w.varint(value.size);
      const f = this.push(SET, value, value.size);
      f.iter = value.values();
      f.start = w.pos;
      w.holds++;
      return;
    }
    this.leaf(value, proto);
  }

  /** Objects without children to walk: written whole, or refused. */
  private leaf(value: object, proto: object | null): void {
    const w = this.w;
    if (value instanceof ResolvedFile) return this.file(value);
    if (value instanceof FileRef) {
      const r = this.resolver;
      if (r !== undefined && this.inKey === 0) return this.file(r.file(value));
      this.fail("file() reference that was not resolved to its contents (call resolveFiles first)");
    }
    if (proto === DATE_PROTO && value instanceof Date) return w.tagF64(T.date, value.getTime());
    if (proto === REGEXP_PROTO && value instanceof RegExp) {
      w.u8(T.regexp);
      w.str(value.source);
      w.str(value.flags);
      return;
    }
    if (ArrayBuffer.isView(value)) {
      const name = viewName(value, proto);
      if (name === undefined) this.fail(`class instance (${className(value)})`);
      w.u8(T.view);
      w.str(name);
      w.varint(value.byteLength);
      w.bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      return;
    }
    if (proto === ArrayBuffer.prototype || (typeof SharedArrayBuffer === "function" && proto === SharedArrayBuffer.prototype)) {
      const buffer = value as ArrayBuffer;
      w.u8(T.buffer);
      w.str(proto === ArrayBuffer.prototype ? "ArrayBuffer" : "SharedArrayBuffer");
      w.varint(buffer.byteLength);
      w.bytes(new Uint8Array(buffer, 0, buffer.byteLength));
      return;
    }
    // Boxed primitives: `new Number(1)` is not `1` (typeof, truthiness of `new Boolean(false)`).
    if (proto === Number.prototype && value instanceof Number) {
      w.u8x2(T.boxed, T.boxedNumber);
      w.tagF64(T.number, value.valueOf());
      return;
    }
    if (proto === String.prototype && value instanceof String) {
      w.u8x2(T.boxed, T.boxedString);
      w.str(value.valueOf());
      return;
    }
    if (proto === Boolean.prototype && value instanceof Boolean) {
      w.u8x2(T.boxed, T.boxedBoolean);
      w.u8(value.valueOf() ? T.true : T.false);
      return;
    }
    if (proto === BigInt.prototype && value instanceof BigInt) {
      w.u8x2(T.boxed, T.boxedBigint);
      this.bigint(T.bigint, value.valueOf() as bigint);
      return;
    }
    if (value instanceof Promise) this.fail("Promise (await it before passing it)");
    if (value instanceof WeakMap) this.fail("WeakMap");
    if (value instanceof WeakSet) this.fail("WeakSet");
    if (value instanceof WeakRef) this.fail("WeakRef");
    if (value instanceof Symbol) this.fail("boxed symbol");
    this.fail(`class instance (${className(value)})`);
  }

  // ---- the stack ---------------------------------------------------------------------------

  private push(kind: number, container: object, n: number): Frame {
    let f = this.frames[this.depth];
    if (f === undefined) this.frames[this.depth] = f = new Frame();
    if (this.depth >= SCAN && this.depth % SAMPLE === 0) this.deep.add(container);
    this.depth++;
    f.kind = kind;
    f.container = container;
    f.n = n;
    f.i = -1;
    f.phase = 0;
    f.ends.length = 0; // a pooled frame may come from a Map whose walk an error cut short
    return f;
  }

  /** Pops the top frame (dropping its references: frames are pooled). Returns undefined for the callers' convenience. */
  private pop(): undefined {
    const f = this.frames[--this.depth]!;
    if (this.depth >= SCAN && this.depth % SAMPLE === 0) this.deep.delete(f.container);
    f.container = Frame;
    f.keys = undefined;
    f.iter = undefined;
    f.key = undefined;
    f.value = undefined;
    return undefined;
  }

  private popSorted(f: Frame): undefined {
    this.w.sortEntries(f.start, f.ends);
    this.w.holds--;
    f.ends.length = 0;
    return this.pop();
  }

  /** Throws "circular reference" when `value` is (probably: see {@link SCAN}) an ancestor of itself. */
  private checkCycle(value: object): void {
    const frames = this.frames;
    const depth = this.depth;
    const scan = depth < SCAN ? depth : SCAN;
    for (let i = 0; i < scan; i++) if (frames[i]!.container === value) this.failCycle();
    if (depth > SCAN && this.deep.has(value)) this.failCycle();
  }

  /**
   * The error of a cycle, at its first repetition: the shallowest depth `j` whose container is
   * also a container above it (the value being opened counts as depth `depth`).
   */
  private failCycle(): never {
    const seen = new Set<object>();
    let j = 0;
    for (; j < this.depth; j++) {
      const c = this.frames[j]!.container;
      if (seen.has(c)) break;
      seen.add(c);
    }
    // j < depth: the container at depth j repeats one above it; otherwise the value being opened does.
    throw new UnrecordableValueError(this.path(j), "circular reference");
  }

  // ---- errors ------------------------------------------------------------------------------

  private fail(kind: string): never {
    throw new UnrecordableValueError(this.path(this.depth), kind);
  }

  /** The path of the value being encoded at `depth`, read from the stack (only ever built for an error). */
  private path(depth: number): string {
    let out = this.root;
    for (let d = 0; d < depth; d++) {
      const f = this.frames[d]!;
      if (f.kind === ARRAY) out += `[${f.i}]`;
      else if (f.kind === OBJECT) {
        const k = f.keys![f.i]!;
        out += IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
      } else if (f.kind === SET) out += `<set element #${f.i}>`;
      else out += f.phase === 1 ? `<map key #${f.i}>` : `<map value at ${describeKey(f.key, f.i)}>`;
    }
    return out;
  }
}

/**
 * `Object.keys(o)`, sorted (UTF-16 order, as `Array.prototype.sort`'s default). Objects are
 * usually built with their keys in one order, often a sorted one (`p00`…`p99`, JSON from a sorted
 * writer): checking the order first stops at the first pair out of order, and skips the sort when
 * there is none — 100 sorted keys: ~0.4 µs to check, ~1.5 µs to sort (its generic comparator calls).
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * A short description of a Map key, for paths: `"a"`, `1`, `#3` (the entry's position) otherwise.
 * (Also used by the value codec's paths.)
 *
 * @example
 * describeKey("k", 0); // '"k"'
 * describeKey({}, 3);  // '#3'
 */
export function describeKey(key: unknown, index: number): string {
  if (typeof key === "string") return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (typeof key === "number" || typeof key === "boolean" || key === null || key === undefined) return String(key);
  if (typeof key === "bigint") return `${key}n`;
  return `#${index}`;
}

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
function viewName(view: ArrayBufferView, proto: object | null): string | undefined {
  if (view instanceof DataView) return proto === DataView.prototype ? "DataView" : undefined;
  const tag = (view as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
  const ctor = (globalThis as unknown as Record<string, { prototype: object } | undefined>)[tag];
  if (TYPED_ARRAY_NAMES.has(tag) && ctor !== undefined && proto === ctor.prototype) return tag;
  // Buffer is a Uint8Array subclass whose methods differ (`toString()` decodes UTF-8): keep it distinct.
  if (Buffer.isBuffer(view) && proto === Buffer.prototype) return "Buffer";
  return undefined;
}

/**
 * The class name of an object, for error messages (its constructor's name, else its tag).
 *
 * @example
 * className(new (class Model {})()); // "Model"
 */
export function className(value: object): string {
  try {
    const ctor = (value as { constructor?: unknown }).constructor;
    if (typeof ctor === "function" && ctor.name) return ctor.name;
  } catch {
    /* a throwing getter: fall through */
  }
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * The idle encoder. Encoders are reused (their buffer, their frames); a nested call — a getter
 * that computes a digest while another is being encoded — finds none idle and makes its own.
 */
let idle: Encoder | undefined;

function acquire(): Encoder {
  const e = idle ?? new Encoder();
  idle = undefined;
  return e;
}

/** Gives an encoder back, whatever state an error left it in. */
function release(e: Encoder): void {
  e.reset();
  e.w.release();
  idle = e;
}

const DIGEST_PREFIX = `${KEY_FORMAT}\n`;

/**
 * The canonical encoding of a value: deterministic bytes in which two values are equal exactly
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
 * canonicalEncode({ a: 1 }).toString("hex"); // "6f01" + "730161" + "64000000000000f03f"  (o, 1 key, "a", 1.0)
 * canonicalEncode({ cb: () => {} });        // throws UnrecordableValueError: value.cb is a function…
 */
export function canonicalEncode(value: unknown, path = "value"): Buffer {
  const e = acquire();
  try {
    e.w.begin(false, "");
    e.run(value, path, undefined);
    return e.w.finishBytes();
  } finally {
    release(e);
  }
}

/**
 * SHA-256 (hex) of {@link KEY_FORMAT}, a newline and the canonical encoding of a value: what an
 * input's digest is (files resolved first with `resolveFiles`, or use `keyMaterial`). Small values
 * are hashed in one `crypto.hash` call; large ones stream into the hash 64 KiB at a time, so
 * memory stays bounded (except inside a Map or Set, whose body is sorted in memory).
 *
 * @example
 * digest(new Map([["a", 1], ["b", 2]])) === digest(new Map([["b", 2], ["a", 1]])); // true
 * digest(0) === digest(-0); // false
 */
export function digest(value: unknown, path?: string): string {
  return digestWith(value, path ?? "value", undefined);
}

/**
 * {@link digest}, with files resolved during the walk by `resolver` (see {@link FileResolver}).
 *
 * @example
 * digestWith({ ref: file("a.nii") }, "inputs.x", resolver); // = digest of { ref: ResolvedFile }
 */
export function digestWith(value: unknown, path: string, resolver: FileResolver | undefined): string {
  const e = acquire();
  try {
    e.w.begin(true, DIGEST_PREFIX);
    e.run(value, path, resolver);
    return e.w.finishHex();
  } finally {
    release(e);
  }
}

/**
 * The cache key of one stage run: SHA-256 (hex) of the canonical encoding of
 * `[KEY_FORMAT, stage, code, inputs]`, where `inputs` maps each input name to its {@link digest}.
 *
 * @example
 * cacheKey({ stage: "register", code: fingerprint, inputs: { ref: digest(ref), image: digest(img) } });
 */
export function cacheKey(parts: { stage: string; code: string; inputs: Readonly<Record<string, string>> }): string {
  const e = acquire();
  try {
    const w = e.w;
    w.begin(true, "");
    if (!cacheKeyDirect(w, parts)) {
      w.begin(true, "");
      e.run([KEY_FORMAT, parts.stage, parts.code, parts.inputs], "key", undefined);
    }
    return w.finishHex();
  } finally {
    release(e);
  }
}

/**
 * The bytes `run` writes for `[KEY_FORMAT, stage, code, inputs]`, written directly when `inputs`
 * is a plain object of strings (always, from the stage runner): no frames, no generic dispatch.
 * Returns false, having written garbage, for anything else; the caller then starts over with `run`.
 * The test "cacheKey is SHA-256 of the encoding of [...]" holds both paths to the same bytes.
 */
function cacheKeyDirect(w: KeyWriter, parts: { stage: string; code: string; inputs: Readonly<Record<string, string>> }): boolean {
  const { stage, code, inputs } = parts;
  if (typeof stage !== "string" || typeof code !== "string" || typeof inputs !== "object" || inputs === null) return false;
  const proto = Object.getPrototypeOf(inputs) as object | null;
  if ((proto !== OBJECT_PROTO && proto !== null) || Array.isArray(inputs) || hasEnumerableSymbol(inputs)) return false;
  w.u8(T.array);
  w.varint(4);
  w.str(KEY_FORMAT);
  w.str(stage);
  w.str(code);
  const keys = sortedKeys(inputs);
  w.u8(T.object);
  w.varint(keys.length);
  for (const k of keys) {
    const v = inputs[k];
    if (typeof v !== "string") return false;
    w.str(k);
    w.str(v);
  }
  return true;
}
