/**
 * The encoder of the `mpv1` value format (grammar in value-format.ts). Iterative: containers go on
 * an explicit stack of frames, so a 100,000-level value needs no call stack. One growable Buffer,
 * reused from call to call, holds the output; the result is a copy of its used part.
 */
import { inspect, types } from "node:util";
import { UnrecordableValueError } from "../errors.js";
import { className, describeKey } from "./canonical.js";
import { FileRef } from "./types.js";
import {
  FORMAT_VERSION,
  type FastBuffer,
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
  VIEW_BUFFER,
  VIEW_DATAVIEW,
  VIEW_KINDS,
} from "./value-format.js";

/** What {@link encodeValue} returns. */
export interface EncodedValue {
  /** The entry: the version byte, then the value. */
  readonly bytes: Buffer;
  /** The path of every `FileRef` in the value, each once, in the order met. */
  readonly fileRefs: string[];
  /** With `collectStrings`: every distinct string value of 1–4,096 characters without NUL or newline. */
  readonly strings: string[];
}

/** Options of {@link encodeValue}. */
export interface EncodeOptions {
  /** How the value is named in errors (default `"outputs"`): `outputs.model.fit`, `outputs[3]`. */
  readonly path?: string;
  /** The stage, named in errors. */
  readonly stage?: string;
  /** Report string values that might name files (see {@link EncodedValue.strings}). */
  readonly collectStrings?: boolean;
}

// Frame kinds.
const F_OBJECT = 0;
const F_ARRAY = 1;
const F_SPARSE = 2;
const F_FLAT = 3; // a Map (keys and values interleaved) or a Set, snapshotted into an array

/** Strings up to this length are tried as one-byte text with a char-code loop (tag 0x08). */
const SHORT_STRING = 32;
/** Arrays and typed arrays up to this length are checked for extra properties with `Object.keys`. */
const KEYS_CHECK_MAX = 192;
/** Arrays longer than this are scanned for holes up front, to choose the sparse form. */
const SPARSE_SCAN_MIN = 4096;
/**
 * Results are carved out of 64 KB slabs, as `Buffer.allocUnsafe` carves small Buffers out of
 * Node's 8 KB pool: allocating a fresh 6 KB Buffer per call (a new ArrayBuffer) and copying into
 * it measured ~1.2 µs, a quarter of the cache value's encode; a view of the slab costs ~0.1 µs.
 * The price is the same as the pool's: a result keeps its slab alive while it lives.
 */
const SLAB_SIZE = 64 * 1024;
/** A new slab is started when less than this is left of the current one. */
const SLAB_MIN_LEFT = 4096;
/** The encoder's key table is emptied when it holds this many keys (see `Encoder.key`). */
const KEY_SLOTS_MAX = 50_000;
/** The shape trie is dropped when it holds this many nodes; objects with more keys get no shape number. */
const SHAPE_NODES_MAX = 100_000;
const SHAPE_MAX_KEYS = 1024;
/** Longer keys are not remembered across calls (nor given a table number: written out each time). */
const REMEMBERED_KEY_MAX = 128;

/** A node of the shape trie: the key lists that continue this one, and this list's shape number in the entry of call `call`. */
interface ShapeNode {
  next: Map<string, ShapeNode> | undefined;
  call: number;
  id: number;
}
const EMPTY = Buffer.alloc(0) as FastBuffer;
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const INDEX = /^(?:0|[1-9]\d*)$/;
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const propertyIsEnumerable = Object.prototype.propertyIsEnumerable;

// Kinds of `special` values besides the views, whose kinds are their kind bytes (0…12).
const S_DATE = 20;
const S_MAP = 21;
const S_SET = 22;
const S_FILE_REF = 23;
const S_REGEXP = 24;
const S_ARRAY_BUFFER = 25;
const S_NUMBER = 26;
const S_STRING = 27;
const S_BOOLEAN = 28;
const S_BIGINT = 29;

/**
 * The kind of each prototype the codec rebuilds exactly: one Map lookup instead of a chain of
 * comparisons. A subclass's prototype is not in it, so subclasses are refused.
 */
const SPECIAL = new Map<object, number>([
  ...VIEW_KINDS.map((ctor, kind) => [ctor.prototype, kind] as [object, number]),
  [Buffer.prototype, VIEW_BUFFER],
  [DataView.prototype, VIEW_DATAVIEW],
  [Date.prototype, S_DATE],
  [Map.prototype, S_MAP],
  [Set.prototype, S_SET],
  [FileRef.prototype, S_FILE_REF],
  [RegExp.prototype, S_REGEXP],
  [ArrayBuffer.prototype, S_ARRAY_BUFFER],
  [Number.prototype, S_NUMBER],
  [String.prototype, S_STRING],
  [Boolean.prototype, S_BOOLEAN],
  [BigInt.prototype, S_BIGINT],
]);

