/**
 * The threads Runner's chunks, per-point timeout, thread deaths and sweep-level abort, with real
 * worker threads (the task functions are in test/fixtures/runner-points.ts).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { grid } from "../../src/dsl/sweep/grid.js";
import { task } from "../../src/dsl/sweep/task.js";
import { MemopipeError } from "../../src/runtime/errors.js";
import { RunAbortedError } from "../../src/runtime/runner/aborted.js";
import { Runner } from "../../src/runtime/runner/runner.js";
import type { countForever, echo, exitAt, neverAt, slow, stuckAt } from "../fixtures/runner-points.js";

const MODULE = new URL("../fixtures/runner-points.ts", import.meta.url);
const echoTask = task<typeof echo>({ module: MODULE, export: "echo" });
const stuckTask = task<typeof stuckAt>({ module: MODULE, export: "stuckAt" });
const neverTask = task<typeof neverAt>({ module: MODULE, export: "neverAt" });
const exitTask = task<typeof exitAt>({ module: MODULE, export: "exitAt" });
const slowTask = task<typeof slow>({ module: MODULE, export: "slow" });
const countTask = task<typeof countForever>({ module: MODULE, export: "countForever" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ns = (k: number) => Array.from({ length: k }, (_, i) => i);

/** The longest run of consecutive results computed on the same thread. */
function longestRun(threads: readonly number[]): number {
  let best = 0;
  let run = 0;
  threads.forEach((t, i) => {
    run = i > 0 && threads[i - 1] === t ? run + 1 : 1;
    best = Math.max(best, run);
  });
  return best;
}

function capture() {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY: false, write: (s: string) => (chunks.push(s), true) } };
}

