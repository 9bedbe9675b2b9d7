/**
 * Tasks of the cluster benchmark (bench/cluster.ts), run by `memopipe worker` processes: a tiny
 * point (the queue's own cost is all there is) and a CPU-bound one. No imports: the workers load
 * this file and nothing else.
 */

/** A tiny point: n × 2. */
export function tiny({ n }: { n: number }): { y: number } {
  return { y: n * 2 };
}

/** `ms` of CPU work (a busy loop), for the two-workers-vs-one figure. */
export function spin({ n, ms }: { n: number; ms: number }): { n: number; x: number } {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + n);
  return { n, x };
}
