/**
 * The decoder of the `mpv1` value format (grammar in value-format.ts).
 *
 * Total: every length is checked against the bytes left before anything is allocated (a lying
 * length cannot ask for a gigabyte), every element consumes at least one byte (so no input makes
 * it loop longer than its length), and every failure is a {@link ValueCodecError}. Iterative:
 * open containers are frames on an explicit stack, as in the encoder.
 */
import { FileRef } from "./types.js";
import {
  FORMAT_VERSION,
  T_ARRAY,
  T_ARRAY_BUFFER,
  T_BIGINT,
  T_BOXED_BIGINT,
  T_BOXED_FALSE,
  T_BOXED_NUMBER,
  T_BOXED_STRING,
  T_BOXED_TRUE,
  T_DATE,
  T_FALSE,
  T_FILE_REF,
  T_FLOAT64,
  T_HOLE,
  T_INT32,
  T_LATIN1,
  T_MAP,
  T_NULL,
  T_NULL_OBJECT,
  T_OBJECT,
  T_PACKED_F64,
  T_PACKED_I32,
  T_PACKED_U8,
  T_REF,
  T_REGEXP,
  T_SET,
  T_SMALL_INT,
  T_SPARSE_ARRAY,
  T_TRUE,
  T_UNDEFINED,
  T_UTF16,
  T_UTF8,
  T_VIEW,
  type FastBuffer,
  ValueCodecError,
  VIEW_BUFFER,
  VIEW_DATAVIEW,
  VIEW_KINDS,
} from "./value-format.js";

// Frame kinds.
const F_ARRAY = 0;
const F_SPARSE = 1;
const F_OBJECT = 2;
const F_MAP = 3;
const F_SET = 4;

const fromCharCode = String.fromCharCode;
const defineProperty = Object.defineProperty;
const BIGINT_HEX = /^-?[0-9a-f]+$/;
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;
const EMPTY = Buffer.alloc(0) as FastBuffer;
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

/**
 * A one-byte string of `n` ≤ 8 characters. `String.fromCharCode` with a fixed number of arguments
 * is 2–4× faster than a call into `latin1Slice` for strings this short (most object values and
 * keys), and slower beyond; so short ones are built here, longer ones by Node.
 */
function shortLatin1(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0:
      return "";
    case 1:
      return fromCharCode(b[p]!);
    case 2:
      return fromCharCode(b[p]!, b[p + 1]!);
    case 3:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    default:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
  }
}

/** Keys of up to this many one-byte characters go through {@link keyCache}. */
const KEY_CACHE_MAX_LENGTH = 32;
const KEY_CACHE_SIZE = 4096;
/** Recently decoded keys, by a hash of their bytes (a slot keeps the last key that hashed to it). */
const keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE).fill(undefined);

/** A shape of the entry: its keys, how many objects of it were made, its cross-decode template slot. */
interface Shape {
  readonly keys: readonly string[];
  uses: number;
  cached: CachedTemplate | undefined;
}
interface CachedTemplate {
  /** In how many entries the shape was met. */
  seen: number;
  template: object | undefined;
  /** The keys, for a shape found by its bytes (`knownShape`). Never modified. */
  readonly keys: readonly string[] | undefined;
}
/** The slot of shapes too long to have a template. */
const NO_TEMPLATE: CachedTemplate = { seen: 0, template: undefined, keys: undefined };
/** Shapes of at least this many keys are looked up by their bytes (see `Decoder.knownShape`). */
const WIDE_SHAPE = 8;
/**
 * Templates and keys of shapes met in earlier decodes, by the bytes of a wide shape's definition
 * (`Decoder.knownShape`) or by `JSON.stringify(keys)` (`Decoder.template`); emptied when it holds
 * {@link TEMPLATES_MAX}.
 */
const templates = new Map<string, CachedTemplate>();
const TEMPLATES_MAX = 1000;
/** Shapes whose id is longer than this get no template (so the cache holds at most ~8 MB of ids). */
const TEMPLATE_ID_MAX = 8192;

class Decoder {
  private b = EMPTY;
  private dv = EMPTY_VIEW;
  private p = 0;
  private end = 0;
  private start = 0;

