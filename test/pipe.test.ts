import { deepStrictEqual } from "node:assert";
import { describe, expect, it } from "vitest";
import {
  DuplicateMemoryKeyError,
  IngestNotAllowedError,
  MemopipeError,
  NotATupleError,
  PipelineDefinitionError,
  PipelineStepError,
  UnknownMemoryKeyError,
  flatten,
  fork,
  identity,
  memorizable,
  merge,
  pipe,
  to,
} from "../src/index.js";

/** Both execution paths (generated code and the interpreter) must behave identically. */
const modes = ["codegen", "interpret"] as const;
type Mode = (typeof modes)[number];
/** Builds with an explicit mode: `build(mode)` is the runtime's internal switch (not in the types). */
function build<F>(builder: { build(): F }, mode: Mode): F {
  return (builder as unknown as { build(mode: Mode): F }).build(mode);
}

describe.each(modes)("pipe (%s)", (mode) => {
  it("runs the SPEC example: store, ingestAfter, ingestBefore", () => {
    const run = build(
      pipe<number>()
        .step((x) => x * 2)
        .store("doubled")
        .step((x) => String(x))
        .step((s: string, d: number) => s + d)
        .ingestAfter("doubled")
        .step((d: number, s: string) => s + d)
        .ingestBefore("doubled"),
      mode,
    );
    // 21 → 42 → "42" → "42" + 42 = "4242" → "4242" + 42 = "424242"
    expect(run(21)).toBe("424242");
  });

  it("passes several ingests in call order: g(a, b, current, c)", () => {
    const calls: unknown[][] = [];
    const g = (a: string, b: string, cur: string, c: string) => {
      calls.push([a, b, cur, c]);
      return `${a}${b}${cur}${c}`;
    };
    const run = build(
      pipe<string>()
        .store("a")
        .step((s) => s + "B")
        .store("b")
        .step((s) => s + "C")
        .store("c")
        .step((s) => s + "!")
        .step(g)
        .ingestBefore("a")
        .ingestBefore("b")
        .ingestAfter("c"),
      mode,
    );
    expect(run("A")).toBe("AABABC!ABC");
    expect(calls).toEqual([["A", "AB", "ABC!", "ABC"]]);
  });

  it("keeps the order of several ingestAfter keys (pypely's << reversed them at run time)", () => {
    const three = (a: number, b: string, c: boolean) => [a, b, c] as const;
    const run = build(
      pipe<number>()
        .store("n")
        .step((n) => `s${n}`)
        .store("s")
        .step((s) => s.length > 1)
        .store("flag")
        .step((): number => 7)
        .step(three)
        .ingestAfter("s")
        .ingestAfter("flag"),
      mode,
    );
    expect(run(5)).toEqual([7, "s5", true]);
  });

  it("stores the input when .store follows pipe<In>() directly", () => {
    const run = build(
      pipe<number>()
        .store("input")
        .step((x) => x + 1)
        .step((x: number, input: number) => [input, x])
        .ingestAfter("input"),
      mode,
    );
    expect(run(1)).toEqual([1, 2]);
  });

  it("infers the input from the first step with pipe()", () => {
    const run = build(
      pipe()
        .step((s: string) => s.length)
        .step((n) => n * 10),
      mode,
    );
    expect(run("abc")).toBe(30);
  });

  it("keeps stored values by reference", () => {
    const box = { n: 1 };
    const run = build(
      pipe<{ n: number }>()
        .store("box")
        .step(() => 0)
        .step((_: number, b: { n: number }) => b)
        .ingestAfter("box"),
      mode,
    );
    expect(run(box)).toBe(box);
  });

  it("gives every run its own memory", () => {
    const run = build(
      pipe<number>()
        .store("x")
        .step((x) => x + 1)
        .step((y: number, x: number) => y * 100 + x)
        .ingestAfter("x"),
      mode,
    );
    expect([run(1), run(2), run(3)]).toEqual([201, 302, 403]);
  });

  it("gives concurrent async runs their own memory", async () => {
    const run = build(
      pipe<number>()
        .store("x")
        .step(async (x) => {
          await new Promise((r) => setTimeout(r, 20 - x * 5));
          return x * 2;
        })
        .step((y: number, x: number) => `${x}->${y}`)
        .ingestAfter("x"),
      mode,
    );
    expect(await Promise.all([run(1), run(2), run(3)])).toEqual(["1->2", "2->4", "3->6"]);
  });

  it("returns a value when every step is sync and a Promise as soon as one is async", async () => {
    const sync = build(pipe<number>().step((x) => x + 1), mode);
    expect(sync(1)).toBe(2);
    const run = build(
      pipe<number>()
        .step((x) => x + 1)
        .store("a")
        .step(async (x) => x * 2)
        .store("b")
        .step((x) => x - 1)
        .step((x: number, a: number, b: number) => ({ x, a, b }))
        .ingestAfter("a")
        .ingestAfter("b"),
      mode,
    );
    const out = run(1);
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toEqual({ x: 3, a: 2, b: 4 });
  });

  it("rejects instead of throwing when an async function step follows the step that throws", async () => {
    const run = build(
      pipe<number>()
        .step((x): number => {
          if (x < 0) throw new RangeError("negative");
          return x;
        })
        .step(async (x) => x * 2),
      mode,
    );
    const result = run(-1);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toMatchObject({ name: "PipelineStepError", step: 1 });
    // the same holds through a sub-pipeline and through a fork with an async branch
    const viaSub = build(pipe<number>().step((x: number) => x).step(run), mode);
    await expect(viaSub(-1)).rejects.toBeInstanceOf(PipelineStepError);
    const viaFork = build(
      pipe<number>()
        .step((x): number => {
          throw new Error(String(x));
        })
        .fork(async (x) => x, (x) => x),
      mode,
    );
    await expect(viaFork(1)).rejects.toBeInstanceOf(PipelineStepError);
  });

  it("awaits a step that returns T | Promise<T> only when it returned a Promise", async () => {
    const run = build(pipe<number>().step((x) => (x > 0 ? Promise.resolve(x) : x)), mode);
    expect(run(0)).toBe(0);
    await expect(run(5)).resolves.toBe(5);
  });

  it("forks, merges, builds with to(), flattens", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const forked = build(pipe<number>().fork((x) => x + 1, (x) => String(x)), mode);
    const tuple = forked(1);
    expect(tuple).toEqual([2, "1"]);
    // a fork result is a plain array to everything outside memopipe (its brand is a private field)
    expect(Object.getPrototypeOf(tuple)).toBe(Array.prototype);
    expect(Reflect.ownKeys(tuple)).toEqual(["0", "1", "length"]);
    deepStrictEqual(tuple, [2, "1"]);

    expect(build(pipe<number>().fork((x) => x + 1, (x) => x * 2).merge((a, b) => a + b), mode)(3)).toBe(10);
    const p = build(pipe<number>().fork((x) => x, (x) => -x).to(Point), mode)(4);
    expect(p).toBeInstanceOf(Point);
    expect(p).toEqual(new Point(4, -4));
    const flat = build(
      pipe<number>()
        .fork((x) => x, fork((x: number) => x + 1, fork((x: number) => x + 2, (x: number) => [x, x] as [number, number])))
        .flatten(),
      mode,
    )(1);
    // nested fork tuples are flattened; the array a branch returned as a value is kept whole
    expect(flat).toEqual([1, 2, 3, [1, 1]]);
  });

  it("flattens the fork tuples the pipeline composed: sub-pipelines, identity, fork(...) calls", () => {
    const inner = pipe<number>().fork((x) => x + 1, (x) => x + 2).build();
    expect(build(pipe<number>().fork(identity, inner).flatten(), mode)(1)).toEqual([1, 2, 3]);
    // identity of a fork tuple is that fork tuple
    expect(build(pipe<number>().fork((x) => x, (x) => -x).fork(identity, (t) => t.length).flatten(), mode)(5)).toEqual([5, -5, 2]);
    // a fork(...) called by your own function still carries its shape
    expect(build(pipe<number>().fork((x) => x, (x) => fork((y: number) => y * 2, (y: number) => y * 3)(x)).flatten(), mode)(1)).toEqual([1, 2, 3]);
    // a step's own tuple is a value, even the fork tuple it was given
    expect(build(pipe<number>().fork((x) => x, (x) => [x, x] as const).flatten(), mode)(1)).toEqual([1, [1, 1]]);
    const passed = build(
      pipe<number>()
        .fork((x) => x, (x) => x * 2)
        .step((t) => t)
        .fork((t) => t, (t) => t[0])
        .flatten(),
      mode,
    )(1);
    expect(passed).toEqual([[1, 2], 1]);
    // a pipeline's result with nested fork tuples keeps its shape for the free flatten
    const nestedResult = build(pipe<number>().fork(identity, fork((x: number) => x + 1, (x: number) => `${x}`)), mode)(1);
    expect(nestedResult).toEqual([1, [2, "1"]]);
    expect(flatten(nestedResult)).toEqual([1, 2, "1"]);
    // async branches: the same shapes
    const asyncInner = pipe<number>().fork(async (x) => x + 1, (x) => x + 2).build();
    return expect(build(pipe<number>().fork(identity, asyncInner).flatten(), mode)(1)).resolves.toEqual([1, 2, 3]);
  });

  it("fuses a fork with the merge or to() after it, sync and async, naming the failing step", async () => {
    class Pair {
      constructor(
        readonly a: number,
        readonly b: string,
      ) {}
    }
    const merged = build(
      pipe<number>()
        .store("n")
        .fork((x) => x + 1, (x) => `${x}`)
        .merge((a, b) => `${b}:${a}`)
        .step((s: string, n: number) => `${s}/${n}`)
        .ingestAfter("n"),
      mode,
    );
    expect(merged(4)).toBe("4:5/4");
    const asyncBranch = build(
      pipe<number>()
        .fork(async (x) => x + 1, (x) => `${x}`)
        .merge((a, b) => `${b}:${a}`),
      mode,
    );
    await expect(asyncBranch(4)).resolves.toBe("4:5");
    const constructed = build(pipe<number>().fork((x) => x * 2, async (x) => `${x}`).to(Pair), mode);
    await expect(constructed(3)).resolves.toEqual(new Pair(6, "3"));
    expect(build(pipe<number>().fork((x) => x, (x) => `${x}`).to(Pair), mode)(1)).toBeInstanceOf(Pair);
    // a throwing branch is the fork's error; a throwing merge is the merge's
    const badBranch = build(
      pipe<number>()
        .step((x) => x)
        .fork(
          (x) => x,
          (): number => {
            throw new Error("branch");
          },
        )
        .merge((a, b) => a + b),
      mode,
    );
    expect(() => badBranch(1)).toThrow(expect.objectContaining({ name: "PipelineStepError", step: 2 }));
    const badMerge = build(
      pipe<number>()
        .fork((x) => x, (x) => x)
        .merge((): number => {
          throw new Error("merge");
        }),
      mode,
    );
    expect(() => badMerge(1)).toThrow(expect.objectContaining({ step: 2, stepName: "merge(anonymous function)" }));
    // a merge that returns a Promise: the pipeline awaits it
    await expect(build(pipe<number>().fork((x) => x, (x) => x).merge(async (a, b) => a + b), mode)(2)).resolves.toBe(4);
  });

  it("runs async fork branches concurrently and keeps their order", async () => {
    const order: string[] = [];
    const slow = async (x: number) => {
      await new Promise((r) => setTimeout(r, 30));
      order.push("slow");
      return x * 10;
    };
    const fast = async (x: number) => {
      order.push("fast");
      return x + 1;
    };
    const started = Date.now();
    const run = build(pipe<number>().fork(slow, fast, slow), mode);
    expect(await run(1)).toEqual([10, 2, 10]);
    expect(order).toEqual(["fast", "slow", "slow"]);
    // concurrency, not timing, is asserted: both slow branches were started before either finished
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("uses a built pipeline as a step, with its own memory", () => {
    const inner = pipe<number>()
      .store("k")
      .step((x) => x + 1)
      .step((x: number, k: number) => x * k)
      .ingestAfter("k")
      .build();
    const outer = build(
      pipe<number>()
        .step((x) => x * 10)
        .store("k") // same key name as the inner pipeline: the memories are separate
        .step(inner)
        .step((x: number, k: number) => [x, k])
        .ingestAfter("k"),
      mode,
    );
    // 2 → 20 (outer k = 20) → inner: k = 20, 21 * 20 = 420 → [420, 20]
    expect(outer(2)).toEqual([420, 20]);
  });

  it("wraps a throwing step with its position, name and cause", () => {
    const boom = new RangeError("bad value");
    function normalize(): number {
      throw boom;
    }
    const run = build(pipe<number>().step((x) => x).store("a").step(normalize), mode);
    let caught: unknown;
    try {
      run(1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PipelineStepError);
    expect(caught).toBeInstanceOf(MemopipeError);
    const error = caught as PipelineStepError;
    expect(error.step).toBe(2);
    expect(error.stepName).toBe("normalize");
    expect(error.cause).toBe(boom);
    expect(error.message).toBe("step 2 (normalize) failed: RangeError: bad value");
  });

  it("wraps a rejected async step the same way", async () => {
    const cause = new Error("offline");
    const run = build(
      pipe<number>()
        .step(async (x) => x)
        .step(async function fetchData(): Promise<number> {
          throw cause;
        }),
      mode,
    );
    const error = await Promise.resolve(run(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineStepError);
    expect((error as PipelineStepError).step).toBe(2);
    expect((error as PipelineStepError).stepName).toBe("fetchData");
    expect((error as PipelineStepError).cause).toBe(cause);
  });

  it("wraps a sync throw that happens after an async step", async () => {
    const run = build(
      pipe<number>()
        .step(async (x) => x)
        .step((): number => {
          throw new Error("late");
        }),
      mode,
    );
    await expect(run(1)).rejects.toMatchObject({ name: "PipelineStepError", step: 2 });
  });

  it("names the failing step inside a sub-pipeline", () => {
    const inner = pipe<number>()
      .step((x) => x)
      .step(function parse(): number {
        throw new Error("nope");
      })
      .build();
    const run = build(pipe<number>().step(inner), mode);
    expect(() => run(1)).toThrow("step 1 (pipeline) failed: PipelineStepError: step 2 (parse) failed: nope");
  });

  it("accepts keys that are names of Object.prototype members", () => {
    const run = build(
      pipe<number>()
        .store("constructor")
        .store("__proto__")
        .step((x) => x + 1)
        .step((x: number, a: number, b: number) => x + a + b)
        .ingestAfter("constructor")
        .ingestAfter("__proto__"),
      mode,
    );
    expect(run(1)).toBe(4);
  });
});

describe("run-time checks for what the types cannot see", () => {
  // Plain JavaScript callers, or `any`: the builder throws exported errors naming the key.
  const loose = () => pipe<number>() as any;

  it("refuses an ingest of a key never stored, naming it and the stored keys", () => {
    const builder = loose().store("a").step((x: number) => x);
    expect(() => builder.ingestAfter("nope")).toThrow(UnknownMemoryKeyError);
    expect(() => builder.ingestAfter("nope")).toThrow(
      "memory key 'nope' was never stored in this pipeline (stored so far: 'a')",
    );
    const err = (() => {
      try {
        builder.ingestBefore("nope");
      } catch (e) {
        return e as UnknownMemoryKeyError;
      }
    })();
    expect(err?.key).toBe("nope");
    expect(err?.storedKeys).toEqual(["a"]);
  });

  it("refuses a key stored only later in the pipeline", () => {
    expect(() => loose().step((x: number) => x).ingestAfter("later").store("later")).toThrow(UnknownMemoryKeyError);
  });

  it("refuses a key stored twice", () => {
    expect(() => loose().store("k").step((x: number) => x).store("k")).toThrow(DuplicateMemoryKeyError);
  });

  it("refuses an ingest into an allowIngest: false step, saying allowIngest", () => {
    const f = memorizable((x: number) => x, { allowIngest: false });
    const builder = loose().store("k").step(f);
    expect(() => builder.ingestAfter("k")).toThrow(IngestNotAllowedError);
    expect(() => builder.ingestAfter("k")).toThrow(
      "this step was marked memorizable(f, { allowIngest: false }), so it cannot ingest memory key 'k' (allowIngest: false); ingest into another step, or drop allowIngest: false",
    );
    expect(() => loose().store("k").fork(identity).ingestAfter("k")).toThrow(
      "fork(...) only combines its branches, so it cannot ingest memory key 'k' (allowIngest: false); ingest into a .step(f) instead",
    );
  });

  it("refuses an ingest with no step to modify", () => {
    expect(() => loose().store("k").ingestAfter("k")).toThrow(PipelineDefinitionError);
    expect(() => loose().ingestBefore("k")).toThrow(PipelineDefinitionError);
  });

  it("refuses steps that are not functions and keys that are not strings", () => {
    expect(() => loose().step(42)).toThrow("step 1 must be a function, got number");
    expect(() => loose().store(1)).toThrow(PipelineDefinitionError);
    expect(() => loose().fork()).toThrow(PipelineDefinitionError);
    expect(() => (fork as (...fns: unknown[]) => unknown)()).toThrow(PipelineDefinitionError);
  });

  it("reports merge on a value that is not a tuple as a step error", () => {
    const run = loose().merge((a: number) => a).build();
    expect(() => run(1)).toThrow("step 1 (merge(anonymous function)) failed: NotATupleError: merge(h) needs a tuple (what fork returns), got number");
    expect(() => (merge as (h: unknown) => (t: unknown) => unknown)((a: number) => a)(5)).toThrow(NotATupleError);
    expect(() => (to as (c: unknown) => (t: unknown) => unknown)(Date)(5)).toThrow(NotATupleError);
    expect(() => (flatten as (t: unknown) => unknown)(5)).toThrow("flatten() needs a tuple (what fork returns), got number");
  });

  it("leaves builders immutable, so a prefix can be reused", () => {
    const base = pipe<number>().step((x) => x + 1).store("a");
    const left = base.step((x) => x * 2).build();
    const right = base.step((x: number, a: number) => x - a).ingestAfter("a").build();
    expect(left(1)).toBe(4);
    expect(right(1)).toBe(0);
  });
});

describe("combinators as free functions", () => {
  it("fork / merge / to / identity / flatten", async () => {
    expect(fork((x: number) => x + 1, (x: number) => `${x}`)(1)).toEqual([2, "1"]);
    await expect(fork(async (x: number) => x, (x: number) => x * 2)(2)).resolves.toEqual([2, 4]);
    expect(merge((a: number, b: string) => b.repeat(a))([2, "ab"] as const)).toBe("abab");
    class Pair {
      constructor(
        readonly a: number,
        readonly b: number,
      ) {}
    }
    expect(to(Pair)([1, 2] as const)).toEqual(new Pair(1, 2));
    expect(identity(5)).toBe(5);
    const nested = fork((x: number) => x, fork((x: number) => x + 1, (x: number) => x + 2))(1);
    expect(flatten(nested)).toEqual([1, 2, 3]);
  });

  it("memorizable returns a callable copy and leaves the function untouched", () => {
    function add(a: number, b: number) {
      return a + b;
    }
    const m = memorizable(add, { allowIngest: false });
    expect(m(1, 2)).toBe(3);
    expect(m.name).toBe("add");
    expect(Object.getOwnPropertySymbols(add)).toEqual([]);
    const triple = memorizable((x: number) => x * 3, { allowIngest: false });
    const run = pipe<number>().step(triple).store("tripled").step((x) => x + 1).build();
    expect(run(2)).toBe(7);
  });
});