/**
 * How many bytes a varint of `n` takes. The encoder sometimes writes a varint before it knows the
 * exact number (a UTF-8 length): it reserves the width of an upper bound and pads (see `varintAt`).
 */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/**
 * Options for the "no extra properties" proof of long arrays (see `Encoder.checkIndexedKeys`):
 * print no element, run no `[util.inspect.custom]` hook. Nothing else is needed: other options
 * (the global `util.inspect.defaultOptions` included) can only make the text differ, which sends
 * the check to its exact path. Each option passed costs ~20 ns.
 */
const INSPECT_OPTIONS = { maxArrayLength: 0, customInspect: false } as const;

/**
 * The pass of `Encoder.packed`: writes `a[0…n)` as float64s from `p` while checking that each is a
 * number, and whether all are int32s (bit 2 of the result) and bytes (bit 1). Returns
 * `4 × (elements that were numbers) + flags`. (Float64s go through the DataView: unaligned writes
 * measured as fast as a Float64Array over aligned memory.)
 *
 * Why two copies of the same loop, and why `Encoder.array` first checks that the first, middle and
 * last elements are numbers: V8 keeps type feedback per function, and sticky. A load `a[i]` that has
 * seen only double arrays yields raw float64s; once it has also seen an array of small integers or
 * a mixed array (`[0.5, "a"]`), every element it loads is boxed into a heap number first. In a
 * process whose encoder had met a few such arrays, the cache benchmark's value (800 floats) took
 * 9.7 µs to encode with one loop, 7.2 µs with one loop for arrays starting with a float and one
 * for arrays starting with an integer, 4.8 µs with the three-element check too (which keeps most
 * mixed arrays out of both), against 3.5 µs in a fresh process.
 */
function scanFloats(a: readonly unknown[], n: number, dv: DataView, p: number): number {
  let int32 = true;
  let byte = true;
  for (let i = 0; i < n; i++, p += 8) {
    const x = a[i];
    if (typeof x !== "number") return 4 * i;
    dv.setFloat64(p, x, true);
    // `x | 0` is x exactly for int32s; `-0 | 0` is 0, which `===` cannot tell from -0: 1 / x can.
    if (int32 && ((x | 0) !== x || (x === 0 && 1 / x < 0))) int32 = byte = false;
    else if (byte && (x & 0xff) !== x) byte = false;
  }
  return 4 * n + (int32 ? 2 : 0) + (byte ? 1 : 0);
}

/** {@link scanFloats} again, for arrays whose first element is an integer (see there why). */
function scanInts(a: readonly unknown[], n: number, dv: DataView, p: number): number {
  let int32 = true;
  let byte = true;
  for (let i = 0; i < n; i++, p += 8) {
    const x = a[i];
    if (typeof x !== "number") return 4 * i;
    dv.setFloat64(p, x, true);
    if (int32 && ((x | 0) !== x || (x === 0 && 1 / x < 0))) int32 = byte = false;
    else if (byte && (x & 0xff) !== x) byte = false;
  }
  return 4 * n + (int32 ? 2 : 0) + (byte ? 1 : 0);
}

class Encoder {
  /** Where this call writes: the slab, or a buffer of its own once the value outgrew the slab. */
  private buf: FastBuffer = EMPTY;
  private dv: DataView = EMPTY_VIEW;
  /** The value's first byte in `buf`, and the next free one. */
  private start = 0;
  private pos = 0;
  private slab: FastBuffer = EMPTY;
  private slabView: DataView = EMPTY_VIEW;
  private slabPos = 0;

  /** The objects met, in the order first written (the decoder numbers them the same way); see `idOf`. */
  private readonly seen = new Set<object>();
  private ids: Map<object, number> | undefined;
  /** Object key → its number in the entry's key table, when its `call` is this call (see `key`). */
  private readonly keySlots = new Map<string, { call: number; id: number }>();
  /** The root of the shape trie (see `shapeNode`). */
  private shapes: ShapeNode = { next: undefined, call: 0, id: 0 };
  private shapeNodes = 0;
  /** This call's number, and how many keys and shapes its tables have. */
  private call = 0;
  private keyCount = 0;
  private shapeCount = 0;

  // The stack of open containers, as parallel arrays (no object allocated per frame).
  private fObj: unknown[] = [];
  private fList: (readonly unknown[] | undefined)[] = []; // keys of an object, indices of a sparse array, a Map/Set snapshot
  private fKind: number[] = [];
  private fNext: number[] = [];
  private fEnd: number[] = [];
  private depth = 0;