  /** Objects by id, in the order their tags were read (the encoder's numbering). */
  private refs: unknown[] = [];
  /** The entry's key table and shape table. */
  private keys: string[] = [];
  private shapes: Shape[] = [];

  // The stack of open containers, as parallel arrays.
  private fObj: unknown[] = [];
  private fKind: number[] = [];
  private fLeft: number[] = [];
  private fIndex: number[] = []; // next index of an array, last index of a sparse array
  private fAux: unknown[] = []; // an object's keys, a Map's pending key, a sparse array's length
  private depth = 0;

  decode(bytes: Uint8Array, start: number, end: number): unknown {
    this.b = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as FastBuffer;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.start = start;
    this.p = start;
    this.end = end;
    if (start >= end) this.fail("no bytes");
    if (this.b[start] !== FORMAT_VERSION) this.fail(`unknown format version 0x${this.b[start]!.toString(16).padStart(2, "0")}`);
    this.p++;
    const root = this.value();
    this.drain();
    if (this.p !== end) this.fail(`${end - this.p} bytes after the value`);
    return root;
  }

  /** Drops every reference to this call's bytes and objects. */
  reset(): void {
    this.b = EMPTY;
    this.dv = EMPTY_VIEW;
    this.refs = [];
    this.keys = [];
    this.shapes = [];
    this.fObj.length = 0;
    this.fAux.length = 0;
    this.depth = 0;
  }

  fail(message: string, at = this.p): never {
    throw new ValueCodecError(message, at - this.start);
  }

  /** Where decoding stands, for errors raised by the platform (see decodeValue). */
  offset(): number {
    return this.p - this.start;
  }

  // ---------------------------------------------------------------------------------------------
  // Bytes
  // ---------------------------------------------------------------------------------------------

  /** Fails unless `n` more bytes are left. */
  private need(n: number): void {
    if (n > this.end - this.p) this.fail(`a length of ${n} runs past the end (${this.end - this.p} bytes left)`);
  }

