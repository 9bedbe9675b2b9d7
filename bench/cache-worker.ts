/**
 * Helper of bench/cache.ts: the memopipe side of the cache hit/miss benchmark, run in its own
 * process (spawned by bench/cache.ts as `node --import tsx bench/cache-worker.ts <mode> <dir> <entries> <rounds>`).
 *
 * - `populate`: times `entries` misses (compute + checksummed write, no fsync) of one cached stage,
 *   after timing the bare function alone.
 * - `hit`: a fresh process reading those entries back: the first hit of the process on its own,
 *   then `rounds` passes over the other entries (steady state). Checks every result is a hit
 *   (the function never runs) and equals the expected value.
 *
 * Prints one line `RESULT <json>` with per-call times in microseconds, measured inside the process
 * (start-up and module loading excluded). bench/cache-joblib.py does the same with joblib.Memory.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
// The built package, as users run it (`npm run bench` builds first): tsx-transformed sources add
// esbuild helpers to every function call.
import { stage } from "../dist/index.js";

/** Output length: 800 floats (+ the label) is ~12 KB as memopipe's pretty JSON, ~7 KB as joblib's pickle. */
const VALUES = 800;
let computed = 0;

/** The inputs of entry `i`: a dict of 100 numbers and a string (the same as the Python side's). */
function inputsFor(i: number): { params: Record<string, number>; label: string } {
  const params: Record<string, number> = {};
  for (let k = 0; k < 100; k++) params[`p${String(k).padStart(2, "0")}`] = i * 1000 + k * 0.25;
  return { params, label: `sample-${i}` };
}

/** The stage's work (the Python side runs the same arithmetic). */
function compute(params: Record<string, number>, label: string): { values: number[]; label: string } {
  let s = 0;
  for (const k in params) s += params[k]!;
  const values = new Array<number>(VALUES);
  for (let j = 0; j < VALUES; j++) values[j] = Math.floor(Math.sin(j + s) * 1e6 + 0.5) / 1e6;
  return { values, label };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
function summary(us: number[]) {
  return { n: us.length, medianUs: median(us), p10Us: quantile(us, 0.1), p90Us: quantile(us, 0.9), minUs: Math.min(...us) };
}

/** Sizes of the stored file of one entry (the first found): one file per entry. */
function entrySizes(dir: string): Record<string, number> {
  const entries = join(dir, "entries");
  for (const stageDir of readdirSync(entries)) {
    for (const shard of readdirSync(join(entries, stageDir))) {
      if (shard === "latest") continue;
      for (const key of readdirSync(join(entries, stageDir, shard))) return { "entry file": statSync(join(entries, stageDir, shard, key)).size };
    }
  }
  return {};
}

async function main(): Promise<void> {
  const [mode, dir, entriesArg, roundsArg, durability] = process.argv.slice(2);
  if ((mode !== "populate" && mode !== "hit") || !dir) throw new Error("usage: cache-worker.ts populate|hit <dir> <entries> <rounds>");
  const entries = Number(entriesArg ?? 200);
  const rounds = Number(roundsArg ?? 5);

  const bench = stage(
    "bench-hit",
    ({ params, label }: { params: Record<string, number>; label: string }) => {
      computed++;
      return compute(params, label);
    },
    { cache: { dir, durable: durability === "durable" } },
  );
  const inputs = Array.from({ length: entries }, (_, i) => inputsFor(i));
  const now = () => performance.now() * 1000; // µs

  if (mode === "populate") {
    // the bare function, for reference (what a miss spends computing)
    const bare: number[] = [];
    for (let r = 0; r < 5; r++) {
      for (const { params, label } of inputs) {
        const t0 = now();
        compute(params, label);
        bare.push(now() - t0);
      }
    }
    const misses: number[] = [];
    for (const inp of inputs) {
      const t0 = now();
      await bench.run(inp);
      misses.push(now() - t0);
    }
    if (computed !== entries) throw new Error(`populate: expected ${entries} runs, the function ran ${computed} times`);
    const result = {
      side: "memopipe",
      mode,
      computeUs: summary(bare),
      firstMissUs: misses[0],
      miss: summary(misses.slice(1)),
      entrySizes: entrySizes(dir),
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
    return;
  }

  // hit: a fresh process; entry 0 first (cold code paths), then steady-state passes over 1..n-1
  const t0 = now();
  const first = await bench.run(inputs[0]!);
  const firstHit = now() - t0;
  const hits: number[] = [];
  let last: unknown;
  for (let r = 0; r < rounds; r++) {
    for (let i = 1; i < entries; i++) {
      const t = now();
      last = await bench.run(inputs[i]!);
      hits.push(now() - t);
    }
  }
  if (computed !== 0) throw new Error(`hit: the function ran ${computed} times; expected only hits`);
  if (!isDeepStrictEqual(first, compute(inputs[0]!.params, inputs[0]!.label))) throw new Error("hit: wrong value for entry 0");
  if (!isDeepStrictEqual(last, compute(inputs[entries - 1]!.params, inputs[entries - 1]!.label))) throw new Error("hit: wrong value for the last entry");
  const events = readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n").length;
  console.log(`RESULT ${JSON.stringify({ side: "memopipe", mode, firstHitUs: firstHit, hit: summary(hits), eventsLines: events })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
