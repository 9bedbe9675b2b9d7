import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FileRef } from "../../src/runtime/cache/types.js";
import { VALUE_CODEC, ValueCodecError, decodeValue, encodeValue } from "../../src/runtime/cache/value-codec.js";
import { MemopipeError, UnrecordableValueError } from "../../src/runtime/errors.js";

const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value).bytes);

/**
 * Whether `b` is `a` rebuilt exactly, identity included: walks both graphs side by side (with an
 * explicit stack, so 100,000-level values are fine) and keeps a one-to-one map between their
 * objects, so a shared reference or a cycle in `a` must be the same object in `b`, and two
 * distinct objects of `a` must stay distinct. Returns the first difference, or undefined.
 */
function graphDifference(a: unknown, b: unknown): string | undefined {
  const forward = new Map<object, object>();
  const backward = new Map<object, object>();
  const stack: [unknown, unknown, string][] = [[a, b, "value"]];
  const bytesOf = (v: ArrayBufferView | ArrayBuffer): Buffer =>
    ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v);
  while (stack.length > 0) {
    const [x, y, path] = stack.pop()!;
    if (typeof x !== "object" || x === null || typeof y !== "object" || y === null) {
      if (typeof x !== typeof y || !Object.is(x, y)) return `${path}: ${String(x)} vs ${String(y)}`;
      continue;
    }
    const seen = forward.get(x);
    if (seen !== undefined) {
      if (seen !== y) return `${path}: a shared object came back as two`;
      continue;
    }
    if (backward.has(y)) return `${path}: two objects came back as one`;
    forward.set(x, y);
    backward.set(y, x);
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return `${path}: prototypes differ`;
    if (Array.isArray(x) !== Array.isArray(y)) return `${path}: array vs not`;
    const xk = Object.keys(x);
    const yk = Object.keys(y);
    if (x instanceof Map && y instanceof Map) {
      if (x.size !== y.size) return `${path}: Map sizes differ`;
      const xe = [...x];
      const ye = [...y];
      xe.forEach(([k, v], i) => {
        stack.push([k, ye[i]![0], `${path}<key ${i}>`], [v, ye[i]![1], `${path}<value ${i}>`]);
      });
    } else if (x instanceof Set && y instanceof Set) {
      if (x.size !== y.size) return `${path}: Set sizes differ`;
      const ye = [...y];
      [...x].forEach((v, i) => stack.push([v, ye[i], `${path}<${i}>`]));
    } else if (x instanceof Date && y instanceof Date) {
      if (!Object.is(x.getTime(), y.getTime())) return `${path}: dates differ`;
    } else if (x instanceof RegExp && y instanceof RegExp) {
      if (x.source !== y.source || x.flags !== y.flags || x.lastIndex !== y.lastIndex) return `${path}: RegExps differ`;
    } else if ((ArrayBuffer.isView(x) || x instanceof ArrayBuffer) && (ArrayBuffer.isView(y) || y instanceof ArrayBuffer)) {
      if (x.constructor !== y.constructor || !bytesOf(x).equals(bytesOf(y))) return `${path}: bytes differ`;
    } else if (x instanceof Number || x instanceof String || x instanceof Boolean || x instanceof BigInt) {
      if (!Object.is(x.valueOf(), (y as { valueOf(): unknown }).valueOf())) return `${path}: boxed values differ`;
    } else if (x instanceof FileRef) {
      if (!(y instanceof FileRef) || x.path !== y.path) return `${path}: FileRefs differ`;
    } else if (Array.isArray(x)) {
      const ya = y as unknown[];
      if (x.length !== ya.length) return `${path}: lengths differ`;
      for (let i = 0; i < x.length; i++) {
        if (i in x !== i in ya) return `${path}[${i}]: hole vs element`;
        if (i in x) stack.push([x[i], ya[i], `${path}[${i}]`]);
      }
      continue; // keys compared below would list every index again
    }
    if (Array.isArray(x) || x instanceof String) continue;
    if (xk.length !== yk.length || xk.some((k, i) => k !== yk[i])) return `${path}: keys differ (${xk.join()} vs ${yk.join()})`;
    for (const k of xk) stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`]);
  }
  return undefined;
}

function expectSameGraph(back: unknown, value: unknown): void {
  expect(graphDifference(value, back)).toBeUndefined();
}

// ------------------------------------------------------------------------------------------------
// Random values of every supported kind, with shared references and cycles
// ------------------------------------------------------------------------------------------------

/**
 * A recipe: plain data, built into a fresh value for each run (fast-check may reuse what it
 * generated, so the objects themselves are never generated, and never mutated). `["ref", n]`
 * stands for the n-th object built so far (modulo their number): a shared reference, or a cycle
 * when that object is an ancestor.
 */
type Recipe =
  | readonly ["prim", unknown]
  | readonly ["date", number]
  | readonly ["regexp", string, string, number]
  | readonly ["typed", number, readonly (number | bigint)[]]
  | readonly ["buffer" | "dataview" | "arraybuffer", readonly number[]]
  | readonly ["boxed", "number" | "string" | "boolean" | "bigint", unknown]
  | readonly ["file", string]
  | readonly ["array", readonly Recipe[], readonly number[]]
  | readonly ["packed", readonly number[]]
  | readonly ["object", boolean, readonly (readonly [string, Recipe])[]]
  | readonly ["map", readonly (readonly [Recipe, Recipe])[]]
  | readonly ["set", readonly Recipe[]]
  | readonly ["ref", number];

const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;

const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  // any UTF-16 code units: lone surrogates included
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 6 }).map((units) => String.fromCharCode(...units)),
  fc.string({ minLength: 33, maxLength: 80 }),
);
const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.integer({ min: 0, max: 300 }), fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31)));
const key = fc.oneof(fc.string({ maxLength: 6 }), anyString, fc.constantFrom("__proto__", "constructor", "0", "1", "length", "toString", "a"));

const recipe: fc.Arbitrary<Recipe> = fc.letrec<{ value: Recipe }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(anyNumber, anyString, fc.bigInt(), fc.constantFrom(undefined, null, true, false)).map((v): Recipe => ["prim", v]),
    fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }).map((t): Recipe => ["date", t]),
      fc.tuple(fc.constantFrom("a", "x+y*", "^(?:[a-z]|\\d){2,}$", "", "\\d{1,3}", "[/]"), fc.subarray(["d", "g", "i", "m", "s", "y"]), fc.nat(9)).map(
        ([src, flags, last]): Recipe => ["regexp", src, flags.join(""), last],
      ),
      fc.nat(TYPED.length - 1).chain((kind) => {
        const big = kind >= 9;
        const item = big ? fc.bigInt({ min: kind === 9 ? -(2n ** 63n) : 0n, max: 2n ** 63n - 1n }) : fc.double();
        return fc.array(item as fc.Arbitrary<number | bigint>, { maxLength: 6 }).map((items): Recipe => ["typed", kind, items]);
      }),
      fc.tuple(fc.constantFrom("buffer", "dataview", "arraybuffer") as fc.Arbitrary<"buffer" | "dataview" | "arraybuffer">, fc.array(fc.nat(255), { maxLength: 8 })).map(
        ([t, bytes]): Recipe => [t, bytes],
      ),
      fc.oneof(
        anyNumber.map((v): Recipe => ["boxed", "number", v]),
        anyString.map((v): Recipe => ["boxed", "string", v]),
        fc.boolean().map((v): Recipe => ["boxed", "boolean", v]),
        fc.bigInt().map((v): Recipe => ["boxed", "bigint", v]),
      ),
      anyString.map((p): Recipe => ["file", p]),
    ),
    fc.tuple(fc.array(tie("value"), { maxLength: 5 }), fc.array(fc.nat(6), { maxLength: 2 })).map(([items, holes]): Recipe => ["array", items, holes]),
    fc.oneof(fc.array(anyNumber, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }), fc.array(fc.integer(), { minLength: 1, maxLength: 8 })).map(
      (items): Recipe => ["packed", items],
    ),
    fc.tuple(fc.boolean(), fc.array(fc.tuple(key, tie("value")), { maxLength: 5 })).map(([nullProto, entries]): Recipe => ["object", nullProto, entries]),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((entries): Recipe => ["map", entries]),
    fc.array(tie("value"), { maxLength: 4 }).map((items): Recipe => ["set", items]),
    fc.nat(50).map((n): Recipe => ["ref", n]),
  ),
})).value;

function build(r: Recipe, built: object[] = []): unknown {
  const made = <T extends object>(o: T): T => {
    built.push(o);
    return o;
  };
  switch (r[0]) {
    case "prim":
      return r[1];
    case "date":
      return made(new Date(r[1]));
    case "regexp": {
      const re = made(new RegExp(r[1], r[2]));
      re.lastIndex = r[3];
      return re;
    }
    case "typed":
      return made(new (TYPED[r[1]] as unknown as new (items: readonly unknown[]) => object)(r[2]));
    case "buffer":
      return made(Buffer.from(r[1]));
    case "dataview":
      return made(new DataView(new Uint8Array(r[1]).buffer));
    case "arraybuffer":
      return made(new Uint8Array(r[1]).buffer);
    case "boxed":
      return made(Object(r[2]) as object);
    case "file":
      return made(new FileRef(r[1]));
    case "packed":
      return made([...r[1]]);
    case "array": {
      const a = made([] as unknown[]);
      for (const item of r[1]) a.push(build(item, built));
      for (const h of r[2]) if (h < a.length) delete a[h];
      return a;
    }
    case "object": {
      const o = made(r[1] ? (Object.create(null) as object) : {});
      for (const [k, v] of r[2]) Object.defineProperty(o, k, { value: build(v, built), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case "map": {
      const m = made(new Map<unknown, unknown>());
      for (const [k, v] of r[1]) m.set(build(k, built), build(v, built));
      return m;
    }
    case "set": {
      const s = made(new Set<unknown>());
      for (const v of r[1]) s.add(build(v, built));
      return s;
    }
    case "ref":
      return built.length === 0 ? null : built[r[1] % built.length];
  }
}

// ------------------------------------------------------------------------------------------------

describe("value codec: round trips", () => {
  it("names its format and starts every entry with the version byte", () => {
    expect(VALUE_CODEC).toBe("mpv1");
    const { bytes } = encodeValue(1);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...bytes]).toEqual([0x01, 0x81]);
  });

  const cases: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["booleans", [true, false]],
    ["integers of every width", [0, 1, 127, 128, 255, 256, -1, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 53)]],
    ["special numbers", [-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON, 0.1]],
    ["bigints", [0n, 1n, -1n, 2n ** 64n, -(2n ** 200n) + 7n]],
    ["strings", ["", "a", "sample-1", "é", "ÿ", "日本語", "emoji 😀", "x".repeat(33), "é".repeat(300), "\0", "line\nbreak", "\uFFFD"]],
    ["lone surrogates", ["\uD800", "a\uDC00b", "\uDBFF\uDFFF\uD800", "é\uD83D".repeat(40)]],
    ["nested plain data", { a: 1, b: { c: [1, "x", null], d: { e: true } }, "key with spaces": [], "": "" }],
    ["numeric-like keys keep their order", { b: 1, 2: "two", a: 3, 1: "one", "-1": 4, "01": 5 }],
    ["holes", [1, , 3, , , 6]],
    ["a hole at the end", [1, 2, ,]],
    ["explicit undefined is not a hole", [undefined, 1]],
    ["Map", new Map<unknown, unknown>([[1, "a"], ["1", { b: 2 }], [{ k: 1 }, [1]], [NaN, -0]])],
    ["Set", new Set<unknown>([1, "1", 1n, {}, [], null, undefined])],
    ["Date", [new Date(0), new Date(-1), new Date(8.64e15), new Date(1_700_000_000_123)]],
    ["RegExp", [/a.b/gi, /^\d+$/msuy, /(?<year>\d{4})/d, new RegExp("", ""), /\//]],
    ["ArrayBuffer", [new ArrayBuffer(0), new Uint8Array([1, 2, 3]).buffer]],
    [
      "typed arrays",
      [
        new Int8Array([-128, 127]),
        new Uint8Array([0, 255]),
        new Uint8ClampedArray([9]),
        new Int16Array([-1]),
        new Uint16Array([65535]),
        new Int32Array([-(2 ** 31)]),
        new Uint32Array([2 ** 32 - 1]),
        new Float32Array([0.5, -0, NaN]),
        new Float64Array([Math.PI, -0, -Infinity]),
        new BigInt64Array([-(2n ** 63n), 5n]),
        new BigUint64Array([2n ** 64n - 1n]),
        new Float64Array(new ArrayBuffer(64), 8, 3),
      ],
    ],
    ["DataView", new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)],
    ["Buffer", [Buffer.from("hello"), Buffer.alloc(0), Buffer.from(Array.from({ length: 500 }, (_, i) => i & 0xff))]],
    ["boxed primitives", [new Number(-0), new Number(NaN), new String("s"), new String(""), new Boolean(false), new Boolean(true), Object(10n)]],
    ["FileRef", { image: new FileRef("out/a.nii"), same: new FileRef("out/a.nii") }],
    ["the cache benchmark's value", { values: Array.from({ length: 800 }, (_, j) => Math.floor(Math.sin(j) * 1e6 + 0.5) / 1e6), label: "sample-1" }],
    ["packed int32s", Array.from({ length: 300 }, (_, i) => i * 100_000 - 10_000_000)],
    ["packed bytes", Array.from({ length: 300 }, (_, i) => i % 256)],
    ["packed with -0", [1, 2, -0]],
    ["long mixed array", Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : { i }))],
    ["long array with holes", Object.assign(new Array(5000), { 3: "x", 4999: 1 })],
  ];
  for (const [name, value] of cases) {
    it(`${name}`, () => {
      const back = roundTrip(value);
      expectSameGraph(back, value);
      expect(isDeepStrictEqual(back, value)).toBe(true);
    });
  }

  it("an invalid Date stays invalid (isDeepStrictEqual calls two invalid Dates unequal: NaN times)", () => {
    const back = roundTrip(new Date(NaN)) as Date;
    expect(back).toBeInstanceOf(Date);
    expect(back.getTime()).toBeNaN();
  });

  it("an own __proto__ key stays a key; the prototype stays Object.prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": 1}, "v": 1}') as Record<string, unknown>;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(["__proto__", "v"]);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expectSameGraph(back, value);
  });

  it("a null-prototype object comes back with a null prototype (own __proto__ key too)", () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    Object.defineProperty(value, "__proto__", { value: 2, enumerable: true, writable: true, configurable: true });
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(Object.keys(back)).toEqual(["a", "__proto__"]);
    expect(isDeepStrictEqual(back, value)).toBe(true);
  });

  it("Buffer comes back a Buffer, Uint8Array a Uint8Array, each with its own memory", () => {
    const pooled = Buffer.from("pooled");
    const [b, u] = roundTrip([pooled, new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length)]) as [Buffer, Uint8Array];
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(Buffer.isBuffer(u)).toBe(false);
    expect(u).toBeInstanceOf(Uint8Array);
    expect(b.toString()).toBe("pooled");
    expect(b.buffer).not.toBe(u.buffer);
  });

  it("a sparse array is stored sparse: length 2^32 − 1 with three elements takes a few bytes", () => {
    const a: unknown[] = [];
    a[0] = "first";
    a[1e6] = { mid: true };
    a[2 ** 32 - 2] = "last";
    const { bytes } = encodeValue(a);
    expect(bytes.length).toBeLessThan(60);
    const back = roundTrip(a) as unknown[];
    expect(back.length).toBe(2 ** 32 - 1);
    expect(Object.keys(back)).toEqual(["0", "1000000", "4294967294"]);
    expect(back[1e6]).toEqual({ mid: true });
  });

  it("chooses the packed forms: bytes, int32s, float64s", () => {
    const tagOf = (v: unknown): number => encodeValue(v).bytes[1]!;
    expect(tagOf([1, 2, 255])).toBe(0x14);
    expect(tagOf([1, 2, 256])).toBe(0x13);
    expect(tagOf([1, -1])).toBe(0x13);
    expect(tagOf([1, 2 ** 31])).toBe(0x12);
    expect(tagOf([0, -0])).toBe(0x12);
    expect(tagOf([0.5])).toBe(0x12);
    expect(tagOf([1, "a"])).toBe(0x10);
    expect(tagOf([1, , 2])).toBe(0x10);
    expect(encodeValue(Array.from({ length: 800 }, (_, i) => i + 0.5)).bytes.length).toBe(1 + 1 + 2 + 800 * 8);
  });

  it("writes each object key once per entry", () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ identifier: i, description: null }));
    const { bytes } = encodeValue(records);
    expect(bytes.length).toBeLessThan(12_000); // JSON: 38,000
    expect(bytes.indexOf("description")).toBe(bytes.lastIndexOf("description"));
    expect(roundTrip(records)).toEqual(records);
  });

  it("objects of one shape are independent (they are made from a shared template)", () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ id: i, ["__proto__"]: i, tag: null as unknown }));
    for (const r of records) Object.defineProperty(r, "__proto__", { value: r.id, enumerable: true, writable: true, configurable: true });
    const bytes = encodeValue(records).bytes;
    const first = decodeValue(bytes) as Record<string, unknown>[];
    const second = decodeValue(bytes) as Record<string, unknown>[];
    first[0]!.tag = "changed";
    first[1]!.extra = 1;
    expect(second[0]!.tag).toBeNull();
    expect(Object.keys(second[1]!)).toEqual(["id", "__proto__", "tag"]);
    for (const r of second) {
      expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(r, "__proto__")?.value).toBe(r.id);
    }
    expectSameGraph(second, records);
    expect(({} as Record<string, unknown>).tag).toBeUndefined();
  });

  it("long keys, wide objects and shapes too long for a template round-trip", () => {
    const long = "k".repeat(300);
    const records = Array.from({ length: 20 }, (_, i) => ({ [long]: i, [`${long}2`]: [i], short: i }));
    const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key-${i}`, i]));
    const huge = Array.from({ length: 5 }, () => Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${"x".repeat(200)}${i}`, i])));
    for (const value of [records, wide, [wide, wide, { ...wide }], huge]) {
      for (let round = 0; round < 3; round++) {
        const back = roundTrip(value);
        expectSameGraph(back, value);
      }
    }
  });

  it("writes each shape once: 1,000 records of one shape, one key list", () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ a: i % 100, b: i % 2 === 0 }));
    expect(encodeValue(records).bytes.length).toBeLessThan(1000 * 5);
  });

  it("results are independent: later encodes never touch earlier bytes (small, slab-sized and growing values)", () => {
    const values = [
      ...Array.from({ length: 40 }, (_, i) => ({ i, s: "x".repeat(i * 97) })),
      new Float64Array(20_000).fill(1.5),
      { big: "y".repeat(200_000) },
      ...Array.from({ length: 40 }, (_, i) => [i, `after ${i}`]),
    ];
    const encoded = values.map((v) => encodeValue(v).bytes);
    const copies = encoded.map((b) => Buffer.from(b));
    for (let i = 0; i < 50; i++) encodeValue({ noise: i, pad: "z".repeat(3000) });
    encoded.forEach((b, i) => {
      expect(b.equals(copies[i]!)).toBe(true);
      expectSameGraph(decodeValue(b), values[i]);
    });
  });

  it("decodes from a range of a larger buffer", () => {
    const { bytes } = encodeValue({ a: [1.5, 2.5] });
    const framed = Buffer.concat([Buffer.from("header"), bytes, Buffer.from("trailer")]);
    expect(decodeValue(framed, 6, 6 + bytes.length)).toEqual({ a: [1.5, 2.5] });
    expect(decodeValue(new Uint8Array(framed.buffer, framed.byteOffset, framed.length), 6, 6 + bytes.length)).toEqual({ a: [1.5, 2.5] });
  });

  it("reports FileRef paths, each once, in order", () => {
    const value = { a: new FileRef("x.txt"), b: [new FileRef("y.txt"), new FileRef("x.txt")], c: new Map([["k", new FileRef("z")]]) };
    const { fileRefs, bytes } = encodeValue(value);
    expect(fileRefs).toEqual(["x.txt", "y.txt", "z"]);
    const back = decodeValue(bytes) as typeof value;
    expect(back.a).toBeInstanceOf(FileRef);
    expect(back.b[1]!.path).toBe("x.txt");
  });

  it("collectStrings: distinct string values of 1–4,096 characters without NUL or newline, not keys", () => {
    const value = {
      keyNotReported: "data/a.csv",
      again: "data/a.csv",
      list: ["b.txt", "", "c\nd", "nul\0", "x".repeat(4096), "y".repeat(4097)],
      m: new Map([["map-key", "map-value"]]),
      s: new Set(["set-item"]),
      boxed: new String("boxed.txt"),
      f: new FileRef("ref.txt"),
    };
    const { strings } = encodeValue(value, { collectStrings: true });
    expect(strings).toEqual(["data/a.csv", "b.txt", "x".repeat(4096), "map-key", "map-value", "set-item", "boxed.txt"]);
    expect(encodeValue(value).strings).toEqual([]);
  });

  it("a getter that encodes something itself does not disturb the outer encode", () => {
    const inner = { z: [1, 2, 3] };
    const value = {
      a: "before",
      get b() {
        return decodeValue(encodeValue(inner).bytes);
      },
      c: "after",
    };
    expect(roundTrip(value)).toEqual({ a: "before", b: inner, c: "after" });
  });

  it("after a throwing getter, the next encode is clean", () => {
    const bad = {
      get x(): never {
        throw new Error("getter failed");
      },
    };
    expect(() => encodeValue([{ deep: [bad] }])).toThrow("getter failed");
    expect(roundTrip({ ok: [1, "two"] })).toEqual({ ok: [1, "two"] });
  });

  it("property: random values of every kind round-trip exactly, identity included", () => {
    fc.assert(
      fc.property(recipe, (r) => {
        const value = build(r);
        const back = roundTrip(value);
        const difference = graphDifference(value, back);
        if (difference !== undefined) throw new Error(difference);
        if (!isDeepStrictEqual(back, value)) throw new Error("isDeepStrictEqual says different");
      }),
      { numRuns: 1500 },
    );
  });

  it("property: the encoding is the same whatever came before (no state leaks between calls)", () => {
    fc.assert(
      fc.property(recipe, recipe, (r1, r2) => {
        const first = Buffer.from(encodeValue(build(r2)).bytes);
        encodeValue(build(r1));
        expect(encodeValue(build(r2)).bytes.equals(first)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("value codec: identity", () => {
  it("shared references stay shared", () => {
    const shared = { n: 1 };
    const date = new Date(5);
    const f64 = new Float64Array([1]);
    const list = [shared, shared, { inner: shared }, date, date, f64, f64];
    const back = roundTrip(list) as [object, object, { inner: object }, Date, Date, Float64Array, Float64Array];
    expect(back[0]).toBe(back[1]);
    expect(back[2].inner).toBe(back[0]);
    expect(back[3]).toBe(back[4]);
    expect(back[5]).toBe(back[6]);
    expectSameGraph(back, list);
  });

  it("cycles through arrays, objects, Maps and Sets come back as cycles", () => {
    const a: unknown[] = [];
    a.push(a);
    const o: Record<string, unknown> = {};
    o.self = o;
    o.list = [o, a];
    const m = new Map<unknown, unknown>();
    m.set(m, m);
    m.set("o", o);
    const s = new Set<unknown>();
    s.add(s);
    s.add(m);
    const value = { a, o, m, s };
    const back = roundTrip(value) as typeof value;
    expect(back.a[0]).toBe(back.a);
    expect(back.o.self).toBe(back.o);
    expect((back.o.list as unknown[])[1]).toBe(back.a);
    expect(back.m.get(back.m)).toBe(back.m);
    expect(back.s.has(back.s)).toBe(true);
    expect(back.s.has(back.m)).toBe(true);
    expectSameGraph(back, value);
    expect(isDeepStrictEqual(back, value)).toBe(true);
  });

  it("two equal but distinct objects stay distinct", () => {
    const back = roundTrip([{ x: 1 }, { x: 1 }]) as object[];
    expect(back[0]).not.toBe(back[1]);
  });
});

describe("value codec: depth", () => {
  const LEVELS = 100_000;

  const nest = (wrap: (inner: unknown, i: number) => unknown): unknown => {
    let v: unknown = "bottom";
    for (let i = 0; i < LEVELS; i++) v = wrap(v, i);
    return v;
  };

  const shapes: [string, (inner: unknown, i: number) => unknown][] = [
    ["arrays", (inner) => [inner]],
    ["objects", (inner) => ({ a: inner })],
    ["Maps", (inner) => new Map([["k", inner]])],
    ["Sets", (inner) => new Set([inner])],
    ["a mix, with a sibling at each level", (inner, i) => (i % 3 === 0 ? [i, inner] : i % 3 === 1 ? { i, inner } : new Map<unknown, unknown>([[i, inner]]))],
  ];
  for (const [name, wrap] of shapes) {
    it(`${LEVELS.toLocaleString("en")} levels of ${name} encode and decode`, () => {
      const value = nest(wrap);
      const back = roundTrip(value);
      expectSameGraph(back, value);
    });
  }

  it("a deep cycle: the bottom refers to the top", () => {
    const top: { next?: unknown } = {};
    let v: { next?: unknown } = top;
    for (let i = 0; i < LEVELS; i++) {
      const next = {};
      v.next = next;
      v = next;
    }
    v.next = top;
    const back = roundTrip(top) as { next?: unknown };
    let w = back;
    for (let i = 0; i <= LEVELS; i++) w = w.next as typeof w;
    expect(w).toBe(back);
  });

  it("a refusal deep down names the whole path", () => {
    let v: unknown = { fn: () => 1 };
    for (let i = 0; i < 1000; i++) v = [v];
    expect(() => encodeValue(v)).toThrow(`outputs${"[0]".repeat(1000)}.fn is a function`);
  });
});

/** An ArrayBuffer transferred away (detached), and a Float64Array over it. */
function detached(): { buffer: ArrayBuffer; view: Float64Array } {
  const buffer = new ArrayBuffer(16);
  const view = new Float64Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  return { buffer, view };
}

describe("value codec: refused values", () => {
  class Model {
    fit(): void {}
  }
  class MyMap extends Map {}
  const longArray = Array.from({ length: 1000 }, (_, i) => i + 0.5);
  const cases: [string, unknown, string, RegExp][] = [
    ["a function", { model: { fit: () => 1 } }, "outputs.model.fit", /^function$/],
    ["a symbol", [1, 2, 3, Symbol("s")], "outputs[3]", /^symbol$/],
    ["a Map value", new Map([["k", () => 1]]), 'outputs<map value at "k">', /function/],
    ["a Map key", new Map([[Symbol("k"), 1]]), "outputs<map key #0>", /symbol/],
    ["a Set element", new Set([1, () => 1]), "outputs<set element #1>", /function/],
    ["a class instance", { m: new Model() }, "outputs.m", /class instance \(Model\)/],
    ["a Map subclass", [new MyMap()], "outputs[0]", /class instance \(MyMap\)/],
    ["an object made from Date.prototype", { d: Object.create(Date.prototype) as object }, "outputs.d", /class instance/],
    ["a WeakMap", { w: new WeakMap() }, "outputs.w", /WeakMap/],
    ["a WeakSet", { w: new WeakSet() }, "outputs.w", /WeakSet/],
    ["a WeakRef", { w: new WeakRef({}) }, "outputs.w", /WeakRef/],
    ["a Promise", { p: Promise.resolve(1) }, "outputs.p", /Promise/],
    ["an Error", { e: new TypeError("bad") }, "outputs.e", /^native error \(TypeError: record its message instead\)$/],
    ["a boxed symbol", { s: Object(Symbol("s")) as object }, "outputs.s", /boxed symbol/],
    ["a symbol-keyed property", { o: { [Symbol("tag")]: 1 } }, "outputs.o", /^value with a symbol-keyed property \(Symbol\(tag\)\)$/],
    ["a symbol-keyed property on an array", [Object.assign([1], { [Symbol("t")]: 1 })], "outputs[0]", /symbol-keyed/],
    ["a short array with an extra property", { a: Object.assign([1, 2], { extra: 1 }) }, "outputs.a", /^JavaScript array with a non-index property \("extra"\)$/],
    ["a long array with an extra property", { a: Object.assign([...longArray], { extra: 1 }) }, "outputs.a", /non-index property \("extra"\)/],
    ["a long mixed array with an extra property", Object.assign([...longArray, "x"], { extra: 1 }), "outputs", /non-index property/],
    ["a holey array with an extra property", Object.assign([1, , 3], { extra: 1 }), "outputs", /non-index property \("extra"\)/],
    ["a RegExp match (index, input, groups)", { m: "abc".match(/b/) }, "outputs.m", /non-index property \("index"\)/],
    ["a Map with an own property", { m: Object.assign(new Map(), { extra: 1 }) }, "outputs.m", /Map with own properties \("extra"\)/],
    ["a Date with an own property", Object.assign(new Date(0), { tz: "UTC" }), "outputs", /Date with own properties/],
    ["a short typed array with an extra property", Object.assign(new Float64Array(2), { unit: "m" }), "outputs", /^typed array \(Float64Array\) with a non-index property \("unit"\)$/],
    ["a long typed array with an extra property", Object.assign(new Int32Array(500), { unit: "m" }), "outputs", /^typed array \(Int32Array\) with a non-index property/],
    ["a long Buffer with an extra property", Object.assign(Buffer.alloc(500), { unit: "m" }), "outputs", /Buffer with a non-index property/],
    ["a SharedArrayBuffer", { b: new SharedArrayBuffer(4) }, "outputs.b", /SharedArrayBuffer/],
    ["a detached ArrayBuffer", { b: detached().buffer }, "outputs.b", /^detached ArrayBuffer/],
    ["a view of a detached ArrayBuffer", { v: detached().view }, "outputs.v", /^detached ArrayBuffer/],
    ["a resizable ArrayBuffer", { b: new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(4, { maxByteLength: 8 }) }, "outputs.b", /resizable ArrayBuffer/],
    ["an array with Object.prototype", { a: Object.setPrototypeOf([1], Object.prototype) as object }, "outputs.a", /^JavaScript array whose prototype is not Array.prototype$/],
    ["a RegExp whose lastIndex is a string", Object.assign(/a/g, { lastIndex: "3" }), "outputs", /lastIndex/],
    ["a key that needs quoting", { "a b": { "c-d": () => 1 } }, 'outputs["a b"]["c-d"]', /function/],
    ["a sparse array element", Object.assign([], { 10_000_000: () => 1 }), "outputs[10000000]", /function/],
  ];
  for (const [name, value, path, kind] of cases) {
    it(`${name}: ${path}`, () => {
      let error: unknown;
      try {
        encodeValue(value, { stage: "train" });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnrecordableValueError);
      const e = error as UnrecordableValueError;
      expect(e.path).toBe(path);
      expect(e.kind).toMatch(kind);
      expect(e.stage).toBe("train");
      expect(e.message).toContain(`stage 'train': ${path} is a ${e.kind}, which cannot be recorded`);
      expect(e.kind).toMatch(/^[^aeiou]/i); // it follows "is a"
    });
  }

  it("names the root given as path", () => {
    expect(() => encodeValue({ x: [() => 1] }, { path: "inputs.options" })).toThrow("inputs.options.x[0] is a function");
  });

  it("a long array behind a Proxy is checked exactly (a Proxy's traps are not seen by inspect)", () => {
    const target = Array.from({ length: 500 }, (_, i) => i + 0.5);
    const proxy = new Proxy(target, { ownKeys: (t) => [...Reflect.ownKeys(t), "ghost"], getOwnPropertyDescriptor: (t, k) => (k === "ghost" ? { value: 1, enumerable: true, configurable: true } : Reflect.getOwnPropertyDescriptor(t, k)) });
    expect(() => encodeValue(proxy)).toThrow(/non-index property \("ghost"\)/);
  });
});

describe("value codec: decoding is total", () => {
  /** Decodes, and fails the test on anything but a value or a ValueCodecError raised by the decoder's own checks. */
  function decodeOrCodecError(bytes: Uint8Array): void {
    try {
      decodeValue(bytes);
    } catch (error) {
      if (!(error instanceof ValueCodecError)) throw new Error(`not a ValueCodecError: ${String(error)}`);
      // A cause means the platform threw and the catch-all wrapped it: a check is missing.
      if (error.cause !== undefined) throw new Error(`unchecked platform error: ${String(error.cause)}`);
      expect(error).toBeInstanceOf(MemopipeError);
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(bytes.length);
    }
  }

  const malformed: [string, number[], RegExp][] = [
    ["no bytes", [], /no bytes/],
    ["another version", [2, 0x81], /unknown format version 0x02/],
    ["an unknown tag", [1, 0x42], /unknown tag 0x42/],
    ["trailing bytes", [1, 0x81, 0x81], /1 bytes after the value/],
    ["a truncated float", [1, 0x06, 0, 0], /runs past the end/],
    ["a lying array length", [1, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f], /count of 4294967295 runs past the end/],
    ["a lying packed length", [1, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /runs past the end/],
    ["a lying string length", [1, 0x09, 0xff, 0xff, 0xff, 0x7f], /runs past the end/],
    ["a lying Map size", [1, 0x17, 0xff, 0x01], /runs past the end/],
    ["an endless varint", [1, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /varint too long/],
    ["a back-reference forward", [1, 0x10, 0x01, 0x0b, 0x05], /back-reference to object #5/],
    ["a key not in the table", [1, 0x15, 0x00, 0x01, 0x03, 0x81], /key #3 is not in the key table/],
    ["a non-string key", [1, 0x15, 0x00, 0x01, 0x00, 0x81, 0x81], /where a string was expected/],
    ["a shape not in the table", [1, 0x10, 0x02, 0x15, 0x00, 0x00, 0x15, 0x02], /shape #2 is not in the shape table \(1 shapes\)/],
    ["an object missing its values", [1, 0x15, 0x00, 0x01, 0x00, 0x08, 0x01, 0x61], /1 values run past the end/],
    ["a hole outside an array", [1, 0x04], /hole outside an array/],
    ["an invalid RegExp", [1, 0x1a, 0x08, 0x01, 0x28, 0x08, 0x00, 0x80], /invalid RegExp/],
    ["a malformed bigint", [1, 0x07, 0x02, 0x7a, 0x7a], /malformed bigint/],
    ["a Float64Array of 3 bytes", [1, 0x1c, 0x08, 0x03, 1, 2, 3], /3 bytes for a Float64Array/],
    ["an unknown view kind", [1, 0x1c, 0x40, 0x00], /unknown view kind 64/],
    ["sparse indices out of order", [1, 0x11, 0x0a, 0x02, 0x05, 0x81, 0x03, 0x81], /index 3 out of order/],
    ["a sparse index past the length", [1, 0x11, 0x02, 0x01, 0x05, 0x81], /past the length/],
  ];
  for (const [name, bytes, message] of malformed) {
    it(`${name} → ValueCodecError`, () => {
      expect(() => decodeValue(Buffer.from(bytes))).toThrow(ValueCodecError);
      expect(() => decodeValue(Buffer.from(bytes))).toThrow(message);
      decodeOrCodecError(Buffer.from(bytes));
    });
  }

  it("bad ranges and non-bytes are ValueCodecErrors too", () => {
    const bytes = encodeValue(1).bytes;
    expect(() => decodeValue(bytes, 1, 0)).toThrow(ValueCodecError);
    expect(() => decodeValue(bytes, 0, 99)).toThrow(ValueCodecError);
    expect(() => decodeValue(bytes, 0.5)).toThrow(ValueCodecError);
    expect(() => decodeValue("not bytes" as unknown as Uint8Array)).toThrow(ValueCodecError);
  });

  it("property: random bytes decode to a value or throw ValueCodecError", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (versioned, rest) => {
        decodeOrCodecError(versioned ? Buffer.concat([Buffer.from([1]), rest]) : rest);
      }),
      { numRuns: 5000 },
    );
  });

  it("property: random tag soup (valid tags, small lengths) decodes to a value or throws ValueCodecError", () => {
    const tags = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x80, 0x81, 0x82];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...tags), fc.nat(12)), { maxLength: 120 }), (soup) => {
        decodeOrCodecError(Buffer.from([1, ...soup]));
      }),
      { numRuns: 5000 },
    );
  });

  it("property: every truncation and bit flip of a valid entry decodes to a value or throws ValueCodecError", () => {
    fc.assert(
      fc.property(recipe, fc.nat(), fc.nat(7), (r, at, bit) => {
        const bytes = encodeValue(build(r)).bytes;
        for (let cut = 0; cut < bytes.length; cut++) {
          expect(() => decodeValue(bytes.subarray(0, cut))).toThrow(ValueCodecError);
          decodeOrCodecError(bytes.subarray(0, cut));
        }
        const flipped = Buffer.from(bytes);
        flipped[at % flipped.length]! ^= 1 << bit;
        decodeOrCodecError(flipped);
      }),
      { numRuns: 400 },
    );
  });
});