  private varint(): number {
    const b = this.b;
    const end = this.end;
    let p = this.p;
    if (p < end) {
      const first = b[p]!;
      if (first < 0x80) {
        this.p = p + 1;
        return first;
      }
    }
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (p >= end) this.fail("truncated varint");
      const byte = b[p++]!;
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) break;
        this.p = p;
        return n;
      }
      scale *= 0x80;
    }
    return this.fail("varint too long");
  }

  /** A count of items that take at least `minBytes` each: checked against the bytes left. */
  private count(minBytes: number): number {
    const at = this.p;
    const n = this.varint();
    if (n * minBytes > this.end - this.p) this.fail(`a count of ${n} runs past the end (${this.end - this.p} bytes left)`, at);
    return n;
  }

  private text(tag: number): string {
    const b = this.b;
    switch (tag) {
      case T_LATIN1: {
        if (this.p >= this.end) this.fail("truncated string");
        const n = b[this.p++]!;
        this.need(n);
        const p = this.p;
        this.p = p + n;
        return n <= 8 ? shortLatin1(b, p, n) : b.latin1Slice(p, p + n);
      }
      case T_UTF8: {
        const n = this.varint();
        this.need(n);
        const p = this.p;
        this.p = p + n;
        return b.utf8Slice(p, p + n);
      }
      case T_UTF16: {
        const n = this.varint();
        this.need(2 * n);
        const p = this.p;
        this.p = p + 2 * n;
        return b.ucs2Slice(p, p + 2 * n);
      }
      default:
        return this.fail(`tag 0x${tag.toString(16)} where a string was expected`, this.p - 1);
    }
  }

  /** A value that must be a string (a key, a RegExp's source, a FileRef's path). */
  private string(): string {
    if (this.p >= this.end) this.fail("truncated value");
    return this.text(this.b[this.p++]!);
  }

  private bigint(): bigint {
    const n = this.varint();
    this.need(n);
    const s = this.b.latin1Slice(this.p, this.p + n);
    if (!BIGINT_HEX.test(s)) this.fail("malformed bigint");
    this.p += n;
    return s.charCodeAt(0) === 0x2d ? -BigInt(`0x${s.slice(1)}`) : BigInt(`0x${s}`);
  }

  private float64(): number {
    this.need(8);
    const x = this.dv.getFloat64(this.p, true);
    this.p += 8;
    return x;
  }

  /** A number value (RegExp's lastIndex). */
  private number(): number {
    const x = this.value();
    if (typeof x !== "number") this.fail("a number was expected");
    return x;
  }

  private key(): string {
    const at = this.p;
    const k = this.varint();
    if (k === 0) {
      const b = this.b;
      const p = this.p;
      const s = p + 1 < this.end && b[p] === T_LATIN1 && b[p + 1]! <= KEY_CACHE_MAX_LENGTH ? this.cachedKey() : this.string();
      this.keys.push(s);
      return s;
    }
    if (k > this.keys.length) this.fail(`key #${k} is not in the key table (${this.keys.length} keys)`, at);
    return this.keys[k - 1]!;
  }

  /**
   * A new one-byte key, from {@link keyCache} when it holds the same text. Entries of one stage
   * share their keys, so a hit usually finds each key's string already made by an earlier decode
   * (and already internalized by V8, having been used as a property name): no string to allocate,
   * and no lookup in V8's string table when the property is stored. A 100-field object decoded
   * about twice as fast with it.
   */
  private cachedKey(): string {
    const b = this.b;
    const n = b[this.p + 1]!;
    const p = this.p + 2;
    this.p = p;
    this.need(n);
    let h = n;
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + b[p + i]!) | 0;
    const slot = h & (KEY_CACHE_SIZE - 1);
    const cached = keyCache[slot];
    this.p = p + n;
    if (cached !== undefined && cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === b[p + i]) i++;
      if (i === n) return cached;
    }
    const s = n <= 8 ? shortLatin1(b, p, n) : b.latin1Slice(p, p + n);
    keyCache[slot] = s;
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Values
  // ---------------------------------------------------------------------------------------------

  /** Reads one value; a container is created, numbered and opened (its contents come later). */
  private value(): unknown {
    if (this.p >= this.end) this.fail("truncated value");
    const tag = this.b[this.p++]!;
    if (tag >= T_SMALL_INT) return tag - T_SMALL_INT;
    switch (tag) {
      case T_FLOAT64:
        return this.float64();
      case T_INT32: {
        this.need(4);
        const x = this.dv.getInt32(this.p, true);
        this.p += 4;
        return x;
      }
      case T_LATIN1:
      case T_UTF8:
      case T_UTF16:
        return this.text(tag);
      case T_OBJECT:
      case T_NULL_OBJECT:
        return this.object(tag === T_NULL_OBJECT);
      case T_PACKED_F64:
      case T_PACKED_I32:
      case T_PACKED_U8:
        return this.packed(tag);
      case T_ARRAY: {
        const n = this.count(1);
        const a: unknown[] = new Array(n);
        this.refs.push(a);
        if (n > 0) this.push(F_ARRAY, a, n);
        return a;
      }
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_REF: {
        const at = this.p - 1;
        const id = this.varint();
        if (id >= this.refs.length) this.fail(`back-reference to object #${id}, of ${this.refs.length} so far`, at);
        return this.refs[id];
      }
      default:
        return this.rare(tag);
    }
  }

  /** A plain object: its shape (a new one, or one of the entry's table), then its values. */
  private object(nullProto: boolean): object {
    const at = this.p;
    const s = this.varint();
    let shape: Shape;
    if (s === 0) {
      const n = this.count(1);
      shape = (n >= WIDE_SHAPE ? this.knownShape(at, n) : undefined) ?? this.newShape(n);
      this.shapes.push(shape);
    } else {
      if (s > this.shapes.length) this.fail(`shape #${s} is not in the shape table (${this.shapes.length} shapes)`, at);
      shape = this.shapes[s - 1]!;
    }
    const keys = shape.keys;
    if (keys.length > this.end - this.p) this.fail(`${keys.length} values run past the end (${this.end - this.p} bytes left)`);
    let o: object;
    if (nullProto) o = Object.create(null) as object;
    else {
      const template = this.template(shape);
      o = template === undefined ? {} : { ...template };
    }
    this.refs.push(o);
    if (keys.length > 0) this.push(F_OBJECT, o, keys.length, 0, keys);
    return o;
  }

  /** Reads the `n` keys of a new shape. */
  private newShape(n: number): Shape {
    const keys: string[] = new Array(n);
    for (let i = 0; i < n; i++) keys[i] = this.key();
    return { keys, uses: 0, cached: undefined };
  }

  /**
   * A wide shape (≥ {@link WIDE_SHAPE} keys) whose definition these very bytes had in an earlier
   * entry, without reading its keys again. When every key of a definition is written out as
   * one-byte text (no key taken from the entry's key table), its bytes alone say which keys it
   * has, whatever came before: they are looked up as a string (one native slice and one string
   * hash, ~0.2 µs for 100 keys, where reading the keys costs ~1.5 µs). Such definition strings
   * start with a 0 byte, so they never meet the JSON ids of `template`.
   */
  private knownShape(at: number, n: number): Shape | undefined {
    const b = this.b;
    const end = this.end;
    let p = this.p;
    for (let i = 0; i < n; i++) {
      if (p + 3 > end || b[p] !== 0 || b[p + 1] !== T_LATIN1) return undefined;
      p += 3 + b[p + 2]!;
    }
    if (p > end || p - at > TEMPLATE_ID_MAX) return undefined;
    const id = b.latin1Slice(at, p);
    let cached = templates.get(id);
    if (cached !== undefined && cached.keys !== undefined) {
      this.p = p;
      const table = this.keys;
      for (const k of cached.keys) table.push(k);
      cached.seen++;
      return { keys: cached.keys, uses: 0, cached };
    }
    const shape = this.newShape(n);
    if (cached === undefined) {
      if (templates.size >= TEMPLATES_MAX) templates.clear();
      cached = { seen: 0, template: undefined, keys: shape.keys };
      templates.set(id, cached);
    }
    cached.seen++;
    shape.cached = cached;
    return shape;
  }

  /**
   * The template of a shape, once it is worth having: an object with the shape's keys (all
   * `null`), made by `JSON.parse`, which builds fast-mode objects however many keys they have.
   * An object made by spreading it (`{ ...template }`, a copy of its hidden class and slots) and
   * then filled in place took half the time of `{}` filled key by key (100 keys: 2.5 vs 5 µs; a
   * V8 object filled by keyed stores turns into a slow dictionary after a dozen or so). Templates
   * are kept across decodes by key list, and made when a shape is met a second time (in the same
   * entry or a later one): a shape met once never pays for one.
   */
  private template(shape: Shape): object | undefined {
    const uses = ++shape.uses;
    let cached = shape.cached;
    if (cached === NO_TEMPLATE) return undefined;
    if (cached === undefined) {
      // Narrow shapes only from their second object in the entry: the lookup (JSON of the keys)
      // costs more than a one-off small object. (Wide ones were looked up by `knownShape`.)
      if (uses === 1) return undefined;
      const id = JSON.stringify(shape.keys);
      if (id.length > TEMPLATE_ID_MAX) {
        shape.cached = NO_TEMPLATE;
        return undefined;
      }
      cached = templates.get(id);
      if (cached === undefined) {
        if (templates.size >= TEMPLATES_MAX) templates.clear();
        cached = { seen: 0, template: undefined, keys: undefined };
        templates.set(id, cached);
      }
      cached.seen++;
      shape.cached = cached;
    }
    if (cached.template === undefined && (uses >= 2 || cached.seen >= 2)) {
      cached.template = JSON.parse(`{${shape.keys.map((k) => `${JSON.stringify(k)}:null`).join(",")}}`) as object;
    }
    return cached.template;
  }

  /** The tags met less often, kept out of `value` so its hot part stays small. */
  private rare(tag: number): unknown {
    switch (tag) {
      case T_BIGINT:
        return this.bigint();
      case T_SPARSE_ARRAY: {
        const at = this.p;
        const length = this.varint();
        if (length > MAX_ARRAY_LENGTH) this.fail(`array length ${length}`, at);
        const n = this.count(2);
        if (n > length) this.fail(`${n} elements in an array of length ${length}`, at);
        const a: unknown[] = [];
        a.length = length; // no allocation: the elements of a long sparse array live in a dictionary
        this.refs.push(a);
        if (n > 0) this.push(F_SPARSE, a, n, -1, length);
        return a;
      }
      case T_MAP: {
        const n = this.count(2);
        const m = new Map<unknown, unknown>();
        this.refs.push(m);
        if (n > 0) this.push(F_MAP, m, 2 * n);
        return m;
      }
      case T_SET: {
        const n = this.count(1);
        const s = new Set<unknown>();
        this.refs.push(s);
        if (n > 0) this.push(F_SET, s, n);
        return s;
      }
      case T_DATE:
        return this.ref(new Date(this.float64()));
      case T_REGEXP: {
        const at = this.p - 1;
        const source = this.string();
        const flags = this.string();
        const lastIndex = this.number();
        let re: RegExp;
        try {
          re = new RegExp(source, flags);
        } catch (error) {
          return this.fail(`invalid RegExp (${(error as Error).message})`, at);
        }
        re.lastIndex = lastIndex;
        return this.ref(re);
      }
      case T_ARRAY_BUFFER: {
        const n = this.count(1);
        const ab = this.copyOut(n);
        this.p += n;
        return this.ref(ab);
      }
      case T_VIEW:
        return this.ref(this.view());
      case T_BOXED_NUMBER:
        return this.ref(new Number(this.float64()));
      case T_BOXED_STRING:
        return this.ref(new String(this.string()));
      case T_BOXED_FALSE:
        return this.ref(new Boolean(false));
      case T_BOXED_TRUE:
        return this.ref(new Boolean(true));
      case T_BOXED_BIGINT:
        return this.ref(Object(this.bigint()));
      case T_FILE_REF:
        return this.ref(new FileRef(this.string()));
      case T_HOLE:
        return this.fail("a hole outside an array", this.p - 1);
      default:
        return this.fail(`unknown tag 0x${tag.toString(16).padStart(2, "0")}`, this.p - 1);
    }
  }

  /** Numbers an object that has no contents to read later (it was read whole). */
  private ref<T>(o: T): T {
    this.refs.push(o);
    return o;
  }

  /**
   * A packed number array. Float64s are read through the DataView at any alignment (as fast, on
   * this machine, as a Float64Array over aligned bytes) into `new Array(n)`: filling a
   * preallocated array is ~10× faster than `Array.from(typedArray)` and 3× faster than `push`.
   */
  private packed(tag: number): number[] {
    const size = tag === T_PACKED_F64 ? 8 : tag === T_PACKED_I32 ? 4 : 1;
    const n = this.count(size);
    const a: number[] = new Array(n);
    let p = this.p;
    if (tag === T_PACKED_F64) {
      const dv = this.dv;
      for (let i = 0; i < n; i++, p += 8) a[i] = dv.getFloat64(p, true);
    } else if (tag === T_PACKED_I32) {
      const dv = this.dv;
      for (let i = 0; i < n; i++, p += 4) a[i] = dv.getInt32(p, true);
    } else {
      const b = this.b;
      for (let i = 0; i < n; i++) a[i] = b[p++]!;
    }
    this.p = p;
    this.refs.push(a);
    return a;
  }

  private view(): ArrayBufferView {
    if (this.p >= this.end) this.fail("truncated view");
    const at = this.p;
    const kind = this.b[this.p++]!;
    const n = this.count(1);
    const p = this.p;
    this.p += n;
    if (kind === VIEW_BUFFER) {
      const out = Buffer.allocUnsafe(n);
      this.b.copy(out, 0, p, p + n);
      return out;
    }
    const ab = this.copyOut(n, p);
    if (kind === VIEW_DATAVIEW) return new DataView(ab);
    const ctor = VIEW_KINDS[kind];
    if (ctor === undefined) return this.fail(`unknown view kind ${kind}`, at);
    if (n % ctor.BYTES_PER_ELEMENT !== 0) return this.fail(`${n} bytes for a ${ctor.name}`, at);
    return new ctor(ab);
  }

  /**
   * A new ArrayBuffer holding the `n` bytes at `p`. `Buffer.allocUnsafeSlow(n).buffer` is an
   * ArrayBuffer of exactly n bytes that is not zeroed first (a `new ArrayBuffer(n)` is, only to be
   * overwritten), and `Buffer#copy` is a plain memmove: ~30% faster than `new ArrayBuffer` +
   * `Uint8Array#set` for 1 MB.
   */
  private copyOut(n: number, p = this.p): ArrayBuffer {
    const out = Buffer.allocUnsafeSlow(n);
    this.b.copy(out, 0, p, p + n);
    return out.buffer as ArrayBuffer;
  }

  // ---------------------------------------------------------------------------------------------
  // The stack
  // ---------------------------------------------------------------------------------------------

  private push(kind: number, o: unknown, left: number, index = 0, aux?: unknown): void {
    const d = this.depth++;
    this.fKind[d] = kind;
    this.fObj[d] = o;
    this.fLeft[d] = left;
    this.fIndex[d] = index;
    this.fAux[d] = aux;
  }

  /**
   * Fills every open container, the innermost first. A child container is stored in its parent
   * as soon as it is created (so a cycle or a back-reference to it finds the same object), then
   * its frame goes on top and is filled before the parent goes on.
   */
  private drain(): void {
    const { fKind, fObj, fLeft, fIndex, fAux } = this;
    while (this.depth > 0) {
      const d = this.depth - 1;
      const left = fLeft[d]!;
      if (left === 0) {
        fObj[d] = undefined;
        fAux[d] = undefined;
        this.depth = d;
        continue;
      }
      fLeft[d] = left - 1;
      switch (fKind[d]) {
        case F_OBJECT: {
          const o = fObj[d] as Record<string, unknown>;
          const i = fIndex[d]!;
          fIndex[d] = i + 1;
          const k = (fAux[d] as string[])[i]!;
          const v = this.value();
          // Assigning `__proto__` would set the prototype; an own `__proto__` key is defined instead.
          if (k === "__proto__") defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
          else o[k] = v;
          break;
        }
        case F_ARRAY: {
          const a = fObj[d] as unknown[];
          const i = fIndex[d]!;
          fIndex[d] = i + 1;
          if (this.b[this.p] === T_HOLE && this.p < this.end) this.p++;
          else a[i] = this.value();
          break;
        }
        case F_MAP: {
          // left counts keys and values: odd after the decrement means a key is next.
          if ((left - 1) & 1) fAux[d] = this.value();
          else {
            const k = fAux[d];
            fAux[d] = undefined;
            (fObj[d] as Map<unknown, unknown>).set(k, this.value());
          }
          break;
        }
        case F_SET:
          (fObj[d] as Set<unknown>).add(this.value());
          break;
        default: {
          // F_SPARSE: (index, value) pairs, indices increasing and below the length (in fAux).
          const at = this.p;
          const index = this.varint();
          if (index <= fIndex[d]! || index >= (fAux[d] as number)) this.fail(`index ${index} out of order or past the length`, at);
          fIndex[d] = index;
          const a = fObj[d] as unknown[];
          a[index] = this.value();
        }
      }
    }
  }
}

let idle: Decoder | undefined;

/**
 * Decodes one entry written by `encodeValue` (see value-codec.ts).
 *
 * @example
 * decodeValue(encodeValue(new Map([[1, -0]])).bytes); // Map { 1 => -0 }
 */
export function decodeValue(bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  if (!(bytes instanceof Uint8Array)) throw new ValueCodecError("bytes must be a Uint8Array", 0);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > bytes.length || start > end) {
    throw new ValueCodecError(`bad range ${start}…${end} of ${bytes.length} bytes`, 0);
  }
  const decoder = idle ?? new Decoder();
  idle = undefined;
  try {
    return decoder.decode(bytes, start, end);
  } catch (error) {
    if (error instanceof ValueCodecError) throw error;
    // Not expected from any input (lengths are checked first); but should the platform refuse
    // something (a string longer than V8 allows), the caller still gets the one error type.
    throw new ValueCodecError(error instanceof Error ? error.message : String(error), decoder.offset(), error);
  } finally {
    decoder.reset();
    idle = decoder;
  }
}
