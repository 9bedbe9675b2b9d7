import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KEY_FORMAT, cacheKey, canonicalEncode, digest } from "../src/runtime/cache/canonical.js";
import { KeyWriter } from "../src/runtime/cache/key-writer.js";
import { FileRef, ResolvedFile } from "../src/runtime/cache/types.js";
import { UnrecordableValueError } from "../src/runtime/errors.js";

/** SHA-256 hex of the parts, in order. */
function sha(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest("hex");
}
/** The encoding as hex: comparable with toBe, readable in a failure. */
const enc = (v: unknown): string => canonicalEncode(v).toString("hex");
/** Bytes from pieces: a string is its ASCII bytes, a number one byte, a Uint8Array itself. */
function bytes(...pieces: (string | number | Uint8Array)[]): string {
  return Buffer.concat(pieces.map((x) => (typeof x === "string" ? Buffer.from(x, "latin1") : typeof x === "number" ? Buffer.from([x]) : x))).toString("hex");
}
/** A float64, little-endian. */
function f64(x: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b;
}

/** An object with a null prototype and the given entries. */
function bare(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null) as Record<string, unknown>, entries);
}
class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
const sparse = (): unknown[] => {
  const a: unknown[] = [];
  a.length = 2;
  a[1] = 1;
  return a;
};

// Each pair must encode (and digest) differently.
const distinct: [string, unknown, unknown][] = [
  ["-0 vs 0", -0, 0],
  ["NaN vs null", NaN, null],
  ["NaN vs undefined", NaN, undefined],
  ["Infinity vs -Infinity", Infinity, -Infinity],
  ["Infinity vs null", Infinity, null],
  ["Infinity vs the string", Infinity, "Infinity"],
  ["undefined vs null", undefined, null],
  ["{a: undefined} vs {}", { a: undefined }, {}],
  ["{a: undefined} vs {a: null}", { a: undefined }, { a: null }],
  ["[undefined] vs []", [undefined], []],
  ["1n vs 1", 1n, 1],
  ["1n vs '1'", 1n, "1"],
  ["'1' vs 1", "1", 1],
  ["true vs 'true'", true, "true"],
  ["true vs 1", true, 1],
  ["'' vs []", "", []],
  ["Date vs its time", new Date(0), 0],
  ["Date vs its ISO string", new Date(0), "1970-01-01T00:00:00.000Z"],
  ["Date vs another Date", new Date(0), new Date(1)],
  ["invalid Date vs Date(0)", new Date(NaN), new Date(0)],
  ["invalid Date vs NaN", new Date(NaN), NaN],
  ["Map vs object", new Map([["a", 1]]), { a: 1 }],
  ["empty Map vs empty object", new Map(), {}],
  ["Map vs array of entries", new Map([["a", 1]]), [["a", 1]]],
  ["Map with 1 vs '1' key", new Map([[1, "x"]]), new Map([["1", "x"]])],
  ["Map values differ", new Map([["a", 1]]), new Map([["a", 2]])],
  ["Set vs array", new Set([1, 2]), [1, 2]],
  ["empty Set vs empty Map", new Set(), new Map()],
  ["Set vs Set", new Set([1]), new Set(["1"])],
  ["array order", [1, 2], [2, 1]],
  ["hole vs undefined", sparse(), [undefined, 1]],
  ["hole vs null", sparse(), [null, 1]],
  ["Uint8Array vs Int8Array", new Uint8Array([1]), new Int8Array([1])],
  ["Uint8Array vs array", new Uint8Array([1]), [1]],
  ["Uint8Array vs object", new Uint8Array([1, 2]), { 0: 1, 1: 2 }],
  ["Uint8Array vs Uint8ClampedArray", new Uint8Array([1]), new Uint8ClampedArray([1])],
  ["Uint8Array vs Buffer", new Uint8Array([1]), Buffer.from([1])],
  ["Uint8Array vs DataView", new Uint8Array([1]), new DataView(new Uint8Array([1]).buffer)],
  ["Uint8Array vs ArrayBuffer", new Uint8Array([1]), new Uint8Array([1]).buffer],
  ["Float64Array -0 vs 0", new Float64Array([-0]), new Float64Array([0])],
  ["typed array contents", new Uint16Array([1, 2]), new Uint16Array([2, 1])],
  ["typed array view offset", new Uint8Array([1, 2, 3]).subarray(1), new Uint8Array([1, 2, 3])],
  ["RegExp flags", /a/g, /a/i],
  ["RegExp source", /a/, /b/],
  ["RegExp vs string", /a/, "/a/"],
  ["boxed number vs number", new Number(1), 1],
  ["boxed string vs string", new String("a"), "a"],
  ["boxed false vs false", new Boolean(false), false],
  ["boxed -0 vs boxed 0", new Number(-0), new Number(0)],
  ["string framing: ['a,b'] vs ['a','b']", ["a,b"], ["a", "b"]],
  ["string framing: ['ab'] vs ['a','b']", ["ab"], ["a", "b"]],
  ["string framing: key/value split", { ab: "c" }, { a: "bc" }],
  ["string that looks like an encoding", "s1:a", ["a"]],
  ["nesting", [[1], 2], [1, [2]]],
  ["lone surrogate vs U+FFFD", "\uD800", "\uFFFD"],
  ["lone surrogate vs its hex", "\uD800", "d800"],
  ["string length in units", "é", "e\u0301"],
  ["ResolvedFile path", new ResolvedFile("a.txt", "0".repeat(64), 1), new ResolvedFile("b.txt", "0".repeat(64), 1)],
  ["ResolvedFile contents", new ResolvedFile("a.txt", "0".repeat(64), 1), new ResolvedFile("a.txt", "1".repeat(64), 1)],
  ["ResolvedFile size", new ResolvedFile("a.txt", "0".repeat(64), 1), new ResolvedFile("a.txt", "0".repeat(64), 2)],
  ["ResolvedFile vs plain object", new ResolvedFile("a", "0".repeat(64), 1), { path: "a", sha256: "0".repeat(64), size: 1 }],
  ["ResolvedFile vs its path", new ResolvedFile("a", "0".repeat(64), 1), "a"],
  ["large numbers", 2 ** 53, 2 ** 53 + 2],
  ["large bigints", 2n ** 64n, 2n ** 64n + 1n],
];

