/**
 * Run-time benchmark of `dag()`: an uncached DAG of trivial stages against a hand-written
 * `Promise.all` graph of the same shape and semantics, and the cost of building the DAG.
 *
 *   npx tsup && npx tsx bench/dag.ts      (or `npm run bench -- dag`)
 *
 * Shapes, 1,000 stages each (issue 10: ≤ 1.5× the hand-written graph per stage at 1,000 stages):
 * - chain: each stage waits for the one before;
 * - fan-out: one stage, 998 stages that wait for it, one that waits for all 998 (a fan-in);
 * - lattice: 100 layers of 10, each stage waiting for two stages of the layer before (diamonds).
 * Each with synchronous stage functions (`({ v }) => ({ v: v + 1 })`) and with async ones.
 *
 * The hand-written graph does what a person writes without memopipe, with the same semantics as
 * the DAG: `p[i] = Promise.all(preds.map((j) => p[j])).then((outs) => f(Object.assign({}, inputs, ...outs)))`,
 * the terminal stages' outputs merged at the end; the same stage functions are called. Both are
 * checked to give the same result first. Time per stage = one whole run / 1,000; the median over
 * rounds, the two alternating within each round. Building is timed at 1,000 and 10,000 stages
 * (linear means the same time per stage at both).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dag, stage } from "memopipe";
import { runIfEntryPoint } from "./entry.js";

const OUT = join(dirname(fileURLToPath(import.meta.url)), ".out");
const GOAL = 1.5;

type Out = { v: number };
type Fn = (inputs: { v: number }) => Out | Promise<Out>;

interface Shape {
  readonly name: string;
  /** Predecessors of each stage (indices of earlier stages); stage 0 has none. */
  readonly preds: readonly (readonly number[])[];
}

function chain(n: number): Shape {
  return { name: "chain", preds: Array.from({ length: n }, (_, i) => (i === 0 ? [] : [i - 1])) };
}
function fanOut(n: number): Shape {
  const middle = Array.from({ length: n - 2 }, (_, i) => i + 1);
  return { name: "fan-out", preds: [[], ...middle.map(() => [0]), middle] };
}
function lattice(n: number, width = 10): Shape {
  const preds: number[][] = [[]];
  // layer 0 is stage 0 alone; then layers of `width`, each stage waiting for two of the layer before
  let previous = [0];
  while (preds.length < n) {
    const layer: number[] = [];
    for (let j = 0; j < width && preds.length < n; j++) {
      const a = previous[j % previous.length]!;
      const b = previous[(j + 1) % previous.length]!;
      layer.push(preds.length);
      preds.push(a === b ? [a] : [a, b]);
    }
    previous = layer;
  }
  return { name: "lattice", preds };
}

const syncFn: Fn = ({ v }) => ({ v: v + 1 });
const asyncFn: Fn = async ({ v }) => ({ v: v + 1 });

function terminalsOf(shape: Shape): number[] {
  const hasSucc = new Set(shape.preds.flat());
  return shape.preds.map((_, i) => i).filter((i) => !hasSucc.has(i));
}

/** The hand-written graph: one promise per stage. */
function handWritten(shape: Shape, fns: readonly Fn[]): (inputs: { v: number }) => Promise<Record<string, unknown>> {
  const terminal = terminalsOf(shape);
  return async (inputs) => {
    const p: Promise<Out>[] = new Array(shape.preds.length);
    for (let i = 0; i < shape.preds.length; i++) {
      const f = fns[i]!;
      p[i] = Promise.all(shape.preds[i]!.map((j) => p[j]!)).then((outs) => f(Object.assign({}, inputs, ...outs)));
    }
    const outs = await Promise.all(terminal.map((i) => p[i]!));
    return Object.assign({}, ...outs);
  };
}

/** The same graph as a memopipe DAG (built through the untyped view: the shape is data). */
function build(shape: Shape, fns: readonly Fn[], tag: string): { run(inputs: { v: number }): Promise<Record<string, unknown>> } {
  const stages = fns.map((f, i) => stage(`${tag}${i}`, f));
  let g = (dag() as unknown as { start(s: unknown): Loose }).start(stages[0]);
  for (let i = 1; i < stages.length; i++) {
    const ps = shape.preds[i]!;
    g = g.edge(ps.length === 1 ? stages[ps[0]!] : ps.map((j) => stages[j]), stages[i]);
  }
  return g;
}
interface Loose {
  edge(from: unknown, to: unknown): Loose;
  run(inputs: { v: number }): Promise<Record<string, unknown>>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function timeRuns(run: () => Promise<unknown>, runs: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let r = 0; r < runs; r++) await run();
  return Number(process.hrtime.bigint() - started) / runs;
}

export interface DagBenchRow {
  readonly shape: string;
  readonly fns: "sync" | "async";
  readonly memopipeNsPerStage: number;
  readonly handNsPerStage: number;
  readonly ratio: number;
}

