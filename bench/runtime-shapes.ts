/**
 * The pipeline shapes of the run-time benchmark (bench/runtime.ts), each as memopipe builds it and
 * as a person would write it by hand with the same semantics: the same step functions called in
 * the same order, memory in local variables, a fork's branches called one after the other into an
 * array literal (or straight into the merge function), a sub-pipeline as a hand-written function.
 *
 * The hand-written baselines do not check whether a step returned a Promise: a person who knows
 * the steps are synchronous would not. memopipe must (the types say which steps are async, but a
 * plain function typed `any`, or plain JavaScript, may still return one), so the check is part of
 * what is measured. The varied-shapes shape also has a hand-written row *with* that check, which
 * shows what the check itself costs where values have many hidden classes, and the object shapes
 * have a `.buildSync()` row (the build that trusts the types and makes no such check).
 */
import { fork, identity, merge, pipe } from "memopipe";
import { pipe as epipe } from "effect";
import { pipe as rpipe } from "remeda";

/** One pipeline shape with its variants; every variant returns the same value for the same input. */
export interface Shape {
  readonly name: string;
  readonly description: string;
  readonly async: boolean;
  /** Goal: memopipe (codegen) / hand-written at most this. */
  readonly goal: number;
  readonly inputs: readonly unknown[];
  /** A number from a result, summed into a sink so that V8 cannot drop the calls. */
  readonly value: (result: never) => number;
  /** "hand-written" first; then "memopipe", "memopipe interpreter", then any peers. */
  readonly variants: Readonly<Record<string, (input: never) => unknown>>;
}

/** `.buildSync()` on a chain put together in a loop (the loose view has no types to prove it). */
function trusted<F>(builder: unknown): F {
  return (builder as { buildSync(): F }).buildSync();
}

/** `build("interpret")`: the runtime's internal switch to the interpreter (not in the public types). */
function interpreted<F>(builder: { build(): F }): F {
  return (builder as unknown as { build(mode: "interpret"): F }).build("interpret");
}

const BATCH = 1024;
const numberInputs: number[] = Array.from({ length: BATCH }, (_, i) => (i * 7919) % 1000);

// ---------------------------------------------------------------------------------------------
// numbers: 10 integer steps, 2 stores, 2 ingests (the original shape; peers: remeda, Effect)
// ---------------------------------------------------------------------------------------------

const s1 = (x: number): number => x + 1;
const s2 = (x: number): number => x * 3; // store "a" after this step
const s3 = (x: number): number => x - 7;
const s4 = (x: number): number => x % 1009; // store "b" after this step
const s5 = (x: number): number => x * 5;
const s5Async = async (x: number): Promise<number> => x * 5;
const s6 = (x: number, a: number): number => x + a; // ingestAfter("a")
const s7 = (x: number): number => x - 3;
const s8 = (b: number, x: number): number => x - b; // ingestBefore("b")
const s9 = (x: number): number => x * 2;
const s10 = (x: number): number => x + 13;

const numbersBuilder = pipe<number>()
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

const numbersAsyncBuilder = pipe<number>()
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

function numbersHand(x: number): number {
  let v = s2(s1(x));
  const a = v;
  v = s4(s3(v));
  const b = v;
  v = s6(s5(v), a);
  v = s8(b, s7(v));
  return s10(s9(v));
}

async function numbersAsyncHand(x: number): Promise<number> {
  let v = s2(s1(x));
  const a = v;
  v = s4(s3(v));
  const b = v;
  v = s6(await s5Async(v), a);
  v = s8(b, s7(v));
  return s10(s9(v));
}

/** The peers, with memory emulated by closures over locals (the way one writes it there). */
function numbersRemeda(x: number): number {
  let a = 0;
  let b = 0;
  return rpipe(x, s1, s2, (v: number) => (a = v), s3, s4, (v: number) => (b = v), s5, (v: number) => s6(v, a), s7, (v: number) => s8(b, v), s9, s10);
}
function numbersEffect(x: number): number {
  let a = 0;
  let b = 0;
  return epipe(x, s1, s2, (v: number) => (a = v), s3, s4, (v: number) => (b = v), s5, (v: number) => s6(v, a), s7, (v: number) => s8(b, v), s9, s10);
}

// ---------------------------------------------------------------------------------------------
// objects: 30 steps on object values, 5 stores, 5 ingests (ingestAfter and ingestBefore)
// ---------------------------------------------------------------------------------------------