  private root = "outputs";
  private stage: string | undefined;
  private fileRefs: string[] | undefined;
  private readonly fileRefSet = new Set<string>();
  private strings: Set<string> | undefined;

  /**
   * Encodes into the slab (see {@link SLAB_SIZE}): the result is a view of the bytes just written,
   * and the next call writes after them. A value that outgrows what is left of the slab moves to
   * a buffer of its own (the slab then stays as it was for the next call).
   */
  encode(value: unknown, options: EncodeOptions | undefined): EncodedValue {
    this.root = options?.path ?? "outputs";
    this.stage = options?.stage;
    this.strings = options?.collectStrings ? new Set() : undefined;
    this.call++;
    this.keyCount = 0;
    this.shapeCount = 0;
    if (this.shapeNodes > SHAPE_NODES_MAX) {
      this.shapes = { next: undefined, call: 0, id: 0 };
      this.shapeNodes = 0;
    }
    if (this.slab.length - this.slabPos < SLAB_MIN_LEFT) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE) as FastBuffer;
      this.slabView = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.byteLength);
      this.slabPos = 0;
    }
    this.buf = this.slab;
    this.dv = this.slabView;
    this.start = this.pos = this.slabPos;
    this.buf[this.pos++] = FORMAT_VERSION;
    this.value(value);
    this.drain();
    const bytes = this.buf.subarray(this.start, this.pos) as Buffer;
    // Results start 8-aligned in the slab, as Buffer.allocUnsafe's do in Node's pool.
    if (this.buf === this.slab) this.slabPos = Math.min(this.slab.length, (this.pos + 7) & ~7);
    const fileRefs = this.fileRefs ?? [];
    const strings = this.strings ? [...this.strings] : [];
    return { bytes, fileRefs, strings };
  }

  /**
   * Forgets this call's objects, so nothing the caller passed is kept alive. (Each `clear()`
   * allocates a new table, ~35 ns: only what was used is cleared.)
   */
  reset(): void {
    if (this.seen.size > 0) this.seen.clear();
    this.ids = undefined;
    if (this.fileRefSet.size > 0) this.fileRefSet.clear();
    this.fileRefs = undefined;
    this.strings = undefined;
    // Frames are emptied as they close; only a throw leaves some open. A very deep value's
    // stack arrays are dropped rather than kept at their size.
    if (this.depth > 0 || this.fObj.length > 1024) {
      this.fObj = [];
      this.fList = [];
      this.fKind = [];
      this.fNext = [];
      this.fEnd = [];
      this.depth = 0;
    }
    this.buf = EMPTY;
    this.dv = EMPTY_VIEW;
  }

  // ---------------------------------------------------------------------------------------------
  // Bytes
  // ---------------------------------------------------------------------------------------------

  /**
   * Makes room for `n` more bytes. A value that still fits in half a slab moves to a new slab
   * (which the next calls go on using); a bigger one to a buffer of its own, exactly as large as
   * asked or twice what it has written (amortized growth), whichever is more. Without the first
   * rule, a slab with 5 KB left would send every 6 KB value to a fresh 64 KB buffer, call after
   * call (it did: the cache value's encode doubled after a 35 KB value had left the slab so).
   */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const inSlab = this.buf === this.slab;
    const size = inSlab && used + n <= SLAB_SIZE / 2 ? SLAB_SIZE : Math.max(used + n, 2 * used, SLAB_SIZE);
    const next = Buffer.allocUnsafeSlow(size) as FastBuffer;
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.start = 0;
    this.pos = used;
    if (inSlab && size === SLAB_SIZE) {
      this.slab = next;
      this.slabView = this.dv;
      this.slabPos = 0;
    }
  }

  private varint(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /**
   * Writes `n` as a varint of exactly `width` bytes at `at` (padding with continuation bytes:
   * `5` in 2 bytes is `0x85 0x00`). LEB128 decoders read padded varints as the same number.
   */
  private varintAt(at: number, n: number, width: number): void {
    const buf = this.buf;
    for (let i = 1; i < width; i++) {
      buf[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[at] = n;
  }

  private num(x: number): void {
    // `x | 0` is x exactly for int32s; `-0 | 0` is 0, which `===` cannot tell from -0: 1 / x can.
    if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
      if (x >= 0 && x < 0x80) {
        this.buf[this.pos++] = T_SMALL_INT + x;
        return;
      }
      this.buf[this.pos] = T_INT32;
      this.dv.setInt32(this.pos + 1, x, true);
      this.pos += 5;
      return;
    }
    this.buf[this.pos] = T_FLOAT64;
    this.dv.setFloat64(this.pos + 1, x, true);
    this.pos += 9;
  }

  /**
   * A string. Short ones are copied with a char-code loop as one-byte text (about 3× faster than a
   * call into `latin1Write` for a few characters), falling through at the first character above
   * U+00FF. Longer ones go through `utf8Write` (native, fast on ASCII); only strings with a lone
   * surrogate, which UTF-8 cannot carry, are written as UTF-16 code units.
   */
  private str(s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING) {
      this.ensure(2 + n);
      const buf = this.buf;
      let p = this.pos + 2;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = T_LATIN1;
        buf[this.pos + 1] = n;
        this.pos = p;
        return;
      }
    }
    if (isWellFormed(s)) {
      const width = varintSize(3 * n);
      this.ensure(1 + width + 3 * n);
      const written = this.buf.utf8Write(s, this.pos + 1 + width);
      this.buf[this.pos] = T_UTF8;
      this.varintAt(this.pos + 1, written, width);
      this.pos += 1 + width + written;
      return;
    }
    this.ensure(1 + 8 + 2 * n);
    this.buf[this.pos++] = T_UTF16;
    this.varint(n);
    this.pos += this.buf.ucs2Write(s, this.pos);
  }

  /**
   * An object key: its number in this entry's key table if it was written before, else the key
   * itself (which the decoder appends to its table, as this appends it here).
   *
   * The table outlives the call: each key keeps a slot `{ call, id }` and is "in this entry's
   * table" when `call` is this call's number. Clearing and refilling a Map per call cost ~50 ns a
   * key (100 distinct keys: 5 µs, more than the rest of the encode); entries of one stage mostly
   * share their keys, so this costs one Map lookup a key instead. The Map is dropped when it
   * holds {@link KEY_SLOTS_MAX} keys.
   */
  private key(k: string): void {
    this.ensure(8);
    if (k.length > REMEMBERED_KEY_MAX) {
      this.keyCount++;
      this.buf[this.pos++] = 0;
      this.str(k);
      return;
    }
    let slot = this.keySlots.get(k);
    if (slot !== undefined && slot.call === this.call) {
      this.varint(slot.id + 1);
      return;
    }
    if (slot === undefined) {
      if (this.keySlots.size >= KEY_SLOTS_MAX) this.keySlots.clear();
      slot = { call: 0, id: 0 };
      this.keySlots.set(k, slot);
    }
    slot.call = this.call;
    slot.id = this.keyCount++;
    this.buf[this.pos++] = 0;
    this.str(k);
  }

  // ---------------------------------------------------------------------------------------------
  // Values
  // ---------------------------------------------------------------------------------------------

  /** Writes one value; a container is opened (its header written, a frame pushed for its contents). */
  private value(v: unknown): void {
    this.ensure(16);
    switch (typeof v) {
      case "number":
        this.num(v);
        return;
      case "string":
        this.str(v);
        if (this.strings !== undefined) this.collect(v);
        return;
      case "boolean":
        this.buf[this.pos++] = v ? T_TRUE : T_FALSE;
        return;
      case "undefined":
        this.buf[this.pos++] = T_UNDEFINED;
        return;
      case "bigint":
        this.buf[this.pos++] = T_BIGINT;
        this.bigint(v);
        return;
      case "object":
        if (v === null) {
          this.buf[this.pos++] = T_NULL;
          return;
        }
        this.object(v);
        return;
      case "function":
        return this.fail("function");
      default:
        return this.fail(typeof v);
    }
  }

  /** With `collectStrings`: a string value that might name a file. */
  private collect(s: string): void {
    if (s.length >= 1 && s.length <= 4096 && !s.includes("\0") && !s.includes("\n")) this.strings!.add(s);
  }

  private bigint(v: bigint): void {
    const hex = v.toString(16);
    this.ensure(8 + hex.length);
    this.varint(hex.length);
    this.pos += this.buf.latin1Write(hex, this.pos);
  }

  private object(o: object): void {
    const id = this.idOf(o);
    if (id >= 0) {
      this.buf[this.pos++] = T_REF;
      this.varint(id);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === OBJECT_PROTO || proto === null) {
      // An array whose prototype was changed would come back a plain object: refuse it.
      if (Array.isArray(o)) this.fail("JavaScript array whose prototype is not Array.prototype");
      this.plain(o, proto === null);
    } else if (proto === ARRAY_PROTO && Array.isArray(o)) {
      this.array(o as unknown[]);
    } else {
      this.special(o, proto);
    }
  }

  /**
   * The id of an object met before, or −1 after numbering it (ids are the order of first meeting).
   *
   * Identity is the costliest part of encoding many small objects: a `Map` get then set took
   * 135 ns a record of 10,000 (a third of the whole encode). Most values share nothing, so until
   * an object comes back, a `Set` is enough, with one operation: `add`, and "was it there" is
   * whether the size grew; an object's id is its position in the Set. At the first object met
   * again, its id has to be looked up, so the Set is turned into an id Map once (O(n)), which
   * takes over for the rest of the call.
   */
  private idOf(o: object): number {
    const ids = this.ids;
    if (ids === undefined) {
      const seen = this.seen;
      const n = seen.size;
      seen.add(o);
      if (seen.size > n) return -1;
      const map = new Map<object, number>();
      let i = 0;
      for (const x of seen) map.set(x, i++);
      this.ids = map;
      return map.get(o)!;
    }
    const id = ids.get(o);
    if (id !== undefined) return id;
    ids.set(o, ids.size);
    return -1;
  }

  /**
   * A plain object: its shape (its list of keys, in order), then its values. A shape met before
   * in this entry is one number; a new one is written out (its keys through the key table) and
   * gets the next number. 10,000 records of one shape write their keys once, and the decoder
   * makes each record from a template of that shape (see value-decode.ts).
   */
  private plain(o: object, nullProto: boolean): void {
    this.checkSymbols(o);
    const keys = Object.keys(o);
    const n = keys.length;
    this.buf[this.pos++] = nullProto ? T_NULL_OBJECT : T_OBJECT;
    const node = n <= SHAPE_MAX_KEYS ? this.shapeNode(keys) : undefined;
    if (node !== undefined && node.call === this.call) this.varint(node.id + 1);
    else {
      if (node !== undefined) {
        node.call = this.call;
        node.id = this.shapeCount;
      }
      this.shapeCount++;
      this.buf[this.pos++] = 0;
      this.varint(n);
      for (let i = 0; i < n; i++) this.key(keys[i]!);
    }
    if (n > 0) this.push(F_OBJECT, o, keys, n);
  }

  /**
   * The node of a key list in the shape trie: one Map lookup a key. Like the key table, the trie
   * outlives the call (a node is in this entry's shape table when its `call` is this call's), and
   * is dropped when it holds {@link SHAPE_NODES_MAX} nodes. A shape with a key longer than
   * {@link REMEMBERED_KEY_MAX} gets no node (it is written out each time): the encoder does not
   * keep long strings of its callers alive.
   */
  private shapeNode(keys: readonly string[]): ShapeNode | undefined {
    let node = this.shapes;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i]!.length > REMEMBERED_KEY_MAX) return undefined;
      let next = node.next;
      if (next === undefined) node.next = next = new Map();
      let child = next.get(keys[i]!);
      if (child === undefined) {
        child = { next: undefined, call: 0, id: 0 };
        next.set(keys[i]!, child);
        this.shapeNodes++;
      }
      node = child;
    }
    return node;
  }

  private checkSymbols(o: object): void {
    const symbols = Object.getOwnPropertySymbols(o);
    for (const s of symbols) if (propertyIsEnumerable.call(o, s)) this.fail(`value with a symbol-keyed property (${String(s)})`);
  }

  /**
   * Arrays. A first pass looks for the packed forms: every element a number (a hole reads as
   * `undefined`, so a holey array is never packed), and whether all are int32s or bytes. Then the
   * check that the array has no property besides its indices (JSON would drop it, and a hit would
   * return less than the stage did), and the choice between the dense and the sparse forms.
   */
  private array(a: unknown[]): void {
    const n = a.length;
    this.checkSymbols(a);
    let i = 0;
    // Only arrays whose first, middle and last elements are numbers are scanned (see `scanFloats`).
    if (n > 0 && typeof a[0] === "number" && typeof a[n >> 1] === "number" && typeof a[n - 1] === "number") {
      i = this.packed(a, n);
      if (i === n) return;
    }
    if (n <= KEYS_CHECK_MAX) {
      const keys = Object.keys(a);
      // Own keys list the indices first, in order: n keys ending with index n − 1 are exactly 0…n−1.
      if (keys.length !== n || (n > 0 && keys[n - 1] !== String(n - 1))) this.indexKeys(a, keys);
      this.dense(a, n);
      return;
    }
    // Long arrays: look for a hole from where the first pass stopped (the elements before it were numbers).
    let hole = false;
    if (n > SPARSE_SCAN_MIN) {
      for (; i < n; i++) {
        if (a[i] === undefined && !(i in a)) {
          hole = true;
          break;
        }
      }
    }
    if (!hole) {
      this.checkIndexedKeys(a, n, "JavaScript array");
      this.dense(a, n);
      return;
    }
    const indices = this.indexKeys(a, Object.keys(a));
    if (indices.length * 4 >= n) {
      this.dense(a, n);
      return;
    }
    this.buf[this.pos++] = T_SPARSE_ARRAY;
    this.varint(n);
    this.varint(indices.length);
    if (indices.length > 0) this.push(F_SPARSE, a, indices, indices.length);
  }

  private dense(a: unknown[], n: number): void {
    this.buf[this.pos++] = T_ARRAY;
    this.varint(n);
    if (n > 0) this.push(F_ARRAY, a, undefined, n);
  }

  /** The indices among an array's own keys; refuses the array if any key is not one. */
  private indexKeys(a: unknown[], keys: readonly string[]): number[] {
    const indices: number[] = [];
    for (const k of keys) {
      if (INDEX.test(k) && Number(k) < a.length) indices.push(Number(k));
      else this.fail(`JavaScript array with a non-index property (${JSON.stringify(k)})`);
    }
    return indices;
  }

  /**
   * Refuses `o` (an array or typed array of length `n`) if it has an enumerable own property
   * besides its indices.
   *
   * `Object.keys` answers exactly but lists every index as a new string: 6 µs for 800 elements,
   * 4 ms for 100,000. For long ones, `util.inspect` with `maxArrayLength: 0` is used as a fast
   * proof instead: it prints no element, and lists the non-index properties through Node's own
   * `getOwnNonIndexProperties` (which skips the indices), in about 1.5 µs whatever the length. Its
   * output is compared with the exact text of "no extra property" (`[ ... 800 more items ]`); any
   * other text (an extra property, or a Node version that prints differently) falls back to
   * `Object.keys`, so a change in Node can make this slower, never wrong. A Proxy is printed as its
   * target (without running the traps), so it always takes the exact path.
   */
  private checkIndexedKeys(o: ArrayLike<unknown>, n: number, what: string, prefix = ""): void {
    if (n > KEYS_CHECK_MAX && !types.isProxy(o)) {
      const s = n === 1 ? "" : "s";
      if (inspect(o, INSPECT_OPTIONS) === `${prefix}[ ... ${n} more item${s} ]`) return;
    }
    const keys = Object.keys(o);
    if (keys.length === n && (n === 0 || keys[n - 1] === String(n - 1))) return;
    // Fewer keys (holes) or another last key: look for one that is not an index.
    const extra = keys.find((k) => !INDEX.test(k) || Number(k) >= n);
    if (extra !== undefined) this.fail(`${what} with a non-index property (${JSON.stringify(extra)})`);
  }

  /**
   * Writes `a` as a packed number array, if it is one (a hole reads as `undefined`, so a holey
   * array never is). Scanning and writing are one pass (see {@link scanFloats}); it gives up at
   * the first element that is not a number, leaving `pos` where it was. When every element turned
   * out to be an int32 (or a byte), a second pass writes the smaller form over the first.
   *
   * @returns how many elements were numbers (`n` when the array was written).
   */
  private packed(a: readonly unknown[], n: number): number {
    this.ensure(10 + 8 * n);
    const at = this.pos;
    const first = a[0] as number;
    const scan = (first | 0) === first ? scanInts : scanFloats;
    const scanned = scan(a, n, this.dv, at + 1 + varintSize(n));
    const count = Math.floor(scanned / 4);
    if (count < n) return count;
    const int32 = (scanned & 2) !== 0;
    const byte = (scanned & 1) !== 0;
    this.checkIndexedKeys(a, n, "JavaScript array");
    this.buf[at] = byte ? T_PACKED_U8 : int32 ? T_PACKED_I32 : T_PACKED_F64;
    this.pos = at + 1;
    this.varint(n);
    let p = this.pos;
    const nums = a as readonly number[];
    if (byte) {
      const buf = this.buf;
      for (let j = 0; j < n; j++) buf[p++] = nums[j]!;
    } else if (int32) {
      const dv = this.dv;
      for (let j = 0; j < n; j++, p += 4) dv.setInt32(p, nums[j]!, true);
    } else p += 8 * n;
    this.pos = p;
    return n;
  }

  /** Everything whose prototype is not Object.prototype, null or Array.prototype. */
  private special(o: object, proto: unknown): void {
    const kind = SPECIAL.get(proto as object);
    // Each case checks the internal slot too: `Object.create(Date.prototype)` is no Date.
    switch (kind) {
      case undefined:
        break;
      case S_DATE:
        if (!types.isDate(o)) break;
        this.noOwnProperties(o, "Date");
        this.buf[this.pos] = T_DATE;
        this.dv.setFloat64(this.pos + 1, (o as Date).getTime(), true);
        this.pos += 9;
        return;
      case S_MAP: {
        if (!types.isMap(o)) break;
        const m = o as Map<unknown, unknown>;
        this.noOwnProperties(m, "Map");
        // A snapshot, keys and values interleaved: a frame walks it like an array.
        const flat: unknown[] = new Array(m.size * 2);
        let j = 0;
        m.forEach((v, k) => {
          flat[j++] = k;
          flat[j++] = v;
        });
        this.buf[this.pos++] = T_MAP;
        this.varint(m.size);
        if (j > 0) this.push(F_FLAT, m, flat, j);
        return;
      }
      case S_SET: {
        if (!types.isSet(o)) break;
        const set = o as Set<unknown>;
        this.noOwnProperties(set, "Set");
        const flat: unknown[] = new Array(set.size);
        let j = 0;
        set.forEach((v) => {
          flat[j++] = v;
        });
        this.buf[this.pos++] = T_SET;
        this.varint(set.size);
        if (j > 0) this.push(F_FLAT, set, flat, j);
        return;
      }
      case S_FILE_REF: {
        this.noOwnProperties(o, "FileRef", 1);
        const path = (o as FileRef).path;
        if (typeof path !== "string") this.fail("FileRef whose path is not a string");
        this.buf[this.pos++] = T_FILE_REF;
        this.str(path);
        if (!this.fileRefSet.has(path)) {
          this.fileRefSet.add(path);
          (this.fileRefs ??= []).push(path);
        }
        return;
      }
      case S_REGEXP: {
        if (!types.isRegExp(o)) break;
        const re = o as RegExp;
        this.noOwnProperties(re, "RegExp");
        if (typeof re.lastIndex !== "number") this.fail("RegExp whose lastIndex is not a number");
        this.buf[this.pos++] = T_REGEXP;
        this.str(re.source);
        this.str(re.flags);
        this.ensure(16);
        this.num(re.lastIndex);
        return;
      }
      case S_ARRAY_BUFFER: {
        if (!types.isArrayBuffer(o)) break;
        const ab = o as ArrayBuffer;
        this.noOwnProperties(ab, "byte buffer (ArrayBuffer)");
        if ((ab as { resizable?: boolean }).resizable === true) this.fail("resizable ArrayBuffer");
        const bytes = this.bytesOf(ab, 0, ab.byteLength);
        this.ensure(9 + bytes.length);
        this.buf[this.pos++] = T_ARRAY_BUFFER;
        this.varint(bytes.length);
        this.buf.set(bytes, this.pos);
        this.pos += bytes.length;
        return;
      }
      case S_NUMBER:
        if (!types.isNumberObject(o)) break;
        this.noOwnProperties(o, "Number object");
        this.buf[this.pos] = T_BOXED_NUMBER;
        this.dv.setFloat64(this.pos + 1, (o as Number).valueOf(), true);
        this.pos += 9;
        return;
      case S_STRING: {
        if (!types.isStringObject(o)) break;
        const s = (o as String).valueOf();
        this.noOwnProperties(o, "String object", s.length);
        this.buf[this.pos++] = T_BOXED_STRING;
        this.str(s);
        if (this.strings !== undefined) this.collect(s);
        return;
      }
      case S_BOOLEAN:
        if (!types.isBooleanObject(o)) break;
        this.noOwnProperties(o, "Boolean object");
        this.buf[this.pos++] = (o as Boolean).valueOf() ? T_BOXED_TRUE : T_BOXED_FALSE;
        return;
      case S_BIGINT:
        if (!types.isBigIntObject(o)) break;
        this.noOwnProperties(o, "BigInt object");
        this.buf[this.pos++] = T_BOXED_BIGINT;
        this.bigint((o as { valueOf(): bigint }).valueOf());
        return;
      default:
        // A view kind (0…12): the prototype is exact, so the constructor is too.
        if (!ArrayBuffer.isView(o)) break;
        this.view(o, kind);
        return;
    }
    this.fail(this.refusedKind(o));
  }

  private view(o: ArrayBufferView, kind: number): void {
    const length = kind === VIEW_DATAVIEW ? 0 : (o as Uint8Array).length;
    if (kind === VIEW_DATAVIEW) this.noOwnProperties(o, "DataView");
    else {
      const name = kind === VIEW_BUFFER ? "Buffer" : VIEW_KINDS[kind]!.name;
      this.checkIndexedKeys(o as unknown as ArrayLike<unknown>, length, kind === VIEW_BUFFER ? name : `typed array (${name})`, kind === VIEW_BUFFER ? `Buffer(${length}) [Uint8Array] ` : `${name}(${length}) `);
    }
    const bytes = this.bytesOf(o.buffer, o.byteOffset, o.byteLength);
    const n = bytes.length;
    this.ensure(10 + n);
    this.buf[this.pos++] = T_VIEW;
    this.buf[this.pos++] = kind;
    this.varint(n);
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /**
   * The bytes of a buffer, as a Uint8Array over them. A detached ArrayBuffer (one transferred to
   * a worker) has none and cannot even be viewed; it would come back as a live empty buffer, so
   * it is refused. (Node 20 has no `ArrayBuffer#detached`: the failed view is the test.)
   */
  private bytesOf(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array {
    try {
      return new Uint8Array(buffer, offset, length);
    } catch {
      return this.fail("detached ArrayBuffer (or a view of one)");
    }
  }

  /**
   * Refuses `o` if it has enumerable own properties (beyond `expected` index or field keys).
   * (Kinds are worded to follow "is a", which UnrecordableValueError puts before them.)
   */
  private noOwnProperties(o: object, what: string, expected = 0): void {
    this.checkSymbols(o);
    const keys = Object.keys(o);
    if (keys.length > expected) this.fail(`${what} with own properties (${JSON.stringify(keys[expected])})`);
  }

  private refusedKind(o: object): string {
    if (types.isPromise(o)) return "Promise (await it before returning it)";
    if (o instanceof WeakMap) return "WeakMap";
    if (o instanceof WeakSet) return "WeakSet";
    if (o instanceof WeakRef) return "WeakRef";
    if (types.isSymbolObject(o)) return "boxed symbol";
    if (types.isSharedArrayBuffer(o)) return "SharedArrayBuffer (copy it into an ArrayBuffer)";
    if (types.isNativeError(o) || o instanceof Error) return `native error (${className(o)}: record its message instead)`;
    return `class instance (${className(o)})`;
  }

  // ---------------------------------------------------------------------------------------------
  // The stack
  // ---------------------------------------------------------------------------------------------

  private push(kind: number, o: unknown, list: readonly unknown[] | undefined, end: number): void {
    const d = this.depth++;
    this.fKind[d] = kind;
    this.fObj[d] = o;
    this.fList[d] = list;
    this.fNext[d] = 0;
    this.fEnd[d] = end;
  }

  /**
   * Writes the contents of every open container, the innermost first. A child container pushes
   * its own frame on top, so it is finished before its parent goes on: the bytes come out in
   * document order, as a recursive writer's would.
   */
  private drain(): void {
    const { fKind, fObj, fList, fNext, fEnd } = this;
    while (this.depth > 0) {
      const d = this.depth - 1;
      const i = fNext[d]!;
      if (i === fEnd[d]) {
        fObj[d] = undefined;
        fList[d] = undefined;
        this.depth = d;
        continue;
      }
      fNext[d] = i + 1;
      switch (fKind[d]) {
        case F_OBJECT:
          this.value((fObj[d] as Record<string, unknown>)[fList[d]![i] as string]);
          break;
        case F_ARRAY: {
          const a = fObj[d] as unknown[];
          const x = a[i];
          // `i in a` tells a hole from an explicit undefined.
          if (x === undefined && !(i in a)) {
            this.ensure(1);
            this.buf[this.pos++] = T_HOLE;
          } else this.value(x);
          break;
        }
        case F_SPARSE: {
          const index = fList[d]![i] as number;
          this.ensure(8);
          this.varint(index);
          this.value((fObj[d] as unknown[])[index]);
          break;
        }
        default:
          this.value(fList[d]![i]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------------------------

  /** The path of the value being written: the root, then each open container's current child. */
  private path(): string {
    let out = this.root;
    for (let d = 0; d < this.depth; d++) {
      const i = this.fNext[d]! - 1;
      const list = this.fList[d];
      switch (this.fKind[d]) {
        case F_OBJECT: {
          const k = list![i] as string;
          out += IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
          break;
        }
        case F_ARRAY:
          out += `[${i}]`;
          break;
        case F_SPARSE:
          out += `[${list![i] as number}]`;
          break;
        default:
          if (this.fObj[d] instanceof Set) out += `<set element #${i}>`;
          else out += i % 2 === 0 ? `<map key #${i / 2}>` : `<map value at ${describeKey(list![i - 1], (i - 1) / 2)}>`;
      }
    }
    return out;
  }

  private fail(kind: string): never {
    throw new UnrecordableValueError(this.path(), kind, this.stage);
  }
}

/**
 * One idle encoder, reused so each call does not allocate a 64 KB buffer and its maps. A call made
 * while another is running (a getter of the value being encoded that encodes something itself)
 * gets a fresh one.
 */
let idle: Encoder | undefined;

/**
 * Encodes `value` in the `mpv1` format (grammar in value-format.ts). See value-codec.ts.
 *
 * @example
 * encodeValue({ a: [1, 2] }).bytes; // <Buffer 01 15 01 00 08 01 61 14 02 01 02>
 */
export function encodeValue(value: unknown, options?: EncodeOptions): EncodedValue {
  const encoder = idle ?? new Encoder();
  idle = undefined;
  try {
    return encoder.encode(value, options);
  } finally {
    encoder.reset();
    idle = encoder;
  }
}
