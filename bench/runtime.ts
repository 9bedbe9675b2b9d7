/**
 * Run-time benchmark: a built memopipe pipeline against the same logic written by hand, with
 * remeda's `pipe` and with Effect's `pipe`.
 *
 *   npx tsup && npx tsx bench/runtime.ts      (or `npm run bench`, through bench/run.ts)
 *
 * The case: 10 cheap integer steps, 2 stores, 2 ingests (one `ingestAfter`, one `ingestBefore`).
 * Every variant runs the same step logic and is checked to return the same result before timing.
 *
 * How the peers emulate memory (the way a user of those libraries would naturally write it): the
 * pipeline is a function whose call owns two `let` locals; a store is an inline step
 * `(v) => (a = v)` (it returns `v`, so the value flows on), and an ingesting step is an arrow
 * closing over the local, `(v) => s6(v, a)`. The memory-free steps are the same module-level
 * functions memopipe gets. So each call of a peer allocates the 4 small closures, as real code of
 * that shape does. (remeda's `R.tap(fn)` for the stores would add its `purry` dispatch on top.)
 *
 * Measurement: tinybench times one call of a task function per sample, and a timer read costs as
 * much as the whole pipeline, so each task function runs a batch of calls over a fixed array of
 * inputs and adds the results into a sink (so V8 cannot drop the calls); ns per call is the
 * batch's median latency divided by the batch size. Each variant has its own batch loop (a shared
 * `loop(fn)` would make its call site megamorphic and penalise whichever variant runs last). The
 * whole bench runs several rounds, rotating the task order, and reports the median over rounds.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pipe as epipe } from "effect";
import { pipe } from "memopipe";
import { pipe as rpipe } from "remeda";
import { Bench } from "tinybench";
import { runIfEntryPoint } from "./entry.js";

// ---------------------------------------------------------------------------------------------
// The pipeline's steps (module-level, shared by memopipe and the peers)
// ---------------------------------------------------------------------------------------------

const s1 = (x: number): number => x + 1;
const s2 = (x: number): number => x * 3; // store "a" after this step
const s3 = (x: number): number => x - 7;
const s4 = (x: number): number => x % 1009; // store "b" after this step
const s5 = (x: number): number => x * 5;
const s5Async = async (x: number): Promise<number> => x * 5; // the async variant's step 5
const s6 = (x: number, a: number): number => x + a; // ingestAfter("a")
const s7 = (x: number): number => x - 3;
const s8 = (b: number, x: number): number => x - b; // ingestBefore("b")
const s9 = (x: number): number => x * 2;
const s10 = (x: number): number => x + 13;

// ---------------------------------------------------------------------------------------------
// Variants (sync)
// ---------------------------------------------------------------------------------------------

const builder = pipe<number>()
  .step(s1)
  .step(s2)
  .store("a")
  .step(s3)
  .step(s4)
  .store("b")
  .step(s5)
  .step(s6)
  .ingestAfter("a")
  .step(s7)
  .step(s8)
  .ingestBefore("b")
  .step(s9)
  .step(s10);

const memoCodegen: (x: number) => number = builder.build();
// `build("interpret")` is an internal option of the runtime class; the public type has no parameter.
const memoInterpret = (builder as unknown as { build(mode: string): (x: number) => number }).build("interpret");

/** What a person would write without a library: the arithmetic inline, memory in locals. */
function handWritten(x: number): number {
  let v = x + 1;
  v = v * 3;
  const a = v;
  v = v - 7;
  v = v % 1009;
  const b = v;
  v = v * 5;
  v = v + a;
  v = v - 3;
  v = v - b;
  v = v * 2;
  return v + 13;
}

/** Hand-written, but calling the same step functions memopipe gets (shows the cost of the calls). */
function handCalls(x: number): number {
  let v = s2(s1(x));
  const a = v;
  v = s4(s3(v));
  const b = v;
  v = s6(s5(v), a);
  v = s8(b, s7(v));
  return s10(s9(v));
}

function viaRemeda(x: number): number {
  let a = 0;
  let b = 0;
  return rpipe(
    x,
    s1,
    s2,
    (v: number) => (a = v),
    s3,
    s4,
    (v: number) => (b = v),
    s5,
    (v: number) => s6(v, a),
    s7,
    (v: number) => s8(b, v),
    s9,
    s10,
  );
}