interface Row {
  readonly id: number;
  readonly value: number;
  readonly score: number;
}
const o1 = (r: Row): Row => ({ id: r.id, value: r.value + 1, score: r.score });
const o2 = (r: Row): Row => ({ id: r.id, value: (r.value * 3) % 1009, score: r.score + 1 });
const o3 = (r: Row): Row => ({ id: r.id, value: r.value - 7, score: r.score ^ r.value });
const o3Async = async (r: Row): Promise<Row> => ({ id: r.id, value: r.value - 7, score: r.score ^ r.value });
const o4 = (r: Row): Row => ({ id: r.id + 1, value: r.value, score: (r.score * 2) % 997 });
const oAfter = (r: Row, m: Row): Row => ({ id: r.id, value: r.value + m.value, score: r.score });
const oBefore = (m: Row, r: Row): Row => ({ id: r.id, value: r.value, score: r.score - m.score });

/** The untyped view of the builder, for a chain put together in a loop. */
interface LooseBuilder {
  step(f: unknown): LooseBuilder;
  store(key: string): LooseBuilder;
  ingestAfter(key: string): LooseBuilder;
  ingestBefore(key: string): LooseBuilder;
  build(): (input: never) => unknown;
}

/** Five blocks of six steps: o1, o2 (stored), o3, o4, an ingest of the stored value, o1. */
function objectsBuilder(asyncBlock: number): LooseBuilder {
  let b = pipe<Row>() as unknown as LooseBuilder;
  for (let k = 0; k < 5; k++) {
    b = b.step(o1).step(o2).store(`k${k}`).step(k === asyncBlock ? o3Async : o3).step(o4);
    b = k % 2 === 0 ? b.step(oAfter).ingestAfter(`k${k}`) : b.step(oBefore).ingestBefore(`k${k}`);
    b = b.step(o1);
  }
  return b;
}

function objectsHand(x: Row): Row {
  let v = o2(o1(x));
  const k0 = v;
  v = oAfter(o4(o3(v)), k0);
  v = o2(o1(o1(v)));
  const k1 = v;
  v = oBefore(k1, o4(o3(v)));
  v = o2(o1(o1(v)));
  const k2 = v;
  v = oAfter(o4(o3(v)), k2);
  v = o2(o1(o1(v)));
  const k3 = v;
  v = oBefore(k3, o4(o3(v)));
  v = o2(o1(o1(v)));
  const k4 = v;
  v = oAfter(o4(o3(v)), k4);
  return o1(v);
}

async function objectsAsyncHand(x: Row): Promise<Row> {
  let v = o2(o1(x));
  const k0 = v;
  v = oAfter(o4(o3(v)), k0);
  v = o2(o1(o1(v)));
  const k1 = v;
  v = oBefore(k1, o4(o3(v)));
  v = o2(o1(o1(v)));
  const k2 = v;
  v = oAfter(o4(await o3Async(v)), k2);
  v = o2(o1(o1(v)));
  const k3 = v;
  v = oBefore(k3, o4(o3(v)));
  v = o2(o1(o1(v)));
  const k4 = v;
  v = oAfter(o4(o3(v)), k4);
  return o1(v);
}

const rowInputs: Row[] = numberInputs.map((n, i) => ({ id: i, value: n, score: (n * 31) % 97 }));

// ---------------------------------------------------------------------------------------------
// sub-pipelines and forks
// ---------------------------------------------------------------------------------------------

const u1 = (x: number): number => x + 1;
const u2 = (x: number, k: number): number => (x * k) % 1009;
const u3 = (x: number): number => x - 1;
/** A 3-step sub-pipeline with its own store and ingest. */
const sub = pipe<number>().store("k").step(u1).step(u2).ingestAfter("k").step(u3).build();
function subHand(x: number): number {
  const k = x;
  return u3(u2(u1(x), k));
}
const m3 = (a: number, b: number, c: number): number => a + b - c;
const pairSum = (t: readonly [number, number]): number => t[0] * 2 + t[1];

const subStepBuilder = pipe<number>().step(s1).step(sub).step(s3).step(sub).step(s10);
function subStepHand(x: number): number {
  return s10(subHand(s3(subHand(s1(x)))));
}

const forkMergeBuilder = pipe<number>().step(s1).fork(s2, sub, s3).merge(m3).step(s10);
function forkMergeHand(x: number): number {
  const v = s1(x);
  return s10(m3(s2(v), subHand(v), s3(v)));
}