describe("Runner, threads: chunks", () => {
  it("sends tiny points in chunks (auto), results in input order, progress counting every point", async () => {
    const { chunks, stream } = capture();
    const runner = new Runner({ backend: "threads", workers: 2, progress: { stream } });
    try {
      const points = grid({ n: ns(20_000) });
      const results = await runner.run(echoTask, points);
      expect(results.map((r) => ("error" in r ? -1 : r.n))).toEqual(ns(20_000));
      const threads = results.map((r) => ("error" in r ? -1 : r.threadId));
      expect(new Set(threads).size).toBe(2);
      // one point per message would interleave the two threads point by point
      expect(longestRun(threads)).toBeGreaterThanOrEqual(50);
      const lines = chunks.join("").trimEnd().split("\n");
      expect(lines[0]).toBe("0/20000 points");
      expect(lines.at(-1)).toMatch(/^20000\/20000 points, done in \d+\.\ds$/);
    } finally {
      await runner.close();
    }
  });

  it("a fixed chunk size is exactly that many points per message; chunk 1 is one point each", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false, chunk: 1000 });
    const one = new Runner({ backend: "threads", workers: 2, progress: false, chunk: 1 });
    try {
      const results = await runner.run(echoTask, grid({ n: ns(2000) }));
      const threads = results.map((r) => ("error" in r ? -1 : r.threadId));
      expect(new Set(threads.slice(0, 1000)).size).toBe(1);
      expect(new Set(threads.slice(1000)).size).toBe(1);
      expect(threads[0]).not.toBe(threads[1000]);
      const single = await one.run(echoTask, grid({ n: ns(300) }));
      expect(single.map((r) => ("error" in r ? -1 : r.n))).toEqual(ns(300));
    } finally {
      await Promise.all([runner.close(), one.close()]);
    }
  });

  it("refuses a bad chunk, timeout or signal with a clear message", async () => {
    expect(() => new Runner({ backend: "threads", chunk: 0 })).toThrow(/chunk must be "auto" or a positive integer, got 0/);
    expect(() => new Runner({ backend: "threads", chunk: 2.5 })).toThrow(MemopipeError);
    expect(() => new Runner({ backend: "threads", timeout: -1 })).toThrow(/timeout must be a positive number of milliseconds, got -1/);
    const runner = new Runner({ backend: "threads", workers: 1, progress: false });
    await expect(runner.run(echoTask, [{ n: 1 }], { timeout: Number.NaN })).rejects.toThrow(/timeout must be a positive number/);
    await expect(runner.run(echoTask, [{ n: 1 }], { signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
    await runner.close();
  });
});

describe("Runner, threads: timeout", () => {
  it("a point in an endless loop becomes a TimeoutError record; its thread is replaced and the sweep goes on", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false });
    try {
      const points = grid({ n: ns(60), stuck: [17] });
      const results = await runner.run(stuckTask, points, { timeout: 300 });
      expect(results[17]).toEqual({ n: 17, stuck: 17, error: { name: "TimeoutError", message: expect.stringMatching(/timeout of 300 ms: its worker thread was stopped and replaced/), code: "MEMOPIPE_POINT_TIMEOUT" } });
      expect(results.filter((_, i) => i !== 17)).toEqual(ns(60).filter((n) => n !== 17).map((n) => ({ n })));
      // the pool is whole again
      const after = await runner.run(echoTask, grid({ n: ns(10) }));
      expect(after.map((r) => ("error" in r ? -1 : r.n))).toEqual(ns(10));
      expect(new Set(after.map((r) => ("error" in r ? -1 : r.threadId))).size).toBeGreaterThanOrEqual(1);
    } finally {
      await runner.close();
    }
  });

  it("inside a chunk: the points before the stuck one are computed again, those after it too, none lost", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false, chunk: 10, timeout: 250 });
    try {
      const points = grid({ n: ns(40), stuck: [5, 33] });
      const results = await runner.run(stuckTask, points);
      for (const [i, { n, stuck }] of points.entries()) {
        if (n === stuck) expect(results[i]).toMatchObject({ n, stuck, error: { code: "MEMOPIPE_POINT_TIMEOUT" } });
        else expect(results[i]).toEqual({ n });
      }
    } finally {
      await runner.close();
    }
  });

  it("an async point that never settles times out too; without a timeout the others still complete", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false, timeout: 200 });
    try {
      const results = await runner.run(neverTask, grid({ n: ns(8), stuck: [2] }));
      expect(results[2]).toMatchObject({ n: 2, error: { name: "TimeoutError", code: "MEMOPIPE_POINT_TIMEOUT" } });
      expect(results.filter((_, i) => i !== 2)).toEqual([0, 1, 3, 4, 5, 6, 7].map((n) => ({ n })));
    } finally {
      await runner.close();
    }
  });

  it("a thread that dies on a point (process.exit in the task) gives that point a WorkerThreadError record", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false });
    try {
      const results = await runner.run(exitTask, grid({ n: ns(30), fatal: [4] }));
      expect(results[4]).toMatchObject({ n: 4, fatal: 4, error: { name: "WorkerThreadError", code: "MEMOPIPE_WORKER_DIED", message: expect.stringMatching(/exited \(code 3\)/) } });
      expect(results.filter((_, i) => i !== 4)).toEqual(ns(30).filter((n) => n !== 4).map((n) => ({ n })));
    } finally {
      await runner.close();
    }
  });

  it("threads that die before computing any point fail the run instead of being restarted forever", async () => {
    const runner = new Runner({ backend: "threads", workers: 1, progress: false });
    try {
      const exits = { module: new URL("../fixtures/runner-exits-on-import.ts", import.meta.url), export: "never" };
      await expect(runner.run(exits, [{ n: 1 }, { n: 2 }])).rejects.toThrow(/worker threads keep dying before computing a point/);
    } finally {
      await runner.close();
    }
  });
});

