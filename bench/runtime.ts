/**
 * Run-time benchmark: built memopipe pipelines of several shapes against the same logic written
 * by hand (and, for the numbers shape, with remeda's `pipe` and Effect's `pipe`).
 *
 *   npx tsup && npx tsx bench/runtime.ts      (or `npm run bench -- runtime`, through bench/run.ts)
 *
 * The shapes (bench/runtime-shapes.ts): numbers (10 integer steps, 2 stores, 2 ingests), the same
 * with one async step, 30 steps on object values with 5 stores and 5 ingests (and with one async
 * step), 20 steps on objects of six hidden classes, sub-pipelines as steps, a fork of three
 * branches (one a sub-pipeline) into a merge (and the same with an async step in the
 * sub-pipeline), the free fork(...)/merge(...) as steps, a fork tuple read by the next step, a
 * fork tuple returned. Each is run as memopipe builds it (generated code), through
 * the interpreter fallback (what runs where `new Function` is forbidden), and as hand-written code
 * with the same semantics. Every variant is checked to return the same results before timing.
 *
 * Measurement: tinybench times one call of a task function per sample, and a timer read costs as
 * much as a short pipeline, so each task runs a batch of calls over a fixed array of inputs and
 * adds a number from each result into a sink (so V8 cannot drop the calls); ns per call is the
 * batch's median latency divided by the batch size. Each variant gets its own batch loop, compiled
 * separately (`new Function`), so every loop's call site sees one function: a shared loop would
 * turn megamorphic and penalise whichever variant runs last. The whole bench runs several rounds,
 * rotating the task order, and reports the median over rounds. Ratios are against the hand-written
 * variant of the same shape in the same run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { runIfEntryPoint } from "./entry.js";
import { SHAPES, type Shape } from "./runtime-shapes.js";

export interface RuntimeOptions {
  /** Rounds of the whole bench; the median over rounds is reported. Default 7. */
  readonly rounds?: number;
  /** tinybench time budget per task per round, ms. Default 200. */
  readonly time?: number;
  /** tinybench warmup budget per task per round, ms. Default 80. */
  readonly warmupTime?: number;
  /** Print the table and goals. Default true. */
  readonly print?: boolean;
  /** Where to write the JSON results; `false` to skip. Default bench/.out/runtime.json. */
  readonly outFile?: string | false;
}

