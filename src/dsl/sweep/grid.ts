import type { GridOptions, GridPoint, GridSpecCheck, RandomGridOptions } from "../../types/sweep.js";
import { MemopipeError } from "../../runtime/errors.js";
import { checkSeed, rng, shuffleInPlace } from "./random.js";

/** The spec's entries, checked at run time (for plain JavaScript callers and casts). */
function entriesOf(spec: unknown, where: string): Array<[string, readonly unknown[]]> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new MemopipeError(`${where} takes one object of named value lists, e.g. ${where}({ n: [1, 2], s: ["a"] }); got ${Array.isArray(spec) ? "an array" : spec === null ? "null" : typeof spec}`);
  }
  return Object.entries(spec).map(([key, values]) => {
    if (!Array.isArray(values)) {
      throw new MemopipeError(`${where}: the value of '${key}' must be an array of the values to try, got ${values === null ? "null" : typeof values}; write ${key}: [value]`);
    }
    return [key, values];
  });
}

/**
 * Every combination of the spec's values, as an array of points (memo's `grid`).
 *
 * - The points come in argument order with the **last key varying fastest** (like nested loops
 *   written in the spec's order). Keys keep their insertion order, except that JavaScript puts
 *   integer-like keys (`"1"`) first in every object.
 * - Every value must be an array (a compile error on that property otherwise); an empty array
 *   gives no points; `grid({})` gives one empty point.
 * - Shuffled only when asked: `{ shuffle: true, seed: 42 }` gives the same order on every run
 *   (memo shuffled by default with an unseeded generator).
 * - Types: `grid({ n: [1, 2], s: ["a"] })` is `{ n: number; s: string }[]`; write
 *   `["adam", "sgd"] as const` to keep literal types.
 *
 * @example
 * grid({ n: [1, 2], s: ["a", "b"] });
 * // [{ n: 1, s: "a" }, { n: 1, s: "b" }, { n: 2, s: "a" }, { n: 2, s: "b" }]
 * grid({ n: [1, 2, 3] }, { shuffle: true, seed: 7 }); // the same order on every run
 */
export function grid<S extends object>(spec: GridSpecCheck<S>, options: GridOptions = {}): GridPoint<S>[] {
  const entries = entriesOf(spec, "grid");
  const seed = checkSeed(options.seed, "grid");
  // Odometer order: the point at index i has, for key k, digit (i / product of the later lengths)
  // mod length(k). Building it by extending partial points key by key gives the same order.
  let points: Array<Record<string, unknown>> = [{}];
  for (const [key, values] of entries) {
    const next: Array<Record<string, unknown>> = [];
    for (const partial of points) for (const value of values) next.push({ ...partial, [key]: value });
    points = next;
  }
  if (options.shuffle) shuffleInPlace(points, rng(seed));
  return points as GridPoint<S>[];
}

/**
 * `n` points, each key's value drawn independently and uniformly from its array (memo's
 * `random_grid`): repeats are possible. With `seed`, the same points on every run.
 *
 * @example
 * randomGrid({ lr: [0.1, 0.01, 0.001], batch: [32, 64] }, { n: 5, seed: 1 });
 * // 5 points like { lr: 0.01, batch: 64 }, the same 5 on every run
 */
export function randomGrid<S extends object>(spec: GridSpecCheck<S>, options: RandomGridOptions): GridPoint<S>[] {
  const entries = entriesOf(spec, "randomGrid");
  const n = (options as RandomGridOptions | undefined)?.n;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new MemopipeError(`randomGrid: n must be a non-negative integer, got ${String(n)}`);
  const seed = checkSeed(options.seed, "randomGrid");
  if (n > 0) {
    const empty = entries.find(([, values]) => values.length === 0);
    if (empty) throw new MemopipeError(`randomGrid: cannot draw a value for '${empty[0]}' from an empty array`);
  }
  const next = rng(seed);
  const points: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const point: Record<string, unknown> = {};
    for (const [key, values] of entries) point[key] = values[Math.floor(next() * values.length)];
    points.push(point);
  }
  return points as GridPoint<S>[];
}