const forkTupleBuilder = pipe<number>().step(s1).fork(identity, sub).step(pairSum).step(s10);
function forkTupleHand(x: number): number {
  const v = s1(x);
  return s10(pairSum([v, subHand(v)]));
}

const forkResultBuilder = pipe<number>().step(s1).fork(s2, sub);
function forkResultHand(x: number): readonly [number, number] {
  const v = s1(x);
  return [s2(v), subHand(v)];
}

// ---------------------------------------------------------------------------------------------
// objects of varied shapes: 20 steps whose values have six hidden classes (polymorphic sites)
// ---------------------------------------------------------------------------------------------

/** Six record shapes with the same `a` (what the next step reads) and different other fields. */
type Varied = { readonly a: number } & Record<string, number>;
const makers: readonly ((a: number) => Varied)[] = [
  (a) => ({ a, b: 1 }),
  (a) => ({ b: 1, a }),
  (a) => ({ a, c: 2 }),
  (a) => ({ x: 0, a }),
  (a) => ({ a, y: 0, z: 1 }),
  (a) => ({ q: 1, a, r: 2 }),
];
/** Step k: a record of shape (a + k) mod 6. */
const variedSteps: readonly ((o: Varied) => Varied)[] = Array.from({ length: 20 }, (_, k) => (o: Varied) => makers[(o.a + k) % 6]!((o.a * 3 + k) % 1009));
const vAfter = (o: Varied, m: Varied): Varied => makers[o.a % 6]!((o.a + m.a) % 1009);

function variedBuilder(): LooseBuilder {
  let b = pipe<Varied>() as unknown as LooseBuilder;
  for (let k = 0; k < 20; k++) {
    b = b.step(variedSteps[k]);
    if (k === 4 || k === 12) b = b.store(`v${k}`);
    if (k === 9 || k === 17) b = b.step(vAfter).ingestAfter(`v${k - 5}`);
  }
  return b;
}
/** The same, by hand; `checked` adds the thenable check memopipe makes after every step. */
function variedHand(checked: boolean): (x: Varied) => Varied {
  const lines: string[] = [];
  const check = checked ? ` if ((typeof v === "object" ? v !== null : typeof v === "function") && typeof v.then === "function") throw new Error("thenable");` : "";
  for (let k = 0; k < 20; k++) {
    lines.push(`v = f${k}(v);${check}`);
    if (k === 4 || k === 12) lines.push(`var m${k} = v;`);
    if (k === 9 || k === 17) lines.push(`v = after(v, m${k - 5});${check}`);
  }
  // Written as a person would (one local per step function), compiled once like any module code.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the baseline's source, made once
  return new Function("fs", "after", `${variedSteps.map((_, k) => `var f${k} = fs[${k}];`).join(" ")}\nreturn function ${checked ? "checkedHand" : "hand"}(x) { var v = x;\n${lines.join("\n")}\nreturn v; };`)(variedSteps, vAfter) as (x: Varied) => Varied;
}
const variedInputs: Varied[] = numberInputs.map((n) => makers[n % 6]!(n));

// ---------------------------------------------------------------------------------------------
// the free combinators as steps; a sub-pipeline with an async step inside a fork
// ---------------------------------------------------------------------------------------------

const freeBuilder = pipe<number>().step(s1).step(fork(s2, s3, fork(s9, identity))).step(merge((a: number, b: number, t: readonly [number, number]) => a + b - t[0] + t[1])).step(s10);
function freeHand(x: number): number {
  const v = s1(x);
  const t: readonly [number, number] = [s9(v), v];
  return s10(s2(v) + s3(v) - t[0] + t[1]);
}

const u2Async = async (x: number, k: number): Promise<number> => (x * k) % 1009;
/** The sub-pipeline with its middle step async. */
const subAsync = pipe<number>().store("k").step(u1).step(u2Async).ingestAfter("k").step(u3).build();
const forkAsyncBuilder = pipe<number>().step(s1).fork(s2, subAsync, s3).merge(m3).step(s10);
async function forkAsyncHand(x: number): Promise<number> {
  const v = s1(x);
  const a = s2(v);
  const k = v;
  const pending = u2Async(u1(v), k); // every branch starts before any is awaited, as in memopipe
  const c = s3(v);
  return s10(m3(a, u3(await pending), c));
}

const num = (r: number) => r;
const row = (r: Row) => r.value + r.score;
const pair = (r: readonly [number, number]) => r[0] + r[1];
const varied = (r: Varied) => r.a;

