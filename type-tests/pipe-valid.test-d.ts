import { expectType } from "tsd";
import { pipe, memorizable } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

// The SPEC example: store, ingestAfter, ingestBefore; the built pipeline is a plain function.
const run = pipe<number>()
  .step((x) => x * 2)
  .store("doubled")
  .step((x) => String(x))
  .step((s: string, d: number) => s + d)
  .ingestAfter("doubled")
  .step((d: number, s: string) => s + d)
  .ingestBefore("doubled")
  .build();
expectType<(input: number) => string>(run);
assertEqual<Equal<typeof run, (input: number) => string>>();
expectType<string>(run(1));

// .run(input) is .build()(input).
expectType<number>(pipe<number>().step((x) => x + 1).run(41));

// Several ingests compose in call order: g(a, b, current, c).
const composed = pipe<number>()
  .store("a")
  .step((x) => `${x}`)
  .store("b")
  .step((s) => s.length > 0)
  .store("c")
  .step((x) => [x] as const)
  .step((a: number, b: string, cur: readonly [boolean], c: boolean) => ({ a, b, cur, c }))
  .ingestBefore("a")
  .ingestBefore("b")
  .ingestAfter("c")
  .build();
assertEqual<Equal<typeof composed, (input: number) => { a: number; b: string; cur: readonly [boolean]; c: boolean }>>();

// pipe() without a type argument takes its input type from the first step.
const inferred = pipe().step((s: string) => s.length).step((n) => n > 2).build();
assertEqual<Equal<typeof inferred, (input: string) => boolean>>();

// A first step without parameters: the pipeline takes no input.
const noInput = pipe().step(() => 42).build();
assertEqual<Equal<typeof noInput, (input: void) => number>>();
expectType<number>(noInput());

// Async: a Promise exactly when a step is async.
const asyncRun = pipe<number>().step((x) => x * 2).step(async (x) => String(x)).step((s) => s.length).build();
assertEqual<Equal<typeof asyncRun, (input: number) => Promise<number>>>();
const maybe = pipe<number>().step((x) => (x > 0 ? Promise.resolve(x) : x)).step((x) => x + 1).build();
assertEqual<Equal<typeof maybe, (input: number) => number | Promise<number>>>();
// Later steps receive the awaited value, memory stores the awaited value.
const asyncMemory = pipe<string>()
  .step(async (s) => s.length)
  .store("len")
  .step((n) => n * 2)
  .step((n: number, len: number) => n + len)
  .ingestAfter("len")
  .build();
assertEqual<Equal<typeof asyncMemory, (input: string) => Promise<number>>>();

// A step with an optional parameter is complete without an ingest, and can take one.
const optional = pipe<number>().store("k").step((x: number, y?: number) => x + (y ?? 0)).build();
assertEqual<Equal<typeof optional, (input: number) => number>>();
const optionalIngest = pipe<number>().store("k").step((x: number, y?: number) => x + (y ?? 0)).ingestAfter("k").build();
assertEqual<Equal<typeof optionalIngest, (input: number) => number>>();

// A rest parameter takes any number of ingests.
const rest = pipe<number>()
  .store("a")
  .store("b")
  .step((...xs: number[]) => xs.length)
  .ingestAfter("a")
  .ingestAfter("b")
  .build();
assertEqual<Equal<typeof rest, (input: number) => number>>();

// A value may be ingested into a wider parameter, and several times.
const wider = pipe<"a" | "b">()
  .store("letter")
  .step((x) => x.toUpperCase())
  .step((u: string, l1: string, l2: string | number) => u + l1 + l2)
  .ingestAfter("letter")
  .ingestAfter("letter")
  .build();
assertEqual<Equal<typeof wider, (input: "a" | "b") => string>>();

// memorizable with allowIngest: false may be stored.
const load = memorizable((path: string) => path.length, { allowIngest: false });
const stored = pipe<string>().step(load).store("size").step((n) => n + 1).build();
assertEqual<Equal<typeof stored, (input: string) => number>>();
// memorizable without options keeps the function's type and may ingest.
const ingestible = memorizable((x: number, y: number) => x * y);
expectType<number>(ingestible(2, 3));
const withIngest = pipe<number>().store("n").step(ingestible).ingestAfter("n").build();
assertEqual<Equal<typeof withIngest, (input: number) => number>>();

// A built pipeline is a step (a sub-pipeline).
const inner = pipe<number>().store("k").step((x) => x + 1).step((x: number, k: number) => x * k).ingestAfter("k").build();
const outer = pipe<string>().step((s) => s.length).step(inner).step(async (n) => n > 3).build();
assertEqual<Equal<typeof outer, (input: string) => Promise<boolean>>>();

// Key names that are Object.prototype members are ordinary keys.
const proto = pipe<number>().store("constructor").store("toString").step((x) => x).step((x: number, c: number, t: number) => x + c + t).ingestAfter("constructor").ingestAfter("toString").build();
assertEqual<Equal<typeof proto, (input: number) => number>>();

// A builder prefix can be reused.
const base = pipe<number>().step((x) => x + 1).store("a");
const left = base.step((x) => `${x}`).build();
const right = base.step((x: number, a: number) => x === a).ingestAfter("a").build();
assertEqual<Equal<typeof left, (input: number) => string>>();
assertEqual<Equal<typeof right, (input: number) => boolean>>();

// A step typed to return `any` (JSON.parse) keeps the pipeline synchronous in its type.
const parsed = pipe<string>().step(JSON.parse).step((x: { a: number }) => x.a).build();
assertEqual<Equal<typeof parsed, (input: string) => number>>();

// .buildSync(): the same function type as .build() when the types prove every step synchronous.
const syncBuilt = pipe<{ n: number }>()
  .step((r) => ({ n: r.n * 2 }))
  .store("r")
  .fork((r) => r.n, (r) => `${r.n}`)
  .merge((n, s) => s.length + n)
  .buildSync();
assertEqual<Equal<typeof syncBuilt, (input: { n: number }) => number>>();
