import { expectType } from "tsd";
import { pipe, fork, merge, to, identity, flatten } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

// fork(f, g) returns a readonly tuple [F, G]; merge(h) calls h(...tuple).
const forked = pipe<number>().fork((x) => x + 1, (x) => String(x)).build();
assertEqual<Equal<typeof forked, (input: number) => readonly [number, string]>>();
const merged = pipe<number>().fork((x) => x + 1, (x) => String(x)).merge((n, s) => s.repeat(n)).build();
assertEqual<Equal<typeof merged, (input: number) => string>>();
const annotatedMerge = pipe<number>().fork((x) => x, (x) => x * 2).merge((a: number, b: number) => a + b).build();
assertEqual<Equal<typeof annotatedMerge, (input: number) => number>>();

// Async branches make the fork (and the pipeline) async; the tuple holds awaited values.
const asyncFork = pipe<number>().fork(async (x) => x, (x) => [x]).build();
assertEqual<Equal<typeof asyncFork, (input: number) => Promise<readonly [number, number[]]>>>();

// to(Ctor) calls new Ctor(...tuple).
const point = pipe<number>().fork((x) => x, (x) => -x).to(Point).build();
assertEqual<Equal<typeof point, (input: number) => Point>>();

// flatten flattens nested fork tuples into one.
const flat = pipe<number>()
  .fork((x) => x, fork((x: number) => x + 1, fork((x: number) => `${x}`, (x: number) => x > 0)))
  .flatten()
  .build();
assertEqual<Equal<typeof flat, (input: number) => readonly [number, number, string, boolean]>>();

// identity returns its input; it is the usual "pass the value on" branch.
expectType<number>(identity<number>(5));
expectType<"literal">(identity("literal"));
const passOn = pipe<string>().fork(identity, (s) => s.length).build();
assertEqual<Equal<typeof passOn, (input: string) => readonly [string, number]>>();

// Free functions as steps.
const free = pipe<number>()
  .step(fork((x: number) => x * 2, (x: number) => x > 1))
  .step(merge((n: number, b: boolean) => (b ? n : -n)))
  .build();
assertEqual<Equal<typeof free, (input: number) => number>>();
const freeFork = fork((x: number) => x + 1, async (x: number) => `${x}`);
assertEqual<Equal<typeof freeFork, (input: number) => Promise<readonly [number, string]>>>();
const freeTo = to(Point);
expectType<Point>(freeTo([1, 2] as const));
const nested = fork((x: number) => x, fork((x: number) => x + 1, (x: number) => `${x}`))(1);
assertEqual<Equal<typeof nested, readonly [number, readonly [number, string]]>>();
assertEqual<Equal<ReturnType<typeof flatten<typeof nested>>, readonly [number, number, string]>>();

// A fork result can be stored, and a stored tuple ingested.
const storedFork = pipe<number>()
  .fork((x) => x, (x) => `${x}`)
  .store("both")
  .step(([n]) => n * 2)
  .step((n: number, both: readonly [number, string]) => both[1] + n)
  .ingestAfter("both")
  .build();
assertEqual<Equal<typeof storedFork, (input: number) => string>>();