// Each pair must encode (and digest) the same.
const same: [string, unknown, unknown][] = [
  ["object key order", { a: 1, b: 2 }, { b: 2, a: 1 }],
  ["nested key order", { x: { a: 1, b: [{ c: 1, d: 2 }] } }, { x: { b: [{ d: 2, c: 1 }], a: 1 } }],
  ["integer-like key order", { b: 1, 2: 1, a: 1, 1: 1 }, { 1: 1, a: 1, 2: 1, b: 1 }],
  [
    "Map insertion order",
    new Map<unknown, unknown>([["a", 1], [2, "b"], [{ k: 1 }, new Set([1])]]),
    new Map<unknown, unknown>([[{ k: 1 }, new Set([1])], [2, "b"], ["a", 1]]),
  ],
  ["Map keys with the same encoding", new Map([[{}, 1], [{}, 2]]), new Map([[{}, 2], [{}, 1]])],
  ["Set order", new Set([3, "a", 1n, null]), new Set([null, 1n, "a", 3])],
  ["Set of objects", new Set([{ a: 1 }, { b: 2 }]), new Set([{ b: 2 }, { a: 1 }])],
  ["null prototype", bare({ a: 1 }), { a: 1 }],
  ["NaN is NaN", NaN, 0 / 0],
  ["shared vs copied reference", (() => { const o = { a: 1 }; return [o, o]; })(), [{ a: 1 }, { a: 1 }]],
  ["same Date", new Date(5), new Date(5)],
  ["equal typed arrays on different buffers", new Uint8Array([1, 2, 3]).subarray(1), new Uint8Array([2, 3])],
  ["RegExp lastIndex ignored", Object.assign(/a/g, { lastIndex: 3 }), /a/g],
];

describe("canonicalEncode / digest: distinctions", () => {
  it.each(distinct)("%s", (_label, a, b) => {
    expect(enc(a)).not.toBe(enc(b));
    expect(digest(a)).not.toBe(digest(b));
  });

  it("has no two equal digests across the whole table", () => {
    // Pairs are only a start: every value of the table must differ from every other one that is
    // not the same data (duplicates across rows are removed by their encoding first).
    const values = distinct.flatMap(([, a, b]) => [a, b]);
    const byEncoding = new Map(values.map((v) => [enc(v), v]));
    const digests = new Set([...byEncoding.values()].map((v) => digest(v)));
    expect(digests.size).toBe(byEncoding.size);
  });
});