export const SHAPES: readonly Shape[] = [
  {
    name: "numbers",
    description: "10 integer steps, 2 stores, 2 ingests",
    async: false,
    goal: 1.2,
    inputs: numberInputs,
    value: num,
    variants: {
      "hand-written": numbersHand,
      memopipe: numbersBuilder.build(),
      "memopipe interpreter": interpreted(numbersBuilder),
      "remeda pipe": numbersRemeda,
      "Effect pipe": numbersEffect,
    },
  },
  {
    name: "numbers, one async step",
    description: "the same, step 5 async",
    async: true,
    goal: 1.2,
    inputs: numberInputs.slice(0, 256),
    value: num,
    variants: { "hand-written": numbersAsyncHand, memopipe: numbersAsyncBuilder.build(), "memopipe interpreter": interpreted(numbersAsyncBuilder) },
  },
  {
    name: "objects",
    description: "30 steps on object values, 5 stores, 5 ingests",
    async: false,
    goal: 1.1,
    inputs: rowInputs,
    value: row,
    variants: {
      "hand-written": objectsHand,
      memopipe: objectsBuilder(-1).build(),
      "memopipe interpreter": interpreted(objectsBuilder(-1)),
      "memopipe buildSync()": trusted(objectsBuilder(-1)),
    },
  },
  {
    name: "objects, one async step",
    description: "the same, step 15 async",
    async: true,
    goal: 1.2,
    inputs: rowInputs.slice(0, 256),
    value: row,
    variants: { "hand-written": objectsAsyncHand, memopipe: objectsBuilder(2).build(), "memopipe interpreter": interpreted(objectsBuilder(2)) },
  },
  {
    name: "objects, varied shapes",
    description: "20 steps on object values of six hidden classes, 2 stores, 2 ingests",
    async: false,
    goal: 1.1,
    inputs: variedInputs,
    value: varied,
    variants: {
      "hand-written": variedHand(false),
      memopipe: variedBuilder().build(),
      "memopipe interpreter": interpreted(variedBuilder()),
      "hand-written with the thenable check": variedHand(true),
      "memopipe buildSync()": trusted(variedBuilder()),
    },
  },
  {
    name: "sub-pipelines",
    description: "5 steps, two of them a 3-step sub-pipeline with its own store and ingest",
    async: false,
    goal: 1.3,
    inputs: numberInputs,
    value: num,
    variants: { "hand-written": subStepHand, memopipe: subStepBuilder.build(), "memopipe interpreter": interpreted(subStepBuilder) },
  },
  {
    name: "fork + merge",
    description: "a step, a fork of 3 branches (one the sub-pipeline), a merge, a step",
    async: false,
    goal: 1.3,
    inputs: numberInputs,
    value: num,
    variants: { "hand-written": forkMergeHand, memopipe: forkMergeBuilder.build(), "memopipe interpreter": interpreted(forkMergeBuilder) },
  },
  {
    name: "fork + merge, one async step",
    description: "the same, the sub-pipeline's middle step async",
    async: true,
    goal: 1.2,
    inputs: numberInputs.slice(0, 256),
    value: num,
    variants: { "hand-written": forkAsyncHand, memopipe: forkAsyncBuilder.build(), "memopipe interpreter": interpreted(forkAsyncBuilder) },
  },
  {
    name: "free fork(...) and merge(...)",
    description: "a step, a fork(...) step with a nested fork(...) and identity, a merge(...) step, a step",
    async: false,
    goal: 1.3,
    inputs: numberInputs,
    value: num,
    variants: { "hand-written": freeHand, memopipe: freeBuilder.build(), "memopipe interpreter": interpreted(freeBuilder) },
  },
  {
    name: "fork tuple into a step",
    description: "a step, fork(identity, sub-pipeline), a step reading the tuple, a step",
    async: false,
    goal: 1.3,
    inputs: numberInputs,
    value: num,
    variants: { "hand-written": forkTupleHand, memopipe: forkTupleBuilder.build(), "memopipe interpreter": interpreted(forkTupleBuilder) },
  },
  {
    name: "fork tuple returned",
    description: "a step, then a fork of 2 branches (one the sub-pipeline) whose tuple is the result",
    async: false,
    goal: 1.3,
    inputs: numberInputs,
    value: pair,
    variants: { "hand-written": forkResultHand, memopipe: forkResultBuilder.build(), "memopipe interpreter": interpreted(forkResultBuilder) },
  },
];
