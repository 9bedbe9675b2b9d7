import { describe, expect, it } from "vitest";
import { MemopipeError, PipelineDefinitionError, PipelineStepError, flatten, fork, identity, merge, pipe } from "../src/index.js";

/**
 * `.buildSync()`: the build that trusts the types to prove every step synchronous (no thenable
 * check after each step), on both paths (generated code and the interpreter): the same values and
 * errors as `.build()`, what it refuses, and what it does when a step's type lied.
 */
const modes = ["codegen", "interpret"] as const;
type Mode = (typeof modes)[number];
function buildSync<F>(builder: { buildSync(): F }, mode: Mode): F {
  return (builder as unknown as { buildSync(mode: Mode): F }).buildSync(mode);
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("buildSync() generated code", () => {
  it("checks no step's result, only the pipeline's", () => {
    const run = buildSync(pipe<number>().step((x) => x + 1).store("a").fork((x) => x * 2, identity).merge((p, q) => p + q), "codegen");
    const source = String(run);
    // one check (the result), no continuation
    expect(source.match(/\.then === "function"/g)).toHaveLength(1);
    expect(source).not.toMatch(/resume\(/);
    expect(run(1)).toBe(6);
  });
});

describe.each(modes)("buildSync() (%s)", (mode) => {
  it("gives what build() gives: memory, forks, merge, to, flatten, sub-pipelines, free combinators", () => {
    class Pair {
      constructor(
        readonly a: number,
        readonly b: number,
      ) {}
    }
    const inner = pipe<number>()
      .store("k")
      .step((x) => x + 1)
      .step((x: number, k: number) => x * k)
      .ingestAfter("k")
      .build();
    const builder = pipe<number>()
      .store("n")
      .step(inner)
      .fork(inner, identity, fork((x: number) => x, (x: number) => -x))
      .flatten()
      .step((t) => t.reduce((s: number, x: number) => s + x, 0))
      .step((x: number, n: number) => [x, n] as const)
      .ingestAfter("n")
      .step(fork(merge((a: number, b: number) => a + b), merge((a: number, b: number) => a - b)))
      .to(Pair);
    const run = buildSync(builder, mode);
    expect(run(2)).toEqual(builder.build()(2));
    expect(run(2)).toBeInstanceOf(Pair);
    // a result with nested fork tuples still carries its shape for the free flatten
    const nested = buildSync(pipe<number>().fork(identity, fork((x: number) => x + 1, (x: number) => x + 2)), mode)(1);
    expect(nested).toEqual([1, [2, 3]]);
    expect(flatten(nested)).toEqual([1, 2, 3]);
  });

  it("wraps throws as build() does, at every level", () => {
    const inner = pipe<number>()
      .step((x) => x)
      .step(function parse(): number {
        throw new Error("nope");
      })
      .build();
    const error = thrown(() => buildSync(pipe<number>().step((x) => x).fork(identity, inner), mode)(1));
    expect(error).toBeInstanceOf(PipelineStepError);
    expect((error as PipelineStepError).message).toBe("step 2 (fork(identity, pipeline)) failed: PipelineStepError: step 2 (parse) failed: nope");
  });

  it("refuses, while building, a step that always returns a Promise", () => {
    const asyncStep = pipe<number>().step((x) => x).step(async function load(x: number) {
      return x;
    });
    expect(() => buildSync(asyncStep as never, mode)).toThrow(PipelineDefinitionError);
    expect(() => buildSync(asyncStep as never, mode)).toThrow("buildSync(): step 2 (load) always returns a Promise; use .build()");
    const asyncBranch = pipe<number>().fork(identity, async (x) => x);
    expect(() => buildSync(asyncBranch as never, mode)).toThrow(/step 1 .* always returns a Promise/);
    const asyncSub = pipe<number>().step(pipe<number>().step(async (x) => x).build());
    expect(() => buildSync(asyncSub as never, mode)).toThrow(/step 1 \(pipeline\) always returns a Promise/);
  });

  it("a Promise as the result (a step whose type lied) is an error naming the last step, not a silent Promise", async () => {
    const lying = ((x: number) => Promise.resolve(x)) as unknown as (x: number) => number;
    const run = buildSync(pipe<number>().step((x) => x + 1).step(lying), mode);
    const error = thrown(() => run(1));
    expect(error).toBeInstanceOf(PipelineStepError);
    expect((error as PipelineStepError).step).toBe(2);
    expect((error as PipelineStepError).cause).toBeInstanceOf(MemopipeError);
    expect((error as Error).message).toMatch(/returned a Promise in a pipeline built with \.buildSync\(\).*use \.build\(\)/);
    // a rejected one is handled: no unhandled rejection stops the process (vitest would report it)
    const rejecting = ((): number => Promise.reject(new Error("late")) as never) as (x: number) => number;
    expect(() => buildSync(pipe<number>().step(rejecting), mode)(1)).toThrow(PipelineStepError);
    await new Promise((r) => setTimeout(r, 5));
  });

  it("a Promise from a step in the middle is passed on as it is (the types are trusted; build() awaits it)", async () => {
    const lying = ((x: number) => Promise.resolve(x)) as unknown as (x: number) => number;
    const seen: unknown[] = [];
    const builder = pipe<number>()
      .step(lying)
      .step((x) => {
        seen.push(x);
        return 0;
      });
    expect(buildSync(builder, mode)(1)).toBe(0);
    expect(seen[0]).toBeInstanceOf(Promise);
    await expect(builder.build()(1)).resolves.toBe(0);
    expect(seen[1]).toBe(1);
  });
});