function viaEffect(x: number): number {
  let a = 0;
  let b = 0;
  return epipe(
    x,
    s1,
    s2,
    (v: number) => (a = v),
    s3,
    s4,
    (v: number) => (b = v),
    s5,
    (v: number) => s6(v, a),
    s7,
    (v: number) => s8(b, v),
    s9,
    s10,
  );
}

// ---------------------------------------------------------------------------------------------
// Variants (async: step 5 returns a Promise)
// ---------------------------------------------------------------------------------------------

const asyncBuilder = pipe<number>()
  .step(s1)
  .step(s2)
  .store("a")
  .step(s3)
  .step(s4)
  .store("b")
  .step(s5Async)
  .step(s6)
  .ingestAfter("a")
  .step(s7)
  .step(s8)
  .ingestBefore("b")
  .step(s9)
  .step(s10);

const memoAsyncCodegen: (x: number) => Promise<number> = asyncBuilder.build();
const memoAsyncInterpret = (asyncBuilder as unknown as { build(mode: string): (x: number) => Promise<number> }).build(
  "interpret",
);

async function handWrittenAsync(x: number): Promise<number> {
  let v = x + 1;
  v = v * 3;
  const a = v;
  v = v - 7;
  v = v % 1009;
  const b = v;
  v = await s5Async(v);
  v = v + a;
  v = v - 3;
  v = v - b;
  v = v * 2;
  return v + 13;
}

// ---------------------------------------------------------------------------------------------
// Batch loops: one per variant, so each call site stays monomorphic
// ---------------------------------------------------------------------------------------------

const BATCH = 1024;
const ASYNC_BATCH = 256;
const INPUTS: number[] = Array.from({ length: BATCH }, (_, i) => (i * 7919) % 1000);

let sink = 0;

function loopHand(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += handWritten(INPUTS[i]!);
  sink += acc;
}
function loopHandCalls(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += handCalls(INPUTS[i]!);
  sink += acc;
}
function loopMemoCodegen(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += memoCodegen(INPUTS[i]!);
  sink += acc;
}
function loopMemoInterpret(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += memoInterpret(INPUTS[i]!);
  sink += acc;
}
function loopRemeda(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += viaRemeda(INPUTS[i]!);
  sink += acc;
}
function loopEffect(): void {
  let acc = 0;
  for (let i = 0; i < BATCH; i++) acc += viaEffect(INPUTS[i]!);
  sink += acc;
}
async function loopHandAsync(): Promise<void> {
  let acc = 0;
  for (let i = 0; i < ASYNC_BATCH; i++) acc += await handWrittenAsync(INPUTS[i]!);
  sink += acc;
}
async function loopMemoAsyncCodegen(): Promise<void> {
  let acc = 0;
  for (let i = 0; i < ASYNC_BATCH; i++) acc += await memoAsyncCodegen(INPUTS[i]!);
  sink += acc;
}
async function loopMemoAsyncInterpret(): Promise<void> {
  let acc = 0;
  for (let i = 0; i < ASYNC_BATCH; i++) acc += await memoAsyncInterpret(INPUTS[i]!);
  sink += acc;
}

interface Variant {
  readonly name: string;
  readonly group: "sync" | "async";
  readonly batch: number;
  readonly loop: () => void | Promise<void>;
}

const VARIANTS: readonly Variant[] = [
  { name: "hand-written", group: "sync", batch: BATCH, loop: loopHand },
  { name: "hand-written (calls steps)", group: "sync", batch: BATCH, loop: loopHandCalls },
  { name: "memopipe codegen", group: "sync", batch: BATCH, loop: loopMemoCodegen },
  { name: "memopipe interpret", group: "sync", batch: BATCH, loop: loopMemoInterpret },
  { name: "remeda pipe", group: "sync", batch: BATCH, loop: loopRemeda },
  { name: "effect pipe", group: "sync", batch: BATCH, loop: loopEffect },
  { name: "hand-written async", group: "async", batch: ASYNC_BATCH, loop: loopHandAsync },
  { name: "memopipe codegen async", group: "async", batch: ASYNC_BATCH, loop: loopMemoAsyncCodegen },
  { name: "memopipe interpret async", group: "async", batch: ASYNC_BATCH, loop: loopMemoAsyncInterpret },
];

