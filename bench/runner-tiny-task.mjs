/**
 * The tiny point of bench/runner-tiny.ts, in plain JavaScript so that raw piscina and the Runner
 * load the very same code: `iters` steps of a linear congruential generator (~10 µs for the
 * calibrated `iters`), deterministic, so every variant's results can be compared.
 */

/** One point: `{ n, x }` with `x` the generator's state after `iters` steps from `n`. */
export function tiny({ n, iters }) {
  let x = n | 0;
  for (let i = 0; i < iters; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return { n, x };
}

/** Raw piscina, one point per task (piscina calls the default export). */
export default tiny;

/** Raw piscina, a chunk of points per task. */
export function chunk(points) {
  const out = new Array(points.length);
  for (let i = 0; i < points.length; i++) out[i] = tiny(points[i]);
  return out;
}
