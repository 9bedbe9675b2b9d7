/**
 * The DAGs of bench/cluster.ts's DAG case, exported (without side effects) so `memopipe worker`
 * processes find their stages. They import the built package, as a user's project does: the
 * workers run dist/cli.js, another bundle than dist/index.js.
 *
 * - `wide`: `split` → eight branches of `ms` of CPU each → `join` (the branches are independent:
 *   two workers should take about half the time of one thread);
 * - `chain`: ten tiny stages one after another (the per-stage cost of a job's round trip).
 *
 * Every stage is cached; the `round` input makes each round's keys new (every stage computes).
 */
import { dag, stage } from "../dist/index.js";

/** Busy for `ms` of CPU time; the value depends on `seed` only (the bench compares the two runs' outputs). */
function spin(ms: number, seed: number): number {
  const end = performance.now() + ms;
  let x = seed;
  while (performance.now() < end) x = Math.sqrt(x * x + 1);
  return x > 0 ? seed * 2 : 0;
}

export const split = stage("bench-split", ({ round, ms }: { round: number; ms: number }) => ({ seed: round, ms }), { cache: true });
export const b0 = stage("bench-b0", ({ seed, ms }: { seed: number; ms: number }) => ({ y0: spin(ms, seed + 0) }), { cache: true });
export const b1 = stage("bench-b1", ({ seed, ms }: { seed: number; ms: number }) => ({ y1: spin(ms, seed + 1) }), { cache: true });
export const b2 = stage("bench-b2", ({ seed, ms }: { seed: number; ms: number }) => ({ y2: spin(ms, seed + 2) }), { cache: true });
export const b3 = stage("bench-b3", ({ seed, ms }: { seed: number; ms: number }) => ({ y3: spin(ms, seed + 3) }), { cache: true });
export const b4 = stage("bench-b4", ({ seed, ms }: { seed: number; ms: number }) => ({ y4: spin(ms, seed + 4) }), { cache: true });
export const b5 = stage("bench-b5", ({ seed, ms }: { seed: number; ms: number }) => ({ y5: spin(ms, seed + 5) }), { cache: true });
export const b6 = stage("bench-b6", ({ seed, ms }: { seed: number; ms: number }) => ({ y6: spin(ms, seed + 6) }), { cache: true });
export const b7 = stage("bench-b7", ({ seed, ms }: { seed: number; ms: number }) => ({ y7: spin(ms, seed + 7) }), { cache: true });
export const join = stage(
  "bench-join",
  ({ y0, y1, y2, y3, y4, y5, y6, y7 }: { y0: number; y1: number; y2: number; y3: number; y4: number; y5: number; y6: number; y7: number }) => ({ total: y0 + y1 + y2 + y3 + y4 + y5 + y6 + y7 }),
  { cache: true },
);
export const wide = dag()
  .start(split)
  .edge(split, b0)
  .edge(split, b1)
  .edge(split, b2)
  .edge(split, b3)
  .edge(split, b4)
  .edge(split, b5)
  .edge(split, b6)
  .edge(split, b7)
  .edge([b0, b1, b2, b3, b4, b5, b6, b7], join);

export const c0 = stage("bench-c0", ({ round }: { round: number }) => ({ v1: round }), { cache: true });
export const c1 = stage("bench-c1", ({ v1 }: { v1: number }) => ({ v2: v1 + 1 }), { cache: true });
export const c2 = stage("bench-c2", ({ v2 }: { v2: number }) => ({ v3: v2 + 1 }), { cache: true });
export const c3 = stage("bench-c3", ({ v3 }: { v3: number }) => ({ v4: v3 + 1 }), { cache: true });
export const c4 = stage("bench-c4", ({ v4 }: { v4: number }) => ({ v5: v4 + 1 }), { cache: true });
export const c5 = stage("bench-c5", ({ v5 }: { v5: number }) => ({ v6: v5 + 1 }), { cache: true });
export const c6 = stage("bench-c6", ({ v6 }: { v6: number }) => ({ v7: v6 + 1 }), { cache: true });
export const c7 = stage("bench-c7", ({ v7 }: { v7: number }) => ({ v8: v7 + 1 }), { cache: true });
export const c8 = stage("bench-c8", ({ v8 }: { v8: number }) => ({ v9: v8 + 1 }), { cache: true });
export const c9 = stage("bench-c9", ({ v9 }: { v9: number }) => ({ end: v9 + 1 }), { cache: true });
export const chain = dag().start(c0).edge(c0, c1).edge(c1, c2).edge(c2, c3).edge(c3, c4).edge(c4, c5).edge(c5, c6).edge(c6, c7).edge(c7, c8).edge(c8, c9);

/** How many stages each DAG has (for per-stage figures). */
export const STAGES = { wide: 10, chain: 10 } as const;
