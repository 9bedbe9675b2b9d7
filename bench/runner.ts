/**
 * Runner benchmark: the speed-up of the `threads` backend over `in-process` for CPU-bound points.
 *
 *   npx tsx bench/runner.ts          (figures also in bench/.out/runner.json)
 *
 * The case: memo's birthday-paradox experiment. Each point estimates, by `nSim` Monte-Carlo
 * trials, the probability that two of `classSize` people share a birthday; `nSim` is calibrated
 * so that one point takes about 100 ms on this machine. 16 points (classSize 10, 12, …, 40) run
 * once in this thread (`new Runner({ backend: "in-process" })`) and once on one worker thread
 * per core (`new Runner({ backend: "threads" })`, the task addressed by this module and the
 * export `birthday`). Both give the same estimates (the trials are seeded), which is checked.
 *
 * The thread pool is started (and this module loaded in every worker) by a warm-up run before
 * timing: that one-off cost is reported separately as "cold start". Each variant is timed over
 * several rounds, alternating, and the median is kept. Goal: threads ≥ 1.8× in-process on 2 cores.
 *
 * The figure needs idle cores: other processes busy on the machine take them from the workers.
 * So the load average before the run, and the cores this process actually got during the threads
 * runs (its CPU time over the wall time, `process.cpuUsage()` covering all its threads), are
 * reported with the result; a miss with `coresUsed` well under `workers` means a busy machine.
 *
 * This module is what the workers import, so its top level stays light: memopipe itself is
 * imported inside `main()`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../src/dsl/sweep/random.js";
import { runIfEntryPoint } from "./entry.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const GOAL = 1.8;
const POINT_MS = 100;
const ROUNDS = 3;

/**
 * One point of the experiment: the share of `nSim` simulated classes of `classSize` people in
 * which two share a birthday (365 equally likely days), with seeded draws.
 *
 * @example
 * birthday({ classSize: 23, nSim: 10_000, seed: 1 }); // { estProba: ≈0.507 }
 */
export function birthday({ classSize, nSim, seed }: { classSize: number; nSim: number; seed: number }): { estProba: number } {
  const next = mulberry32(seed * 1_000_003 + classSize);
  const seen = new Uint32Array(365);
  let shared = 0;
  for (let trial = 1; trial <= nSim; trial++) {
    // `seen[day] === trial` marks a day taken in this trial, so the array is never cleared
    for (let person = 0; person < classSize; person++) {
      const day = Math.floor(next() * 365);
      if (seen[day] === trial) {
        shared++;
        break;
      }
      seen[day] = trial;
    }
  }
  return { estProba: shared / nSim };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Results of the benchmark (also written to bench/.out/runner.json). */
export interface RunnerBenchResult {
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string; readonly loadAvg1: number };
  readonly points: number;
  readonly nSim: number;
  readonly pointMs: number;
  readonly workers: number;
  readonly coldStartMs: number;
  readonly inProcessMs: number;
  readonly threadsMs: number;
  readonly speedUp: number;
  /** CPU time of this process during the threads runs over their wall time: the cores it got. */
  readonly coresUsed: number;
  readonly goal: number;
  readonly goalMet: boolean;
}

/**
 * Runs the benchmark, prints the figures and GOAL MET/MISSED, writes bench/.out/runner.json.
 *
 * @example
 * const { speedUp, goalMet } = await main();
 */
