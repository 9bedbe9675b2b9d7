import { describe, expect, it } from "vitest";
import { NotATupleError, PipelineStepError, flatten, fork, identity, merge, pipe, to } from "../src/index.js";

/**
 * Sub-pipelines written out in place by the code generator (src/runtime/generate.ts), against the
 * interpreter, which calls them: both must give the same values, the same errors at the same
 * levels, the same concurrency.
 */
const modes = ["codegen", "interpret"] as const;
type Mode = (typeof modes)[number];
function build<F>(builder: { build(): F }, mode: Mode): F {
  return (builder as unknown as { build(mode: Mode): F }).build(mode);
}

/** The error a call throws or rejects with. */
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

/** The chain of `PipelineStepError`s, outermost first, as [step, stepName] pairs, then the cause's message. */
function levels(error: unknown): unknown[] {
  const out: unknown[] = [];
  let e = error;
  while (e instanceof PipelineStepError) {
    out.push([e.step, e.stepName]);
    e = e.cause;
  }
  out.push((e as Error).message);
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 1));

/** A sub-pipeline with its own store and ingest: k = x; (x + 1) * k - 1. */
const sub = () =>
  pipe<number>()
    .store("k")
    .step((x) => x + 1)
    .step((x: number, k: number) => x * k)
    .ingestAfter("k")
    .step((x) => x - 1)
    .build();
const subOf = (x: number) => (x + 1) * x - 1;