export interface VariantResult {
  readonly shape: string;
  readonly name: string;
  /** Median over rounds of the per-round median ns per call. */
  readonly nsPerCall: number;
  /** This variant's time per call / the shape's hand-written time per call. */
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

let sink = 0;
const addToSink = (n: number) => {
  sink += n;
};

/**
 * A batch loop of its own for one variant (see the header: one call site per variant). The source
 * names the variant: V8 caches `new Function` code by its source text together with its type
 * feedback, so loops with the same text would share one feedback vector (and one megamorphic call
 * site) after all; that made every memopipe row of the first version of this bench 2.5× slower.
 */
function makeLoop(shape: Shape, fn: (input: never) => unknown, id: string): () => void | Promise<void> {
  const body = `// ${id.replace(/[^\w ,+/-]/g, "")}\n` + (shape.async
    ? "return async function loop() { let acc = 0; for (let i = 0; i < inputs.length; i++) acc += value(await fn(inputs[i])); add(acc); };"
    : "return function loop() { let acc = 0; for (let i = 0; i < inputs.length; i++) acc += value(fn(inputs[i])); add(acc); };");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fresh function per variant, on purpose
  return new Function("fn", "inputs", "value", "add", body)(fn, shape.inputs, shape.value, addToSink) as () => void | Promise<void>;
}

/** Every variant gives the hand-written results, and memopipe's default build is generated code. */
async function checkEquivalence(): Promise<void> {
  // The generated function calls its constants c0, c1, …; the interpreter does not. An always-async
  // pipeline is wrapped (async-steps.ts), so its source shows the wrapper: only sync ones are checked.
  const generated = (fn: unknown) => /\bc\d+\(/.test(String(fn));
  for (const shape of SHAPES) {
    const { memopipe, "memopipe interpreter": interp } = shape.variants;
    if (!shape.async && (!generated(memopipe) || generated(interp))) {
      throw new Error(`${shape.name}: .build() did not return the generated function (fell back to the interpreter?)`);
    }
    const hand = shape.variants["hand-written"]!;
    for (const input of shape.inputs.slice(0, 16)) {
      const expected = JSON.stringify(await hand(input as never));
      for (const [name, fn] of Object.entries(shape.variants)) {
        const result = fn(input as never);
        if (shape.async && !(result instanceof Promise)) throw new Error(`${shape.name} / ${name} did not return a Promise`);
        const got = JSON.stringify(await result);
        if (got !== expected) throw new Error(`${shape.name} / ${name}(${JSON.stringify(input)}) = ${got}, hand-written gives ${expected}`);
      }
    }
  }
}

export async function main(options: RuntimeOptions = {}): Promise<RuntimeResults> {
  const rounds = options.rounds ?? 7;
  const time = options.time ?? 200;
  const warmupTime = options.warmupTime ?? 80;
  const print = options.print ?? true;
  const here = dirname(fileURLToPath(import.meta.url));
  const outFile = options.outFile ?? join(here, ".out", "runtime.json");
  const loadAvg1 = loadavg()[0] ?? 0;

  await checkEquivalence();

  const tasks = SHAPES.flatMap((shape) =>
    Object.entries(shape.variants).map(([name, fn]) => ({ id: `${shape.name} / ${name}`, shape, name, batch: shape.inputs.length, loop: makeLoop(shape, fn, `${shape.name} / ${name}`) })),
  );
  const perRound = new Map<string, number[]>(tasks.map((t) => [t.id, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round, so no variant always runs first (cold machine) or last.
    const order = tasks.map((_, i) => tasks[(i + r) % tasks.length]!);
    const bench = new Bench({ name: `runtime round ${r + 1}`, time, warmupTime, iterations: 24, warmupIterations: 12 });
    for (const t of order) bench.add(t.id, t.loop, { async: t.shape.async });
    await bench.run();
    for (const t of order) {
      const result = bench.getTask(t.id)!.result;
      if (result.state !== "completed") {
        throw new Error(`task ${t.id} did not complete: ${result.state}${"error" in result ? ` (${String(result.error)})` : ""}`);
      }
      perRound.get(t.id)!.push((result.latency.p50 * 1e6) / t.batch);
    }
    if (print && process.stdout.isTTY) process.stdout.write(`round ${r + 1}/${rounds} done\r`);
  }
  if (print && process.stdout.isTTY) process.stdout.write("\x1b[2K\r");

  const ns = (shape: string, name: string) => median(perRound.get(`${shape} / ${name}`)!);
  const variants: VariantResult[] = tasks.map((t) => {
    const nsPerCall = ns(t.shape.name, t.name);
    return { shape: t.shape.name, name: t.name, nsPerCall, vsHand: nsPerCall / ns(t.shape.name, "hand-written"), rounds: perRound.get(t.id)! };
  });
  const ratio = (shape: string, name: string) => variants.find((v) => v.shape === shape && v.name === name)!.vsHand;
  const goals: Goal[] = SHAPES.flatMap((shape) =>
    ["memopipe", "memopipe buildSync()"]
      .filter((name) => name in shape.variants)
      .map((name) => {
        const value = ratio(shape.name, name);
        return { name: `${shape.name}: ${name} / hand-written`, value, target: `<= ${shape.goal}`, met: value <= shape.goal };
      }),
  );
  for (const peer of ["remeda pipe", "Effect pipe"]) {
    const value = ns("numbers", "memopipe") / ns("numbers", peer);
    goals.push({ name: `numbers: memopipe / ${peer}`, value, target: "< 1 (faster)", met: value < 1 });
  }
  const allGoalsMet = goals.every((g) => g.met);

  const meta = {
    benchmark: "runtime",
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAvg1,
    memopipeResolvedTo: resolvedMemopipe(),
    shapes: SHAPES.map((s) => ({ name: s.name, description: s.description, async: s.async, goal: s.goal, batch: s.inputs.length })),
    rounds,
    timePerTaskMs: time,
    warmupTimeMs: warmupTime,
    statistic: "per round: tinybench latency p50 of one batch / batch size; reported: median over rounds",
  };

  if (print) {
    console.log(`memopipe runtime benchmark — ${meta.node}, ${meta.cores} cores, ${meta.cpu}, load average ${loadAvg1.toFixed(2)} before the run`);
    console.log(`memopipe resolved to ${meta.memopipeResolvedTo}`);
    console.log(`${rounds} rounds × ${time} ms per task, median over rounds; async shapes await each call in turn\n`);
    console.table(
      variants.map((v) => ({
        shape: v.shape,
        variant: v.name,
        "ns/call": v.nsPerCall.toFixed(2),
        "× hand": v.vsHand.toFixed(2),
        "rounds min–max ns": `${Math.min(...v.rounds).toFixed(1)}–${Math.max(...v.rounds).toFixed(1)}`,
      })),
    );
    console.log("Goals (memopipe's generated code: .build(), and .buildSync() where measured; the interpreter rows are informational):");
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