export async function main(options: { rounds?: number; stages?: number; print?: boolean } = {}) {
  const rounds = options.rounds ?? 9;
  const n = options.stages ?? 1000;
  const print = options.print ?? true;
  const log = (line: string) => print && console.log(line);
  const loadAvg1 = loadavg()[0] ?? 0;
  log(`dag() vs a hand-written Promise.all graph: ${n} uncached trivial stages, median of ${rounds} rounds; node ${process.version}, ${cpus().length} cores, load ${loadAvg1.toFixed(1)}`);

  const rows: DagBenchRow[] = [];
  let tag = 0;
  for (const shape of [chain(n), fanOut(n), lattice(n)]) {
    for (const kind of ["sync", "async"] as const) {
      const fns = shape.preds.map(() => (kind === "sync" ? syncFn : asyncFn));
      const g = build(shape, fns, `b${tag++}_`);
      const hand = handWritten(shape, fns);
      const expected = await hand({ v: 0 });
      const got = await g.run({ v: 0 });
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${shape.name}/${kind}: memopipe gave ${JSON.stringify(got)}, hand-written ${JSON.stringify(expected)}`);
      const runs = Math.max(5, Math.round(200_000 / n));
      for (let w = 0; w < 3; w++) {
        await timeRuns(() => g.run({ v: 0 }), runs);
        await timeRuns(() => hand({ v: 0 }), runs);
      }
      const mine: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // alternate which goes first
        if (r % 2 === 0) {
          mine.push(await timeRuns(() => g.run({ v: 0 }), runs));
          theirs.push(await timeRuns(() => hand({ v: 0 }), runs));
        } else {
          theirs.push(await timeRuns(() => hand({ v: 0 }), runs));
          mine.push(await timeRuns(() => g.run({ v: 0 }), runs));
        }
      }
      const m = median(mine) / n;
      const h = median(theirs) / n;
      rows.push({ shape: shape.name, fns: kind, memopipeNsPerStage: m, handNsPerStage: h, ratio: m / h });
      log(`  ${shape.name.padEnd(8)} ${kind.padEnd(5)}  memopipe ${(m / 1000).toFixed(3)} µs/stage   hand-written ${(h / 1000).toFixed(3)} µs/stage   ${(m / h).toFixed(2)}x`);
    }
  }

  // Building: per stage at n and 10n (a chain: every .edge on the newest builder), the stages
  // made beforehand; warmed up first, the two sizes alternating, the best of 9 each: a build is a
  // millisecond or less, so one garbage collection (or, on a loaded machine, one preemption) in a
  // sample would be most of it; the best sample is the cost of the algorithm.
  let made = 0;
  const buildOnce = (size: number): number => {
    const stages = Array.from({ length: size }, () => stage(`build${made++}`, syncFn));
    const started = process.hrtime.bigint();
    let g = (dag() as unknown as { start(s: unknown): Loose }).start(stages[0]);
    for (let i = 1; i < size; i++) g = g.edge(stages[i - 1], stages[i]);
    return Number(process.hrtime.bigint() - started) / size;
  };
  for (let w = 0; w < 3; w++) buildOnce(n);
  const smallSamples: number[] = [];
  const largeSamples: number[] = [];
  for (let r = 0; r < 9; r++) {
    smallSamples.push(buildOnce(n));
    largeSamples.push(buildOnce(10 * n));
  }
  const small = Math.min(...smallSamples);
  const large = Math.min(...largeSamples);
  log(`  building (.start + .edge, stages made beforehand): ${(small / 1000).toFixed(2)} µs/stage at ${n} stages (${((small * n) / 1e6).toFixed(2)} ms), ${(large / 1000).toFixed(2)} µs/stage at ${10 * n} (${((large * 10 * n) / 1e6).toFixed(1)} ms): ${(large / small).toFixed(2)}x per stage`);

  const goals = [
    ...rows.map((r) => ({ goal: `${r.shape} (${r.fns}) <= ${GOAL}x the hand-written graph per stage`, met: r.ratio <= GOAL, detail: `${r.ratio.toFixed(2)}x` })),
    // linear: the same time per stage at 10x the stages, but for the caches of a larger working set (a
    // quadratic builder, copying its stages on each .edge, is ~10x per stage there)
    { goal: "building linear in the DAG's size (per stage at 10x the stages < 2x)", met: large / small < 2, detail: `${(large / small).toFixed(2)}x` },
  ];
  log("");
  for (const g of goals) log(`${g.met ? "GOAL MET   " : "GOAL MISSED"}  ${g.goal}: ${g.detail}`);
  const results = { date: new Date().toISOString(), node: process.version, loadAvg1, stages: n, rounds, rows, build: { nsPerStage: small, nsPerStageAt10x: large }, goals };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "dag.json"), JSON.stringify(results, null, 2) + "\n");
  log(`results: bench/.out/dag.json`);
  return results;
}

runIfEntryPoint(import.meta.url, () => main());