describe("generated code writes sub-pipelines out in place", () => {
  it("as a step and as fork branches (the fast path is taken: no call to the sub-pipeline)", () => {
    const inner = sub();
    const run = build(
      pipe<number>()
        .store("k")
        .step(inner)
        .fork((x) => x * 2, inner, identity)
        .merge((a, b, c) => [a, b, c])
        .step((t: number[], k: number) => [...t, k])
        .ingestAfter("k"),
      "codegen",
    );
    const x1 = subOf(3);
    expect(run(3)).toEqual([x1 * 2, subOf(x1), x1, 3]);
    const source = String(run);
    // two blocks (the step and the branch), each with its own continuation
    expect(source.match(/\bb\d+: \{/g)).toEqual(["b1: {", "b2: {"]);
    expect(source.match(/\bR\d+\(/g)).toEqual(["R1(", "R2("]);
  });
});

describe("generated code writes the free combinators out in place", () => {
  it("a fork(...) step fused with a merge(h) step, a fork(...) branch, identity", () => {
    const h = (a: number, b: number, c: readonly [number, number]) => a + b + c[0] * c[1];
    const run = build(
      pipe<number>()
        .step(fork((x: number) => x + 1, identity, fork((x: number) => x * 2, identity)))
        .step(merge(h)),
      "codegen",
    );
    expect(run(3)).toBe(4 + 3 + 6 * 3);
    const source = String(run);
    // the nested fork's branches in locals, identity an assignment, h called with the results
    expect(source).toMatch(/\bt1_0 = c\d+\(v\);/);
    expect(source).toMatch(/\bt1_1 = v;/);
    expect(source).toMatch(/\bv = c\d+\(r0_0, r0_1, r0_2\);/);
  });
});

describe.each(modes)("free combinators in place (%s)", (mode) => {
  class Pair {
    constructor(
      readonly a: number,
      readonly b: number,
    ) {}
  }

  it("give the same values, tuples and shapes as calling them", async () => {
    expect(build(pipe<number>().step(fork((x: number) => x, (x: number) => -x)).step(to(Pair)), mode)(2)).toEqual(new Pair(2, -2));
    expect(build(pipe<number>().step(identity).step(fork(identity, (x: number) => `${x}`)), mode)(7)).toEqual([7, "7"]);
    const nested = build(pipe<number>().fork(fork(identity, (x) => x + 1), identity), mode)(1);
    expect(nested).toEqual([[1, 2], 1]);
    expect(flatten(nested)).toEqual([1, 2, 1]);
    expect(build(pipe<number>().fork(fork(identity, (x) => x + 1), identity).flatten(), mode)(1)).toEqual([1, 2, 1]);
    // a nested fork with an async branch: that branch's tuple is a Promise, the others start anyway
    const order: string[] = [];
    const run = build(
      pipe<number>()
        .fork(
          fork(
            async (x: number) => {
              await tick();
              order.push("async");
              return x;
            },
            (x: number) => x + 1,
          ),
          (x) => {
            order.push("other");
            return x * 10;
          },
        )
        .flatten(),
      mode,
    );
    await expect(run(1)).resolves.toEqual([1, 2, 10]);
    expect(order).toEqual(["other", "async"]);
    // an async fork(...) as a step: the pipeline is always async
    const asyncStep = build(pipe<number>().step(fork(async (x: number) => x, (x: number) => x + 1)).step(merge((a: number, b: number) => a * b)), mode);
    await expect(asyncStep(2)).resolves.toBe(6);
  });

  it("name the failing step: a branch of a fork(...) step, a nested fork's branch, merge(h), a lone merge on a value", async () => {
    const boom = (): number => {
      throw new Error("boom");
    };
    const asStep = build(pipe<number>().step((x) => x).step(fork(identity, boom)).step(merge((a: number, b: number) => a + b)), mode);
    const stepError = await failure(() => asStep(1));
    expect(stepError).toMatchObject({ step: 2 });
    expect((stepError as PipelineStepError).cause).toMatchObject({ message: "boom" });
    const nested = build(pipe<number>().fork(identity, fork(identity, boom)), mode);
    expect(levels(await failure(() => nested(1)))).toEqual([[1, "fork(identity, anonymous function)"], "boom"]);
    const badMerge = build(
      pipe<number>()
        .step(fork(identity, identity))
        .step(
          merge((a: number, b: number): number => {
            throw new Error(`merge ${a} ${b}`);
          }),
        ),
      mode,
    );
    const mergeError = await failure(() => badMerge(1));
    expect(mergeError).toMatchObject({ step: 2 });
    expect(levels(mergeError).slice(1)).toEqual(["merge 1 1"]);
    // an always-async fork(...) as a branch: its synchronous throw is its rejection, the next branch runs
    const ran: string[] = [];
    const alwaysAsync = build(
      pipe<number>().fork(fork(async (x: number) => x, boom), (x) => {
        ran.push("next");
        return x;
      }),
      mode,
    );
    const rejected = alwaysAsync(1);
    expect(rejected).toBeInstanceOf(Promise);
    const rejection = await failure(() => rejected);
    expect(rejection).toMatchObject({ name: "PipelineStepError", step: 1 });
    expect(levels(rejection).slice(1)).toEqual(["boom"]);
    expect(ran).toEqual(["next"]);
    // a free merge that does not follow a fork still checks its input
    const lone = build(pipe<number>().step(merge((a: number) => a) as unknown as (x: number) => number), mode);
    const error = await failure(() => lone(1));
    expect((error as PipelineStepError).cause).toBeInstanceOf(NotATupleError);
  });
});

describe.each(modes)("sub-pipelines in place (%s)", (mode) => {
  it("keep their own memory, separate from the parent's, under the same key", () => {
    const inner = sub();
    const run = build(
      pipe<number>()
        .step((x) => x * 10)
        .store("k")
        .step(inner)
        .fork(inner, (x) => x)
        .step((t: readonly [number, number], k: number) => [...t, k])
        .ingestAfter("k"),
      mode,
    );
    const a = subOf(20);
    expect(run(2)).toEqual([subOf(a), a, 20]);
  });

  it("nest (a sub-pipeline of a sub-pipeline of a branch) and flatten their fork tuples", () => {
    const innermost = pipe<number>().fork((x) => x + 1, (x) => x + 2).build();
    const middle = pipe<number>().step((x) => x * 10).step(innermost).build();
    const run = build(pipe<number>().fork(identity, middle).flatten(), mode);
    expect(run(1)).toEqual([1, 11, 12]);
    const nested = build(pipe<number>().fork(identity, middle), mode)(1);
    expect(nested).toEqual([1, [11, 12]]);
    expect(flatten(nested)).toEqual([1, 11, 12]);
  });

  it("continue asynchronously from inside a sub-pipeline step, with both memories intact", async () => {
    const inner = pipe<number>()
      .store("k")
      .step(async (x) => {
        await tick();
        return x + 1;
      })
      .step((x: number, k: number) => x * k)
      .ingestAfter("k")
      .build();
    const run = build(
      pipe<number>()
        .store("k")
        .step((x) => x + 1)
        .step(inner)
        .step((x: number, k: number) => [x, k])
        .ingestAfter("k"),
      mode,
    );
    const result = run(3);
    expect(result).toBeInstanceOf(Promise);
    // concurrent runs: every run has its own memories
    expect(await Promise.all([result, run(4), run(5)])).toEqual([
      [5 * 4, 3],
      [6 * 5, 4],
      [7 * 6, 5],
    ]);
  });

  it("a sub-pipeline that returns a Promise only sometimes, as a step and as a branch", async () => {
    const inner = pipe<number>()
      .store("k")
      .step((x) => (x > 0 ? Promise.resolve(x + 1) : x - 1))
      .step((x: number, k: number) => x + k)
      .ingestAfter("k")
      .build();
    const asStep = build(pipe<number>().step(inner).step((x) => x * 2), mode);
    expect(asStep(-2)).toBe(-10);
    await expect(asStep(2)).resolves.toBe(10);
    const asBranch = build(pipe<number>().fork(inner, (x) => x).merge((a, b) => [a, b]), mode);
    expect(asBranch(-2)).toEqual([-5, -2]);
    await expect(asBranch(2)).resolves.toEqual([5, 2]);
  });

  it("start every branch before awaiting the one whose sub-pipeline went asynchronous", async () => {
    const order: string[] = [];
    const slow = pipe<number>()
      .step((x) => {
        order.push("sub start");
        return x;
      })
      .step(async (x) => {
        await tick();
        order.push("sub end");
        return x * 10;
      })
      .step((x) => x + 1)
      .build();
    const run = build(
      pipe<number>().fork(slow, (x) => {
        order.push("other branch");
        return x;
      }),
      mode,
    );
    await expect(run(2)).resolves.toEqual([21, 2]);
    expect(order).toEqual(["sub start", "other branch", "sub end"]);
  });

  it("wrap a synchronous throw once per level, as a step and as a branch", async () => {
    const inner = pipe<number>()
      .step((x) => x)
      .step(function parse(): number {
        throw new Error("nope");
      })
      .build();
    const asStep = build(pipe<number>().step((x) => x).step(inner), mode);
    expect(levels(await failure(() => asStep(1)))).toEqual([[2, "pipeline"], [2, "parse"], "nope"]);
    const asBranch = build(pipe<number>().fork(identity, inner).merge((a, b) => a + b), mode);
    expect(levels(await failure(() => asBranch(1)))).toEqual([[1, "fork(identity, pipeline)"], [2, "parse"], "nope"]);
    // a plain branch after a written-out one still names the fork
    const after = build(
      pipe<number>().fork(sub(), (): number => {
        throw new Error("second");
      }),
      mode,
    );
    expect(levels(await failure(() => after(1)))).toEqual([[1, "fork(pipeline, anonymous function)"], "second"]);
  });

  it("wrap a rejection after a sub-pipeline went asynchronous, and a throw after that, at every level", async () => {
    const innermost = pipe<number>()
      .step(async (x) => x)
      .step(function late(): number {
        throw new Error("late");
      })
      .build();
    const middle = pipe<number>().step((x) => x).step((x) => x).step(innermost).build();
    const run = build(pipe<number>().step(middle), mode);
    expect(levels(await failure(() => run(1)))).toEqual([[1, "pipeline"], [3, "pipeline"], [2, "late"], "late"]);
    const inBranch = build(pipe<number>().fork((x) => x, middle).merge((a, b) => a + b), mode);
    expect(levels(await failure(() => inBranch(1)))).toEqual([[1, "fork(anonymous function, pipeline)"], [3, "pipeline"], [2, "late"], "late"]);
    // a step of the parent that throws after the sub-pipeline resumed is the parent's own error
    const resumed = pipe<number>()
      .step(async (x) => x + 1)
      .build();
    const parent = build(
      pipe<number>()
        .step(resumed)
        .step(function check(): number {
          throw new Error("parent");
        }),
      mode,
    );
    expect(levels(await failure(() => parent(1)))).toEqual([[2, "check"], "parent"]);
  });

  it("an always-async sub-pipeline in a branch rejects without stopping the other branches", async () => {
    const ran: string[] = [];
    const inner = pipe<number>()
      .step((): number => {
        throw new Error("before the async step");
      })
      .step(async (x) => x)
      .build();
    const run = build(
      pipe<number>().fork(inner, (x) => {
        ran.push("second branch");
        return x;
      }),
      mode,
    );
    const result = run(1);
    expect(result).toBeInstanceOf(Promise);
    expect(levels(await failure(() => result))).toEqual([[1, "fork(pipeline, anonymous function)"], [1, "anonymous function"], "before the async step"]);
    expect(ran).toEqual(["second branch"]);
    // as a step, the parent is always async too: it rejects
    const asStep = build(pipe<number>().step(inner), mode);
    const stepResult = asStep(1);
    expect(stepResult).toBeInstanceOf(Promise);
    expect(levels(await failure(() => stepResult))).toEqual([[1, "pipeline"], [1, "anonymous function"], "before the async step"]);
  });

  it("sub-pipelines past the budget (long, deep) are called, with the same results and errors", async () => {
    let long = pipe<number>();
    for (let k = 0; k < 60; k++) long = long.step((x: number) => x + 1) as never;
    const run = build(pipe<number>().step(long.build()).fork(long.build(), identity), mode);
    expect(run(0)).toEqual([120, 60]);
    // eight levels deep, the innermost throws
    let deep = pipe<number>()
      .step((x) => x)
      .step(function bottom(): number {
        throw new Error("bottom");
      })
      .build();
    for (let d = 0; d < 7; d++) deep = pipe<number>().step((x) => x).step(deep).build();
    const error = await failure(() => build(pipe<number>().step(deep), mode)(1));
    expect(levels(error)).toEqual([[1, "pipeline"], ...Array.from({ length: 7 }, () => [2, "pipeline"]), [2, "bottom"], "bottom"]);
  });

  it("a sub-pipeline without steps (only stores) is its input", () => {
    const empty = pipe<number>().store("k").build();
    expect(build(pipe<number>().step(empty).fork(empty, (x) => -x), mode)(4)).toEqual([4, -4]);
  });

  it("a free fork() of sub-pipelines as a branch", () => {
    const inner = sub();
    const run = build(pipe<number>().fork(fork(inner, identity), inner).flatten(), mode);
    expect(run(2)).toEqual([subOf(2), 2, subOf(2)]);
  });
});

describe.each(modes)("steps with ingests, every argument shape (%s)", (mode) => {
  it("f(v, m), f(m, v), f(a, b, v, c): values, errors naming the step, async continuation", async () => {
    const seen: unknown[][] = [];
    const run = build(
      pipe<number>()
        .store("a")
        .step((x) => x + 1)
        .store("b")
        .step((x: number, a: number) => x * 10 + a)
        .ingestAfter("a")
        .step((b: number, x: number) => x * 10 + b)
        .ingestBefore("b")
        .step((a: number, b: number, x: number, c: number) => {
          seen.push([a, b, x, c]);
          return x;
        })
        .ingestBefore("a")
        .ingestBefore("b")
        .ingestAfter("a"),
      mode,
    );
    expect(run(1)).toBe(212);
    expect(seen).toEqual([[1, 2, 212, 1]]);
    const failing = build(
      pipe<number>()
        .store("a")
        .step((x) => x)
        .step(function before(_a: number, _x: number): number {
          throw new Error("before");
        })
        .ingestBefore("a"),
      mode,
    );
    expect(levels(await failure(() => failing(1)))).toEqual([[2, "before"], "before"]);
    const later = build(
      pipe<number>()
        .store("a")
        .step(async (x) => x + 1)
        .step((a: number, x: number) => a + x)
        .ingestBefore("a")
        .step(function after(_x: number, _a: number): number {
          throw new Error("after");
        })
        .ingestAfter("a"),
      mode,
    );
    expect(levels(await failure(() => later(1)))).toEqual([[3, "after"], "after"]);
    expect(await build(pipe<number>().store("a").step(async (x) => x + 1).step((a: number, x: number) => a * 100 + x).ingestBefore("a"), mode)(3)).toBe(304);
  });
});