// ---------------------------------------------------------------------------------------------
// Correctness check (before any timing)
// ---------------------------------------------------------------------------------------------

async function checkEquivalence(): Promise<void> {
  // The generated function calls its steps as the closure constants f0, f1, ...; the interpreter
  // fallback does not (it may share the name "pipeline", so the name proves nothing). The async
  // pipeline has an `async function` step, so it is wrapped to reject instead of throwing
  // (src/runtime/async-steps.ts) and its source shows the wrapper: the sync one is checked.
  const generated = (fn: (x: number) => unknown) => /\bf0\(/.test(fn.toString());
  if (!generated(memoCodegen) || generated(memoInterpret)) {
    throw new Error("memopipe .build() did not return the generated function (fell back to the interpreter?)");
  }
  const syncFns: Record<string, (x: number) => number> = {
    "memopipe codegen": memoCodegen,
    "memopipe interpret": memoInterpret,
    "hand-written (calls steps)": handCalls,
    "remeda pipe": viaRemeda,
    "effect pipe": viaEffect,
  };
  const asyncFns: Record<string, (x: number) => Promise<number>> = {
    "hand-written async": handWrittenAsync,
    "memopipe codegen async": memoAsyncCodegen,
    "memopipe interpret async": memoAsyncInterpret,
  };
  for (const x of [0, 1, 7, 42, 500, 999, -5, 123456]) {
    const expected = handWritten(x);
    for (const [name, fn] of Object.entries(syncFns)) {
      const got = fn(x);
      if (got !== expected) throw new Error(`${name}(${x}) = ${got}, hand-written gives ${expected}`);
    }
    for (const [name, fn] of Object.entries(asyncFns)) {
      const pending = fn(x);
      if (!(pending instanceof Promise)) throw new Error(`${name}(${x}) did not return a Promise`);
      const got = await pending;
      if (got !== expected) throw new Error(`${name}(${x}) = ${got}, hand-written gives ${expected}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

export interface RuntimeOptions {
  /** Rounds of the whole bench; the median over rounds is reported. Default 9. */
  readonly rounds?: number;
  /** tinybench time budget per task per round, ms. Default 300. */
  readonly time?: number;
  /** tinybench warmup budget per task per round, ms. Default 100. */
  readonly warmupTime?: number;
  /** Print the table and goals. Default true. */
  readonly print?: boolean;
  /** Where to write the JSON results; `false` to skip. Default bench/.out/runtime.json. */
  readonly outFile?: string | false;
}

export interface VariantResult {
  readonly name: string;
  readonly group: "sync" | "async";
  /** Median over rounds of the per-round median ns per call. */
  readonly nsPerCall: number;
  readonly opsPerSec: number;
  /** memopipe-or-peer time per call / the group's hand-written time per call. */
  readonly vsHand: number;
  /** Per-round ns per call, in round order. */
  readonly rounds: readonly number[];
}

export interface Goal {
  readonly name: string;
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
}

export interface RuntimeResults {
  readonly meta: Record<string, unknown>;
  readonly variants: readonly VariantResult[];
  readonly goals: readonly Goal[];
  readonly allGoalsMet: boolean;
  readonly sink: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function resolvedMemopipe(): string {
  try {
    return fileURLToPath(import.meta.resolve("memopipe"));
  } catch {
    return "(import.meta.resolve unavailable)";
  }
}

export async function main(options: RuntimeOptions = {}): Promise<RuntimeResults> {
  const rounds = options.rounds ?? 9;
  const time = options.time ?? 300;
  const warmupTime = options.warmupTime ?? 100;
  const print = options.print ?? true;
  const here = dirname(fileURLToPath(import.meta.url));
  const outFile = options.outFile ?? join(here, ".out", "runtime.json");

  await checkEquivalence();

  const perRound = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round, so no variant always runs first (cold machine) or last.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
    const bench = new Bench({ name: `runtime round ${r + 1}`, time, warmupTime, iterations: 32, warmupIterations: 16 });
    for (const v of order) bench.add(v.name, v.loop, { async: v.group === "async" });
    await bench.run();
    for (const v of order) {
      const result = bench.getTask(v.name)!.result;
      if (result.state !== "completed") {
        throw new Error(`task ${v.name} did not complete: ${result.state}${"error" in result ? ` (${String(result.error)})` : ""}`);
      }
      perRound.get(v.name)!.push((result.latency.p50 * 1e6) / v.batch);
    }
    if (print && process.stdout.isTTY) process.stdout.write(`round ${r + 1}/${rounds} done\r`);
  }
  if (print && process.stdout.isTTY) process.stdout.write("\x1b[2K\r");

  const ns = (name: string) => median(perRound.get(name)!);
  const handNs = { sync: ns("hand-written"), async: ns("hand-written async") };
  const variants: VariantResult[] = VARIANTS.map((v) => {
    const nsPerCall = ns(v.name);
    return {
      name: v.name,
      group: v.group,
      nsPerCall,
      opsPerSec: 1e9 / nsPerCall,
      vsHand: nsPerCall / handNs[v.group],
      rounds: perRound.get(v.name)!,
    };
  });

  const codegen = ns("memopipe codegen");
  const goals: Goal[] = [
    { name: "sync: memopipe codegen / hand-written", value: codegen / handNs.sync, target: "<= 1.2", met: codegen / handNs.sync <= 1.2 },
    { name: "sync: memopipe codegen / remeda pipe", value: codegen / ns("remeda pipe"), target: "< 1 (faster)", met: codegen < ns("remeda pipe") },
    { name: "sync: memopipe codegen / effect pipe", value: codegen / ns("effect pipe"), target: "< 1 (faster)", met: codegen < ns("effect pipe") },
    {
      name: "async: memopipe codegen / hand-written async",
      value: ns("memopipe codegen async") / handNs.async,
      target: "<= 1.2",
      met: ns("memopipe codegen async") / handNs.async <= 1.2,
    },
  ];
  const allGoalsMet = goals.every((g) => g.met);

  const meta = {
    benchmark: "runtime",
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memopipeResolvedTo: resolvedMemopipe(),
    pipeline: "10 integer steps, 2 stores, 2 ingests (1 ingestAfter, 1 ingestBefore); async variant: step 5 returns a Promise",
    rounds,
    timePerTaskMs: time,
    warmupTimeMs: warmupTime,
    batch: { sync: BATCH, async: ASYNC_BATCH },
    statistic: "per round: tinybench latency p50 of one batch / batch size; reported: median over rounds",
  };

  if (print) {
    console.log(`memopipe runtime benchmark — ${meta.node}, ${meta.cores} cores, ${meta.cpu}`);
    console.log(`memopipe resolved to ${meta.memopipeResolvedTo}`);
    console.log(`${rounds} rounds × ${time} ms per task, median over rounds (sync batch ${BATCH}, async batch ${ASYNC_BATCH} sequential awaits)\n`);
    const rows = variants.map((v) => {
      const rs = v.rounds;
      return {
        group: v.group,
        variant: v.name,
        "ns/call": v.nsPerCall.toFixed(2),
        "ops/s": Math.round(v.opsPerSec).toLocaleString("en-US"),
        "× hand": v.vsHand.toFixed(2),
        "rounds min–max ns": `${Math.min(...rs).toFixed(1)}–${Math.max(...rs).toFixed(1)}`,
      };
    });
    console.table(rows);
    console.log("memopipe (codegen) vs peers, time per call:");
    for (const peer of ["remeda pipe", "effect pipe"]) {
      const ratio = codegen / ns(peer);
      console.log(`  memopipe / ${peer}: ${ratio.toFixed(2)}× (${ratio < 1 ? `${(1 / ratio).toFixed(2)}× faster` : `${ratio.toFixed(2)}× slower`})`);
    }
    console.log("\nGoals (default codegen path; the interpreter rows are informational):");
    for (const g of goals) console.log(`  ${g.met ? "GOAL MET   " : "GOAL MISSED"}  ${g.name} = ${g.value.toFixed(2)} (target ${g.target})`);
    console.log(allGoalsMet ? "\nGOAL MET: all runtime goals met" : "\nGOAL MISSED: not all runtime goals met");
  }

  const results: RuntimeResults = { meta, variants, goals, allGoalsMet, sink };
  if (outFile !== false) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
    if (print) console.log(`results written to ${outFile}`);
  }
  return results;
}

runIfEntryPoint(import.meta.url, main);
