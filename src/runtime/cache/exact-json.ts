/**
 * Whether a value is plain JSON that survives `JSON.stringify` + `JSON.parse` exactly: what an
 * entry's record shows verbatim for people reading it (small input values). The outputs themselves
 * are encoded by value-codec.ts, which keeps everything this refuses.
 */

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
