import { threadId } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { stage } from "../src/dsl/stage.js";
import { grid } from "../src/dsl/sweep/grid.js";
import { task } from "../src/dsl/sweep/task.js";
import { MemopipeError } from "../src/runtime/errors.js";
import { Runner } from "../src/runtime/runner/runner.js";
import type { halve, spin, square, unclonable } from "./fixtures/runner-points.js";
import { tempDir } from "./helpers/temp.js";

const POINTS_MODULE = new URL("./fixtures/runner-points.ts", import.meta.url);
const squareTask = task<typeof square>({ module: POINTS_MODULE, export: "square" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const withoutThread = (rs: readonly object[]) => rs.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "threadId")));

describe("Runner, in-process", () => {
  it("returns the results in input order, whatever order the points finish in", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const runner = new Runner({ backend: "in-process", workers: 4, progress: false });
    const points = grid({ n: [5, 1, 4, 2, 3, 0, 6, 7] });
    const results = await runner.run(async ({ n }) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(n * 3);
      inFlight--;
      return { n, twice: n * 2 };
    }, points);
    expect(results).toEqual(points.map(({ n }) => ({ n, twice: n * 2 })));
    expect(maxInFlight).toBe(4);
  });

  it("runs one point at a time by default", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    await new Runner({ backend: "in-process", progress: false }).run(async ({ n }: { n: number }) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(2);
      inFlight--;
      return { n };
    }, grid({ n: [1, 2, 3] }));
    expect(maxInFlight).toBe(1);
  });

  it("gives a failed point an error record and completes the others; never rejects for a point", async () => {
    const runner = new Runner({ backend: "in-process", workers: 2, progress: false });
    const results = await runner.run(async ({ n }: { n: number }) => {
      if (n === 2) throw new TypeError("two is not allowed");
      if (n === 4) return Promise.reject(new Error("four rejected"));
      return { inv: 1 / n };
    }, grid({ n: [1, 2, 3, 4, 5] }));
    expect(results).toEqual([
      { inv: 1 },
      { n: 2, error: { name: "TypeError", message: "two is not allowed" } },
      { inv: 1 / 3 },
      { n: 4, error: { name: "Error", message: "four rejected" } },
      { inv: 0.2 },
    ]);
  });

  it("runs a task addressed by module and export in this thread", async () => {
    const results = await new Runner({ backend: "in-process", progress: false }).run(squareTask, grid({ n: [1, 2, 3] }));
    expect(results).toEqual([
      { n: 1, sq: 1, threadId },
      { n: 2, sq: 4, threadId },
      { n: 3, error: { name: "RangeError", message: "n = 3 is unlucky" } },
    ]);
  });

  it("re-running an interrupted sweep of a memoized stage computes only the missing points", async () => {
    const dir = tempDir("memopipe-runner-");
    let calls = 0;
    let interruptAfter = 3;
    const simulate = stage(
      "simulate",
      ({ n, s }: { n: number; s: string }) => {
        calls++;
        if (calls > interruptAfter) throw new Error("interrupted");
        return { label: `${s}${n}`, sq: n * n };
      },
      { cache: { dir } },
    );
    const points = grid({ n: [1, 2, 3, 4], s: ["a", "b"] });
    const runner = new Runner({ backend: "in-process", progress: false });

    const first = await runner.run(simulate, points);
    expect(first.filter((r) => !("error" in r))).toHaveLength(3);
    expect(first.filter((r) => "error" in r)).toHaveLength(5);

    calls = 0;
    interruptAfter = Infinity;
    const second = await runner.run(simulate, points);
    expect(calls).toBe(5); // the 3 points of the first run came from the cache
    expect(second).toEqual(points.map(({ n, s }) => ({ label: `${s}${n}`, sq: n * n })));

    calls = 0;
    await runner.run(simulate, points);
    expect(calls).toBe(0);
  });

  it("refuses bad options and bad arguments with a clear message", async () => {
    expect(() => new Runner({ backend: "loky" as never })).toThrow(/backend must be "in-process", "threads" or "bullmq"/);
    expect(() => new Runner({ backend: "threads", workers: 0 })).toThrow(/positive integer/);
    const runner = new Runner({ backend: "in-process", progress: false });
    await expect(runner.run(42 as never, [{}])).rejects.toThrow(MemopipeError);
    await expect(runner.run((() => ({})) as never, new Set([{}]) as never)).rejects.toThrow(/must be an array/);
    await expect(runner.run({ module: POINTS_MODULE, export: "nope" }, [{}])).rejects.toThrow(/no exported function 'nope'/);
    expect(() => task({ module: "./fixtures/runner-points.ts", export: "square" })).toThrow(/must be absolute/);
  });
});