describe("Runner, threads: signal", () => {
  it("an abort stops the run: RunAbortedError with the results so far, progress says stopped, the runner works afterwards", async () => {
    const controller = new AbortController();
    const chunks: string[] = [];
    // aborted as soon as progress reports a finished point (a line per 10% here)
    const stream = { isTTY: false, write: (s: string) => (chunks.push(s), /^[1-9]/.test(s) && controller.abort(new Error("enough")), true) };
    const runner = new Runner({ backend: "threads", workers: 2, progress: { stream } });
    try {
      const points = grid({ n: ns(40), ms: [40] });
      const error = await runner.run(slowTask, points, { signal: controller.signal }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RunAbortedError);
      const aborted = error as RunAbortedError;
      expect(aborted.code).toBe("MEMOPIPE_RUN_ABORTED");
      expect(aborted.cause).toEqual(new Error("enough"));
      expect(aborted.results).toHaveLength(40);
      expect(aborted.completed).toBeGreaterThan(0);
      expect(aborted.completed).toBeLessThan(40);
      expect(aborted.message).toBe(`the run was aborted after ${aborted.completed} of 40 points: enough`);
      aborted.results.forEach((r, i) => {
        if (r !== undefined) expect(r).toEqual({ n: i });
      });
      expect(aborted.results.filter((r) => r !== undefined)).toHaveLength(aborted.completed);
      expect(chunks.join("").trimEnd().split("\n").at(-1)).toMatch(new RegExp(`^${aborted.completed}/40 points, stopped in`));
      const after = await runner.run(echoTask, grid({ n: ns(5) }));
      expect(after.map((r) => ("error" in r ? -1 : r.n))).toEqual(ns(5));
    } finally {
      await runner.close();
    }
  });

  it("the threads computing points are stopped by the abort (a point in an endless loop included)", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    try {
      const controller = new AbortController();
      const run = runner.run(countTask, [{ counter }, { counter }, { counter }], { signal: controller.signal });
      while (Atomics.load(counter, 0) === 0) await sleep(10);
      controller.abort();
      await expect(run).rejects.toBeInstanceOf(RunAbortedError);
      const before = Atomics.load(counter, 0);
      await sleep(100);
      expect(Atomics.load(counter, 0)).toBe(before);
    } finally {
      await runner.close();
    }
  });

  it("an already aborted signal computes nothing", async () => {
    const runner = new Runner({ backend: "threads", workers: 1, progress: false });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    try {
      const error = await runner.run(countTask, [{ counter }], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunAbortedError);
      expect((error as RunAbortedError).results).toEqual([undefined]);
      expect((error as RunAbortedError).message).toBe("the run was aborted after 0 of 1 point");
      await sleep(50);
      expect(Atomics.load(counter, 0)).toBe(0);
    } finally {
      await runner.close();
    }
  });
});

describe("Runner, threads: lifetime", () => {
  it("runner.close() during a run fails that run with a clear error, and the runner can run again", async () => {
    const runner = new Runner({ backend: "threads", workers: 2, progress: false });
    try {
      const run = runner.run(slowTask, grid({ n: ns(40), ms: [50] })).catch((e: unknown) => e);
      await sleep(300);
      await runner.close();
      expect(await run).toBeInstanceOf(MemopipeError);
      expect(String(await run)).toMatch(/runner.close\(\) was called while a run was under way/);
      const after = await runner.run(echoTask, grid({ n: [1, 2] }));
      expect(after.map((r) => ("error" in r ? -1 : r.n))).toEqual([1, 2]);
    } finally {
      await runner.close();
    }
  });

  it("a program that never closes its Runner exits once its sweep is done (idle threads, timers and all)", () => {
    const dist = new URL("../../dist/index.js", import.meta.url).href;
    const program = `import { Runner, task } from ${JSON.stringify(dist)};
const runner = new Runner({ backend: "threads", workers: 2, progress: false });
const out = await runner.run(task({ module: new URL(${JSON.stringify(MODULE.href.replace(/\.ts$/, ".ts"))}), export: "echo" }), [{ n: 1 }, { n: 2 }], { timeout: 60_000 });
console.log(out.map((r) => r.n).join(","));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 30_000, cwd: fileURLToPath(new URL("../..", import.meta.url)) });
    expect(out.trim()).toBe("1,2");
  });
});

describe("Runner, in-process: timeout and signal", () => {
  it("a point past its timeout becomes a TimeoutError record (it is not awaited any more)", async () => {
    const runner = new Runner({ backend: "in-process", workers: 2, progress: false });
    const results = await runner.run(async ({ n }: { n: number }) => (n === 1 ? new Promise<never>(() => {}) : { n }), grid({ n: [0, 1, 2] }), { timeout: 50 });
    expect(results).toEqual([{ n: 0 }, { n: 1, error: { name: "TimeoutError", message: expect.stringMatching(/timeout of 50 ms \(in-process/), code: "MEMOPIPE_POINT_TIMEOUT" } }, { n: 2 }]);
  });

  it("an abort rejects with the results so far and starts no new point", async () => {
    const runner = new Runner({ backend: "in-process", progress: false });
    const controller = new AbortController();
    const started: number[] = [];
    const run = runner.run(
      async ({ n }: { n: number }) => {
        started.push(n);
        if (n === 2) controller.abort();
        await sleep(5);
        return { n };
      },
      grid({ n: ns(10) }),
      { signal: controller.signal },
    );
    const error = (await run.catch((e: unknown) => e)) as RunAbortedError;
    expect(error).toBeInstanceOf(RunAbortedError);
    expect(error.results).toEqual([{ n: 0 }, { n: 1 }, ...Array(8).fill(undefined)]);
    await sleep(30);
    expect(started).toEqual([0, 1, 2]);
  });
});
