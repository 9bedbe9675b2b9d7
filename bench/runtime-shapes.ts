/**
 * The pipeline shapes of the run-time benchmark (bench/runtime.ts), each as memopipe builds it and
 * as a person would write it by hand with the same semantics: the same step functions called in
 * the same order, memory in local variables, a fork's branches called one after the other into an
 * array literal (or straight into the merge function), a sub-pipeline as a hand-written function.
 *
 * The hand-written baselines do not check whether a step returned a Promise: a person who knows
 * the steps are synchronous would not. memopipe must (the types say which steps are async, but a
 * plain function typed `any`, or plain JavaScript, may still return one), so the check is part of
 * what is measured.
 */
import { identity, pipe } from "memopipe";
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

const num = (r: number) => r;
const row = (r: Row) => r.value + r.score;
const pair = (r: readonly [number, number]) => r[0] + r[1];

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
    variants: { "hand-written": objectsHand, memopipe: objectsBuilder(-1).build(), "memopipe interpreter": interpreted(objectsBuilder(-1)) },
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
