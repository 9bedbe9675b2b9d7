/**
 * A small seeded pseudo-random generator for sweeps. memo shuffled its grid with Python's global,
 * unseeded `random`, so a sweep's order could not be reproduced; here every draw comes from a
 * generator made from an explicit seed (or from a random seed when none is given).
 */
import { MemopipeError } from "../../runtime/errors.js";

/**
 * mulberry32: a 32-bit generator (Tommy Ettinger's), fast and good enough for shuffling and
 * sampling grids (it is not cryptographic). Returns a function that yields floats in [0, 1).
 *
 * The seed is taken modulo 2^32 (`seed >>> 0`), so use integers: `1` and `1.5` give the same
 * sequence.
 *
 * @example
 * const next = mulberry32(42);
 * next(); // 0.6011037519201636, the same on every run
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    // The reference algorithm: add a Weyl constant, then two xor-shift-multiply rounds.
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A generator from `seed`, or from a random seed when `seed` is `undefined`.
 *
 * @example
 * const next = rng(7); // reproducible
 * const other = rng(undefined); // different on every call
 */
export function rng(seed: number | undefined): () => number {
  return mulberry32(seed ?? Math.floor(Math.random() * 4294967296));
}

/**
 * Shuffles `items` in place (Fisher–Yates: walk from the end, swap each element with a uniformly
 * chosen one at or before it) and returns it.
 *
 * @example
 * shuffleInPlace([1, 2, 3, 4], mulberry32(1)); // the same permutation on every run
 */
export function shuffleInPlace<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/**
 * Checks a seed option: an integer when given.
 *
 * @example
 * checkSeed(42, "grid");        // 42
 * checkSeed(undefined, "grid"); // undefined
 * checkSeed(1.5, "grid");       // throws MemopipeError: grid: seed must be an integer, got 1.5
 */
export function checkSeed(seed: unknown, where: string): number | undefined {
  if (seed === undefined) return undefined;
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new MemopipeError(`${where}: seed must be an integer, got ${String(seed)}`);
  return seed;
}
