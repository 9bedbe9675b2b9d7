import { NotATupleError } from "./errors.js";
import { isThenable } from "./program.js";

/**
 * Fork tuples at run time, and how `flatten` knows which nested arrays are fork tuples.
 *
 * Inside a pipeline, a fork's result is a plain array literal, nothing else: no brand, no freeze.
 * That is what hand-written code makes, and what V8 can optimise away entirely when the next step
 * reads the elements (escape analysis). Earlier versions registered every fork tuple in a `WeakSet`
 * and froze it (~100 ns per fork, 3× the cost of a short pipeline around it: bench/runtime.ts).
 *
 * `flatten` still flattens exactly the nested *fork* tuples and keeps arrays that steps return as
 * values, as its type says. It knows which elements are fork tuples from the **shape** of the
 * value, worked out once while the pipeline is put together:
 *
 * - a `Shape` is `null` for a value, or an array with one shape per element for a fork tuple;
 * - `.fork(a, b)` gives `[shape of a's result, shape of b's result]`; a branch's shape is `null` for
 *   a function of your own, the input's shape for `identity`, and what it makes for the functions
 *   memopipe makes: `fork(...)` (a tuple of its branches' shapes) and a built pipeline (its own
 *   result's shape).
 *
 * A fork tuple that *leaves* memopipe's hands carries its shape in a mark, so that a `flatten`
 * that meets it later, where the build could not see it, still knows it: the result of a `fork(...)`
 * called directly (a lambda around it, or your own code), and the result of a built pipeline when
 * it holds nested fork tuples. (A built pipeline's flat fork tuple is not marked, to keep that
 * common result as cheap as a literal: inside a lambda it is then a value, kept whole.) The mark is
 * a private class field, added through a "return override" constructor (the base constructor
 * returns the object it is given, so `new ShapeMark(tuple, shape)` adds `#shape` to that very
 * array): invisible to everything else (no own property, `Array.prototype` stays its prototype, so
 * `JSON.stringify`, `toEqual` and `assert.deepStrictEqual` see a plain array).
 */
export type Shape = null | readonly Shape[];

/** How a function memopipe makes maps its input's shape to its result's (see `shapeOf`). */
export const SHAPE: unique symbol = Symbol("memopipe.shape");
/** The variant of a function memopipe makes that returns its fork tuples without a mark. */
export const UNMARKED: unique symbol = Symbol("memopipe.unmarked");

type ShapeFn = (input: Shape) => Shape;
type Fn = (input: unknown) => unknown;

/** The shape of `fn`'s result for an input of shape `input`: `null` for a function of your own. */
export function shapeOf(fn: unknown, input: Shape): Shape {
  const f = (fn as { [SHAPE]?: ShapeFn } | undefined)?.[SHAPE];
  return typeof f === "function" ? f(input) : null;
}

/** Gives `fn` a shape function (and, optionally, its variant that leaves fork tuples unmarked). */
export function defineShape<F extends Function>(fn: F, shape: ShapeFn, unmarked?: Fn): F {
  Object.defineProperty(fn, SHAPE, { value: shape });
  if (unmarked) Object.defineProperty(fn, UNMARKED, { value: unmarked });
  return fn;
}

/** The function to call for `fn` inside a pipeline: its unmarked variant when it has one. */
export function unmarked(fn: Fn): Fn {
  return (fn as { [UNMARKED]?: Fn })[UNMARKED] ?? fn;
}

/** Whether a tuple of this shape holds nested fork tuples (and so needs its mark when it leaves). */
export function isNested(shape: Shape): shape is readonly Shape[] {
  return shape !== null && shape.some((s) => s !== null);
}

/** The flat shape of `shape`'s leaves, after `flatten`. */
export function flatShape(shape: Shape): Shape {
  return shape === null ? null : new Array<Shape>(countLeaves(shape)).fill(null);
}

function countLeaves(shape: readonly Shape[]): number {
  let n = 0;
  for (const s of shape) n += s === null ? 1 : countLeaves(s);
  return n;
}