export async function main(options: { print?: boolean; outFile?: string | false } = {}): Promise<RunnerBenchResult> {
  const print = options.print ?? true;
  const { Runner, grid, task } = await import("../src/index.js");
  const workers = availableParallelism();
  const loadAvg1 = loadavg()[0] ?? 0;

  // calibrate nSim so that one point (classSize 25, the middle) takes ~POINT_MS
  let nSim = 2000;
  for (;;) {
    const t = performance.now();
    birthday({ classSize: 25, nSim, seed: 0 });
    const ms = performance.now() - t;
    if (ms > 20) {
      nSim = Math.round((nSim * POINT_MS) / ms);
      break;
    }
    nSim *= 4;
  }
  const points = grid({ classSize: Array.from({ length: 16 }, (_, i) => 10 + 2 * i), nSim: [nSim], seed: [1] });
  const birthdayTask = task<typeof birthday>({ module: new URL("./runner.ts", import.meta.url), export: "birthday" });

  const inProcess = new Runner({ backend: "in-process", progress: false });
  const threads = new Runner({ backend: "threads", workers, progress: false });
  try {
    let t = performance.now();
    await threads.run(birthdayTask, grid({ classSize: Array.from({ length: workers * 2 }, (_, i) => 2 + i), nSim: [10], seed: [1] }));
    const coldStartMs = performance.now() - t;

    const inProcessTimes: number[] = [];
    const threadsTimes: number[] = [];
    let threadsCpuMs = 0;
    let reference: unknown;
    for (let round = 0; round < ROUNDS; round++) {
      t = performance.now();
      const local = await inProcess.run(birthday, points);
      inProcessTimes.push(performance.now() - t);
      t = performance.now();
      const cpu = process.cpuUsage();
      const threaded = await threads.run(birthdayTask, points);
      const { user, system } = process.cpuUsage(cpu);
      threadsTimes.push(performance.now() - t);
      threadsCpuMs += (user + system) / 1000;
      if (JSON.stringify(local) !== JSON.stringify(threaded)) throw new Error("the threads runner gave other results than in-process");
      reference ??= local;
    }
    const inProcessMs = median(inProcessTimes);
    const threadsMs = median(threadsTimes);
    const speedUp = inProcessMs / threadsMs;
    const coresUsed = threadsCpuMs / threadsTimes.reduce((a, b) => a + b, 0);
    const result: RunnerBenchResult = {
      machine: { cpu: cpus()[0]?.model ?? "unknown", cores: workers, node: process.version, loadAvg1 },
      points: points.length,
      nSim,
      pointMs: inProcessMs / points.length,
      workers,
      coldStartMs,
      inProcessMs,
      threadsMs,
      speedUp,
      coresUsed,
      goal: GOAL,
      goalMet: speedUp >= GOAL,
    };
    if (print) {
      const est = (reference as Array<{ estProba: number }>).map((r) => r.estProba.toFixed(3));
      console.log(`${points.length} CPU-bound points (birthday paradox, ${nSim} trials each, ~${result.pointMs.toFixed(0)} ms), ${workers} cores (${result.machine.cpu}), Node ${process.version}`);
      console.log(`  estimates for classSize 10…40: ${est.join(" ")}`);
      console.log(`  in-process               ${inProcessMs.toFixed(0).padStart(6)} ms   (median of ${ROUNDS})`);
      console.log(`  threads (${workers} workers)      ${threadsMs.toFixed(0).padStart(6)} ms   (median of ${ROUNDS}; pool cold start ${coldStartMs.toFixed(0)} ms, once)`);
      console.log(`  speed-up                 ${speedUp.toFixed(2).padStart(6)}×   (cores this process got during the threads runs: ${coresUsed.toFixed(2)}; load average before: ${loadAvg1.toFixed(2)})`);
      if (coresUsed < workers * 0.85) console.log(`  note: the workers got ${coresUsed.toFixed(2)} of ${workers} cores: other processes are busy on this machine, the figure understates the speed-up`);
      console.log(`${result.goalMet ? "GOAL MET   " : "GOAL MISSED"}  threads / in-process speed-up = ${speedUp.toFixed(2)} (target ≥ ${GOAL} on ${workers} cores)`);
    }
    const outFile = options.outFile ?? join(HERE, ".out", "runner.json");
    if (outFile) {
      mkdirSync(dirname(outFile), { recursive: true });
      writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
      if (print) console.log(`results written to ${outFile}`);
    }
    return result;
  } finally {
    await threads.close();
  }
}

runIfEntryPoint(import.meta.url, main);