describe("canonicalEncode / digest: equivalences", () => {
  it.each(same)("%s", (_label, a, b) => {
    expect(enc(a)).toBe(enc(b));
    expect(digest(a)).toBe(digest(b));
  });
});

describe("format", () => {
  it("is versioned, and digest is SHA-256 of the format and the encoding", () => {
    expect(KEY_FORMAT).toBe("memopipe-key-v2");
    for (const v of [1, { a: [1, "x"] }, new Map([[1, 2]]), "é\u{1F600}", "\uDC00x"]) {
      expect(digest(v)).toBe(sha(`${KEY_FORMAT}\n`, canonicalEncode(v)));
      expect(digest(v)).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("streams large values into the hash with the same result", () => {
    const big = Array.from({ length: 50_000 }, (_, i) => ({ i, s: `v${i}`, m: new Map([[i, [i]]]) }));
    const encoding = canonicalEncode(big);
    expect(encoding.length).toBeGreaterThan(500_000);
    expect(digest(big)).toBe(sha(`${KEY_FORMAT}\n`, encoding));
    // Long strings and large byte runs take the direct path into the hash (no copy into the buffer).
    const long = "x".repeat(100_000) + "é";
    const blob = new Uint8Array(200_000).map((_, i) => i % 251);
    for (const v of [long, [long, long], blob, { blob, long }, new Map([[long, blob]])]) {
      expect(digest(v)).toBe(sha(`${KEY_FORMAT}\n`, canonicalEncode(v)));
    }
  });

  it("encodes documented examples exactly", () => {
    // { b: [1, "1"], a: -0 }: an object of 2 keys, sorted; -0 keeps its sign bit.
    expect(enc({ b: [1, "1"], a: -0 })).toBe(bytes("o", 2, "s", 1, "a", "d", f64(-0), "s", 1, "b", "a", 2, "d", f64(1), "s", 1, "1"));
    expect(enc(sparse())).toBe(bytes("a", 2, "h", "d", f64(1)));
    expect(enc(new Set(["b", "a"]))).toBe(bytes("S", 2, "s", 1, "a", "s", 1, "b"));
    expect(enc(new Map<string, unknown>([["b", 1], ["a", true]]))).toBe(bytes("M", 2, "s", 1, "a", "t", "s", 1, "b", "d", f64(1)));
    expect(enc([null, undefined, false, 12n, -3n])).toBe(bytes("a", 5, "n", "u", "f", "i", 2, "12", "i", 2, "-3"));
    // UTF-16 length, then UTF-8 bytes; a lone surrogate: 2 bytes per unit.
    expect(enc("é")).toBe(bytes("s", 1, Buffer.from("é", "utf8")));
    expect(enc("a\uD800")).toBe(bytes("w", 2, 0x61, 0, 0x00, 0xd8));
    expect(enc("x".repeat(200))).toBe(bytes("s", 0xc8, 0x01, "x".repeat(200)));
    expect(enc(new Date(1))).toBe(bytes("D", f64(1)));
    expect(enc(/a/g)).toBe(bytes("R", "s", 1, "a", "s", 1, "g"));
    expect(enc(new Uint16Array([1]))).toBe(bytes("V", "s", 11, "Uint16Array", 2, 1, 0));
    expect(enc(new Number(2))).toBe(bytes("x", "N", "d", f64(2)));
    expect(enc(new ResolvedFile("a", "b", 3))).toBe(bytes("F", "s", 1, "a", "s", 1, "b", "d", f64(3)));
  });

  it("writes every NaN as one bit pattern", () => {
    const other = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0]!;
    const negative = new Float64Array(new BigUint64Array([0xfff8000000000000n]).buffer)[0]!;
    expect(other).toBeNaN();
    expect(enc(other)).toBe(enc(NaN));
    expect(enc(negative)).toBe(enc(NaN));
    expect(enc(new Date(NaN))).toBe(bytes("D", 0, 0, 0, 0, 0, 0, 0xf8, 0x7f));
  });

  it("cacheKey is SHA-256 of the encoding of [KEY_FORMAT, stage, code, inputs]", () => {
    const parts = { stage: "register", code: "c".repeat(64), inputs: { ref: "a".repeat(64), img: "b".repeat(64) } };
    expect(cacheKey(parts)).toBe(sha(canonicalEncode([KEY_FORMAT, parts.stage, parts.code, parts.inputs])));
    expect(cacheKey(parts)).toBe(cacheKey({ ...parts, inputs: { img: "b".repeat(64), ref: "a".repeat(64) } }));
    const keys = new Set([
      cacheKey(parts),
      cacheKey({ ...parts, stage: "register2" }),
      cacheKey({ ...parts, code: "d".repeat(64) }),
      cacheKey({ ...parts, inputs: { ref: "a".repeat(64) } }),
      cacheKey({ ...parts, inputs: { ref: "b".repeat(64), img: "a".repeat(64) } }), // names bind to slots
      cacheKey({ stage: "a", code: "bc", inputs: {} }),
      cacheKey({ stage: "ab", code: "c", inputs: {} }),
    ]);
    expect(keys.size).toBe(7);
  });

  it("is the same when a getter computes a digest in the middle of another (reentrancy)", () => {
    const inner = { a: [1, 2, 3] };
    const withGetter = {
      get x() {
        return digest(inner);
      },
      y: "after",
    };
    expect(digest(withGetter)).toBe(digest({ x: digest(inner), y: "after" }));
  });
});

describe("memory (the writer)", () => {
  it("streams a digest of 1M numbers through a buffer that never grows", () => {
    const w = new KeyWriter();
    const size = w.buf.length;
    w.begin(true, "p\n");
    const expected = createHash("sha256").update("p\n");
    for (let i = 0; i < 1_000_000; i++) {
      w.tagF64(0x64, i * 0.5);
      if (i % 100_000 === 0) expect(w.buf.length).toBe(size);
      expected.update(Buffer.from(bytes("d", f64(i * 0.5)), "hex"));
    }
    expect(w.buf.length).toBe(size);
    expect(w.finishHex()).toBe(expected.digest("hex"));
  });

  it("holds a Map/Set body in memory until it is sorted, then gives the grown buffer back", () => {
    const w = new KeyWriter();
    const size = w.buf.length;
    w.begin(true, "");
    w.holds++; // an open Map body: nothing may leave the buffer
    for (let i = 0; i < 300_000; i++) w.tagF64(0x64, i);
    expect(w.buf.length).toBeGreaterThan(2_000_000);
    w.holds--;
    w.finishHex();
    w.release();
    expect(w.buf.length).toBe(size);
  });
});

describe("own __proto__ keys", () => {
  it("count as keys", () => {
    const json = JSON.parse('{"__proto__":1,"v":1}') as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["__proto__", "v"]);
    expect(digest(json)).not.toBe(digest({ v: 1 }));
    expect(digest(json)).not.toBe(digest(JSON.parse('{"__proto__":2,"v":1}')));
    expect(digest(json)).toBe(digest(JSON.parse('{"v":1,"__proto__":1}')));
    expect(enc(json)).toBe(bytes("o", 2, "s", 9, "__proto__", "d", f64(1), "s", 1, "v", "d", f64(1)));
    // An object-valued own __proto__ is data too, not the prototype.
    const nested = JSON.parse('{"__proto__":{"a":1}}') as object;
    expect(digest(nested)).not.toBe(digest({}));
    expect(digest(nested)).toBe(digest(JSON.parse('{"__proto__":{"a":1}}')));
  });
});

describe("deep values (explicit stack, no recursion)", () => {
  const nest = (depth: number, wrap: (v: unknown) => unknown, leaf: unknown = 1): unknown => {
    let v = leaf;
    for (let i = 0; i < depth; i++) v = wrap(v);
    return v;
  };

  it.each([10_000, 100_000])("encodes %i nested arrays exactly", (depth) => {
    const v = nest(depth, (x) => [x]);
    expect(enc(v)).toBe(Buffer.concat([Buffer.from("a\x01".repeat(depth), "latin1"), Buffer.from(bytes("d", f64(1)), "hex")]).toString("hex"));
    expect(digest(v)).toBe(sha(`${KEY_FORMAT}\n`, canonicalEncode(v)));
    expect(digest(v)).not.toBe(digest(nest(depth - 1, (x) => [x])));
  });

  it.each([10_000, 100_000])("digests %i levels of objects, Maps and Sets", (depth) => {
    const kinds = [(x: unknown) => ({ k: x }), (x: unknown) => new Map([["k", x]]), (x: unknown) => new Set([x]), (x: unknown) => [0, x]];
    let i = 0;
    const v = nest(depth, (x) => kinds[i++ % kinds.length]!(x));
    i = 0;
    const same = nest(depth, (x) => kinds[i++ % kinds.length]!(x));
    i = 0;
    const other = nest(depth, (x) => kinds[i++ % kinds.length]!(x), 2);
    expect(digest(v)).toBe(digest(same));
    expect(digest(v)).not.toBe(digest(other));
    expect(digest(v)).toBe(sha(`${KEY_FORMAT}\n`, canonicalEncode(v)));
  });

  it("deep Map keys sort by their encodings", () => {
    const a = nest(20_000, (x) => ({ k: x }), "a");
    const b = nest(20_000, (x) => ({ k: x }), "b");
    expect(digest(new Map([[a, 1], [b, 2]]))).toBe(digest(new Map([[b, 2], [a, 1]])));
    expect(digest(new Map([[a, 1], [b, 2]]))).not.toBe(digest(new Map([[a, 2], [b, 1]])));
  });

  it.each([
    ["at depth 3", 3, 1],
    ["below the scanned frames (depth 40)", 40, 1],
    ["a cycle of length 7 at depth 30", 30, 7],
    ["a cycle of length 1,000 at depth 10,000", 10_000, 1_000],
  ])("names a cycle %s with its exact path", (_label, depth, length) => {
    // root → .a → .a … (depth levels) → cycle start → [0] → [0] … (length - 1) → back to the cycle start
    const start: unknown[] = [];
    let tail = start;
    for (let i = 1; i < length; i++) {
      const next: unknown[] = [];
      tail.push(next);
      tail = next;
    }
    tail.push(start);
    const v = nest(depth, (x) => ({ a: x }), start);
    let error: unknown;
    try {
      digest(v, "inputs.deep");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnrecordableValueError);
    expect((error as UnrecordableValueError).kind).toBe("circular reference");
    expect((error as UnrecordableValueError).path).toBe(`inputs.deep${".a".repeat(depth)}${"[0]".repeat(length)}`);
  });

  it("a value shared many times along a deep path is not a cycle", () => {
    const shared = { s: 1 };
    const v = nest(10_000, (x) => [shared, x, shared]);
    expect(() => digest(v)).not.toThrow();
  });
});

describe("unrecordable values", () => {
  const cyclic: Record<string, unknown> = { a: [1] };
  (cyclic.a as unknown[]).push(cyclic);
  const selfMap = new Map<string, unknown>();
  selfMap.set("me", selfMap);
  const cases: [string, unknown, string, string][] = [
    ["function in an object", { options: { cb: () => {} } }, "value.options.cb", "function"],
    ["symbol in an array", [1, 2, Symbol("s")], "value[2]", "symbol"],
    ["non-identifier key", { "a b": [() => 1] }, 'value["a b"][0]', "function"],
    ["Map value", new Map([["k", () => 1]]), 'value<map value at "k">', "function"],
    ["Map key", new Map([[Symbol("k"), 1]]), "value<map key #0>", "symbol"],
    ["Set element", new Set([1, Promise.resolve()]), "value<set element #1>", "Promise"],
    ["class instance", { p: new Point(1, 2) }, "value.p", "class instance (Point)"],
    ["Error instance", [new Error("x")], "value[0]", "class instance (Error)"],
    ["Map subclass", new (class Registry extends Map {})(), "value", "class instance (Registry)"],
    ["WeakMap", { w: new WeakMap() }, "value.w", "WeakMap"],
    ["WeakSet", { w: new WeakSet() }, "value.w", "WeakSet"],
    ["Promise", Promise.resolve(1), "value", "Promise"],
    ["cycle through an array", cyclic, "value.a[1]", "circular reference"],
    ["cycle through a Map", selfMap, 'value<map value at "me">', "circular reference"],
    ["symbol keys", { [Symbol("k")]: 1 }, "value", "symbol keys"],
    ["unresolved file()", { f: new FileRef("a.txt") }, "value.f", "file() reference"],
  ];
  it.each(cases)("%s", (_label, value, path, kind) => {
    let error: unknown;
    try {
      digest(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnrecordableValueError);
    const e = error as UnrecordableValueError;
    expect(e.path).toBe(path);
    expect(e.kind).toContain(kind);
    expect(e.message).toContain(path);
  });

  it("uses the given root path", () => {
    expect(() => digest({ f: () => {} }, "inputs.options")).toThrow(/inputs\.options\.f is a function/);
  });

  it("leaves nothing behind for the next value after an error (encoders are reused)", () => {
    // The first entry of the bad Map ends at byte 8, inside the first entry of the next Map: a stale
    // entry boundary there would cut and reorder that entry's bytes.
    for (const bad of [new Map<string, unknown>([["abc", true], ["b", () => 1]]), new Set<unknown>([true, Symbol("s")]), [[[{ f: () => 1 }]]]]) {
      expect(() => canonicalEncode(bad)).toThrow(UnrecordableValueError);
      expect(enc(new Map([["y", 2], ["x", 1]]))).toBe(bytes("M", 2, "s", 1, "x", "d", f64(1), "s", 1, "y", "d", f64(2)));
      expect(enc(new Set(["b", "a"]))).toBe(bytes("S", 2, "s", 1, "a", "s", 1, "b"));
      expect(digest([[1]])).toBe(sha(`${KEY_FORMAT}\n`, Buffer.from(bytes("a", 1, "a", 1, "d", f64(1)), "hex")));
    }
  });

  it("allows a shared (acyclic) reference", () => {
    const o = { a: 1 };
    expect(() => digest({ x: o, y: [o, o] })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests. `deepEqual` is the reference: "the same data" as the encoding means it.

type Kind = string;
function kindOf(v: object): Kind {
  if (Array.isArray(v)) return "array";
  if (v instanceof Map) return "map";
  if (v instanceof Set) return "set";
  if (v instanceof Date) return "date";
  if (v instanceof RegExp) return "regexp";
  if (Buffer.isBuffer(v)) return "view:Buffer";
  if (ArrayBuffer.isView(v)) return `view:${v instanceof DataView ? "DataView" : (v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]}`;
  if (v instanceof ArrayBuffer) return "arraybuffer";
  if (v instanceof Number) return "boxed:number";
  if (v instanceof String) return "boxed:string";
  if (v instanceof Boolean) return "boxed:boolean";
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) return "object";
  throw new Error(`unexpected value in a property test: ${String(v)}`);
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Buffer {
  return ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v);
}

/** Unordered matching of two lists under deepEqual (a multiset comparison). */
function sameMultiset(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  return a.every((x) => {
    const j = b.findIndex((y, k) => !used[k] && deepEqual(x, y));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== "object" || a === null || b === null) return Object.is(a, b);
  const o = b as object;
  const kind = kindOf(a);
  if (kind !== kindOf(o)) return false;
  switch (kind) {
    case "array": {
      const x = a as unknown[];
      const y = o as unknown[];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) {
        if (i in x !== i in y) return false;
        if (!deepEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case "map":
      return sameMultiset([...(a as Map<unknown, unknown>)], [...(o as Map<unknown, unknown>)]);
    case "set":
      return sameMultiset([...(a as Set<unknown>)], [...(o as Set<unknown>)]);
    case "date":
      return Object.is((a as Date).getTime(), (o as Date).getTime());
    case "regexp":
      return (a as RegExp).source === (o as RegExp).source && (a as RegExp).flags === (o as RegExp).flags;
    case "boxed:number":
    case "boxed:string":
    case "boxed:boolean":
      return Object.is((a as Number).valueOf(), (o as Number).valueOf());
    case "object": {
      const ka = Object.keys(a).sort();
      const kb = Object.keys(o).sort();
      return (
        ka.length === kb.length &&
        ka.every((k, i) => k === kb[i] && deepEqual((a as Record<string, unknown>)[k], (o as Record<string, unknown>)[k]))
      );
    }
    default:
      return bytesOf(a as ArrayBuffer).equals(bytesOf(o as ArrayBuffer));
  }
}

/** A deep copy built in a different order: object keys, Map entries and Set elements shuffled. */
function shuffledCopy(v: unknown, random: () => number): unknown {
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  if (typeof v !== "object" || v === null) return v;
  switch (kindOf(v)) {
    case "array": {
      const src = v as unknown[];
      const out = new Array<unknown>(src.length);
      for (const i of shuffle([...src.keys()])) if (i in src) out[i] = shuffledCopy(src[i], random);
      return out;
    }
    case "map":
      return new Map(shuffle([...(v as Map<unknown, unknown>)]).map(([k, x]) => [shuffledCopy(k, random), shuffledCopy(x, random)]));
    case "set":
      return new Set(shuffle([...(v as Set<unknown>)]).map((x) => shuffledCopy(x, random)));
    case "date":
      return new Date((v as Date).getTime());
    case "regexp":
      return new RegExp((v as RegExp).source, (v as RegExp).flags);
    case "boxed:number":
      return new Number((v as Number).valueOf());
    case "boxed:string":
      return new String((v as String).valueOf());
    case "boxed:boolean":
      return new Boolean((v as Boolean).valueOf());
    case "object": {
      const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
      for (const k of shuffle(Object.keys(v))) {
        Object.defineProperty(out, k, { value: shuffledCopy((v as Record<string, unknown>)[k], random), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case "view:Buffer":
      return Buffer.from(v as Buffer);
    case "arraybuffer":
      return (v as ArrayBuffer).slice(0);
    default: {
      const view = v as ArrayBufferView;
      const copy = new Uint8Array(bytesOf(view)).buffer;
      return view instanceof DataView ? new DataView(copy) : new (view.constructor as new (b: ArrayBuffer) => ArrayBufferView)(copy);
    }
  }
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 4,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  stringUnit: "binary",
});

/** Small, collision-prone values: the places where a sloppy encoding would confuse two values. */
const tricky = fc.letrec((tie) => ({
  leaf: fc.constantFrom<unknown>(0, -0, 1, NaN, Infinity, -Infinity, 0n, 1n, "", "0", "1", "a", "a,b", "s1:a", "d1;", "\uD800", "\uFFFD", null, undefined, true, false),
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("leaf"),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.sparseArray(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("", "a", "b", "1", "a,b"), tie("value"), { maxKeys: 3 }),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }).map((es) => new Map(es)),
    fc.array(tie("value"), { maxLength: 3 }).map((xs) => new Set(xs)),
    fc.constantFrom(0, 1, NaN).map((t) => new Date(t)),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }).map((xs) => new Uint8Array(xs)),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }).map((xs) => new Int8Array(xs)),
  ),
})).value;

describe("properties (fast-check)", () => {
  it("distinct values never share a digest (fc.anything)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(anything, { comparator: deepEqual, minLength: 2, maxLength: 6 }), (values) => {
        expect(new Set(values.map((v) => digest(v))).size).toBe(values.length);
      }),
      { numRuns: 300 },
    );
  });

  it("distinct values never share a digest (collision-prone small values)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(tricky, { comparator: deepEqual, minLength: 2, maxLength: 12 }), (values) => {
        expect(new Set(values.map((v) => digest(v))).size).toBe(values.length);
      }),
      { numRuns: 300 },
    );
  });

  it("equal digests mean equal values, for random pairs", () => {
    fc.assert(
      fc.property(tricky, tricky, (a, b) => {
        expect(digest(a) === digest(b)).toBe(deepEqual(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it("the same value rebuilt in another order shares its digest", () => {
    fc.assert(
      fc.property(fc.oneof(anything, tricky), fc.integer(), (value, seed) => {
        const copy = shuffledCopy(value, mulberry32(seed));
        expect(deepEqual(copy, value)).toBe(true);
        expect(enc(copy)).toBe(enc(value));
        expect(digest(copy)).toBe(digest(value));
      }),
      { numRuns: 300 },
    );
  });

  it("objects with own __proto__ keys (from JSON.parse): digest equality is structural equality", () => {
    const key = fc.constantFrom("__proto__", "v", "a", "constructor", "toString");
    const json = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom<unknown>(0, 1, "x", null, true),
        fc.array(tie("v"), { maxLength: 2 }),
        fc.array(fc.tuple(key, tie("v")), { maxLength: 3 }).map((pairs) => JSON.parse(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`) as unknown),
      ),
    })).v;
    fc.assert(
      fc.property(json, json, fc.integer(), (a, b, seed) => {
        expect(digest(a) === digest(b)).toBe(deepEqual(a, b));
        expect(digest(shuffledCopy(a, mulberry32(seed)))).toBe(digest(a));
      }),
      { numRuns: 300 },
    );
  });

  it("JSON values: digest equality is structural equality", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (a, b) => {
        expect(digest(a) === digest(b)).toBe(deepEqual(a, b));
        const reparsed: unknown = JSON.parse(JSON.stringify(a)); // loses -0 only
        expect(digest(reparsed) === digest(a)).toBe(deepEqual(reparsed, a));
      }),
      { numRuns: 300 },
    );
  });
});