class ReturnOverride {
  constructor(target: object) {
    return target;
  }
}

class ShapeMark extends ReturnOverride {
  #shape: readonly Shape[];

  constructor(target: readonly unknown[], shape: readonly Shape[]) {
    super(target);
    this.#shape = shape;
  }

  static of(value: object): readonly Shape[] | undefined {
    return #shape in value ? (value as ShapeMark).#shape : undefined;
  }
}

/** Marks a fork tuple with its shape, for a `flatten` that meets it later; returns it. */
export function mark<T>(value: T, shape: readonly Shape[]): T {
  if (Array.isArray(value) && ShapeMark.of(value) === undefined) new ShapeMark(value, shape);
  return value;
}

/** `mark`, also for a Promise of the tuple. */
export function markResult(value: unknown, shape: readonly Shape[]): unknown {
  return isThenable(value) ? Promise.resolve(value).then((v) => mark(v, shape)) : mark(value, shape);
}

/**
 * The branch results once all are settled, as the fork tuple (the async path of a fork).
 *
 * With one pending branch (the usual case: one async branch) it waits for that one alone and puts
 * its value in place: `Promise.all` would make a Promise and a reaction per element, settled or
 * not (a fork of three branches with one async ran at 7× hand-written that way). `results` is the
 * array the fork made, not shared, so filling it in place is safe. Several pending branches go
 * through `Promise.all`: every rejection is handled at once, and the first one is the result.
 */
export function settleFork(results: unknown[]): Promise<unknown[]> {
  let pending = -1;
  for (let j = 0; j < results.length; j++) {
    if (!isThenable(results[j])) continue;
    if (pending >= 0) return Promise.all(results);
    pending = j;
  }
  if (pending < 0) return Promise.resolve(results);
  return Promise.resolve(results[pending]).then((value) => {
    results[pending] = value;
    return results;
  });
}

/**
 * Calls every branch with the same input, in order; the result is the tuple of their results, or
 * a Promise of it when a branch returned a Promise (the branches then run concurrently: each is
 * started before any is awaited).
 *
 * This is the interpreter's and the free `fork()`'s path; compiled pipelines write the same
 * steps out in place (compile.ts).
 */
export function runFork(branches: readonly Fn[], input: unknown): unknown {
  const n = branches.length;
  const results = new Array<unknown>(n);
  let pending = false;
  for (let j = 0; j < n; j++) {
    const r = branches[j]!(input);
    results[j] = r;
    if (!pending && isThenable(r)) pending = true;
  }
  return pending ? settleFork(results) : results;
}

/** The shape of an element the build knows nothing of: a marked fork tuple's, else a value's. */
function markOf(item: unknown): readonly Shape[] | null {
  return typeof item === "object" && item !== null && Array.isArray(item) ? (ShapeMark.of(item) ?? null) : null;
}

/** Flattens `value`, a tuple of shape `shape`, into `out` (pypely's `_flatten`, guided by the shape). */
function flattenInto(value: readonly unknown[], shape: readonly Shape[] | null, out: unknown[]): void {
  for (let j = 0; j < value.length; j++) {
    const item = value[j];
    const s = shape?.[j] ?? markOf(item);
    if (s !== null && Array.isArray(item)) flattenInto(item, s, out);
    else out.push(item);
  }
}

/**
 * `flatten`: the elements of `value`, a tuple, with every nested fork tuple spread, at any depth.
 * Which elements are fork tuples: `shape` says it where the build knew it, a mark elsewhere.
 */
export function flattenTuple(value: unknown, shape: Shape, operation = "flatten()"): unknown[] {
  const tuple = requireTuple(value, operation);
  const out: unknown[] = [];
  flattenInto(tuple, shape ?? markOf(tuple), out);
  return out;
}

/** `value` as a tuple, or a `NotATupleError` naming the operation (for callers the types do not cover). */
export function requireTuple(value: unknown, operation: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new NotATupleError(operation, value);
  return value;
}