describe("Runner, threads", () => {
  const runner = new Runner({ backend: "threads", workers: 2, progress: false });
  afterAll(() => runner.close());

  it("returns the same results as in-process, in input order, with error records", async () => {
    const points = grid({ n: [6, 1, 3, 2, 5, 4, 0] });
    const threaded = await runner.run(squareTask, points);
    const local = await new Runner({ backend: "in-process", progress: false }).run(squareTask, points);
    expect(withoutThread(threaded)).toEqual(withoutThread(local));
    expect(threaded[2]).toEqual({ n: 3, error: { name: "RangeError", message: "n = 3 is unlucky" } });
    for (const r of threaded) if (!("error" in r)) expect(r.threadId).not.toBe(threadId);
  });

  it("really runs on several threads", async () => {
    const points = grid({ n: [1, 2, 3, 4, 5, 6, 7, 8], ms: [60] });
    const results = await runner.run(task<typeof spin>({ module: POINTS_MODULE, export: "spin" }), points);
    expect(results.map((r) => ("error" in r ? r.error : r.n))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const threads = new Set(results.map((r) => ("error" in r ? -1 : r.threadId)));
    expect(threads.size).toBe(2);
    expect(threads.has(threadId)).toBe(false);
  });

  it("keeps the error's own name and message from an async task", async () => {
    const results = await runner.run(task<typeof halve>({ module: POINTS_MODULE, export: "halve" }), grid({ n: [2, 3, 4] }));
    expect(results).toEqual([{ half: 1 }, { n: 3, error: { name: "OddError", message: "3 is odd" } }, { half: 2 }]);
  });

  it("a result that cannot be copied back becomes an error record; the pool goes on", async () => {
    const results = await runner.run(task<typeof unclonable>({ module: POINTS_MODULE, export: "unclonable" }), grid({ n: [1] }));
    expect(results[0]).toMatchObject({ n: 1, error: { name: "DataCloneError" } });
    // nor can a point that holds a function be sent to a worker
    const badPoint = await runner.run(squareTask, [{ n: 2 }, { n: 5, f: () => 5 }]);
    expect(badPoint[0]).toMatchObject({ n: 2, sq: 4 });
    expect(badPoint[1]).toMatchObject({ n: 5, error: { name: "DataCloneError" } });
    const after = await runner.run(squareTask, grid({ n: [4] }));
    expect(after).toMatchObject([{ n: 4, sq: 16 }]);
  });

  it("fails the run (not a point) when the export does not exist, and refuses a plain function", async () => {
    await expect(runner.run({ module: POINTS_MODULE, export: "missing" }, [{ n: 1 }])).rejects.toThrow(/no exported function 'missing'.*'square'/);
    await expect(runner.run(({ n }: { n: number }) => ({ n }), [{ n: 1 }])).rejects.toThrow(/cannot send a function to a worker thread/);
  });
});

describe("Runner progress", () => {
  const capture = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (s: string) => (chunks.push(s), true) } };
  };

  it("writes plain lines when piped: a start line, at most one per 10% here, and a final line", async () => {
    const { chunks, stream } = capture(false);
    const runner = new Runner({ backend: "in-process", progress: { stream } });
    await runner.run(({ n }: { n: number }) => {
      if (n % 25 === 0) throw new Error("every 25th fails");
      return { n };
    }, grid({ n: Array.from({ length: 100 }, (_, i) => i + 1) }));
    const lines = chunks.join("").trimEnd().split("\n");
    expect(lines[0]).toBe("0/100 points");
    expect(lines.at(-1)).toMatch(/^100\/100 points, 4 failed, done in \d+\.\ds$/);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines.slice(1, -1)) expect(line).toMatch(/^\d+\/100 points(, \d+ failed)?, eta \d+s$/);
  });

  it("a line per second on a slow sweep, with the label", async () => {
    const { chunks, stream } = capture(false);
    const runner = new Runner({ backend: "in-process", progress: { stream, label: "slow", everySeconds: 0.05, everyFraction: 1 } });
    await runner.run(async ({ n }: { n: number }) => (await sleep(30), { n }), grid({ n: [1, 2, 3, 4, 5, 6] }));
    const lines = chunks.join("").trimEnd().split("\n");
    expect(lines[0]).toBe("slow: 0/6 points");
    expect(lines.some((l) => /^slow: [1-5]\/6 points, eta \d+s$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^slow: 6\/6 points, done in/);
  });

  it("draws a bar with an ETA on a terminal, and nothing when off", async () => {
    const { chunks, stream } = capture(true);
    await new Runner({ backend: "in-process", progress: { stream } }).run(({ n }: { n: number }) => ({ n }), grid({ n: [1, 2, 3] }));
    const out = chunks.join("");
    expect(out).toMatch(/3\/3 points/);
    expect(out).toMatch(/ETA/);
    expect(out).toMatch(/100%/);
    const off = capture(true);
    await new Runner({ backend: "in-process", progress: false }).run(({ n }: { n: number }) => ({ n }), grid({ n: [1] }));
    expect(off.chunks).toEqual([]);
  });
});
