/**
 * The bullmq Runner and the Runner's run options: an aborted `signal` withdraws the points still
 * queued and rejects with RunAbortedError; `timeout` is refused (a real redis-server, no worker,
 * so the points stay queued until the abort).
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grid, RunAbortedError, Runner, task } from "../../src/index.js";
import type { square } from "../fixtures/cluster/points.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";

const squareTask = task<typeof square>({ module: new URL("../fixtures/cluster/points.ts", import.meta.url), export: "square" });
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe("the bullmq Runner's run options", () => {
  it("an abort withdraws the queued points and rejects with RunAbortedError (nothing had finished)", async () => {
    const queue = "abort-withdraw";
    const runner = new Runner({ backend: "bullmq", connection: redis.url, queue, progress: false });
    const client = new Redis(redis.url);
    try {
      const controller = new AbortController();
      const run = runner.run(squareTask, grid({ n: [1, 2, 3, 4, 5] }), { signal: controller.signal });
      // once the points are in the queue (no worker takes them), abort
      for (let i = 0; (await client.llen(`bull:${queue}:wait`)) < 5; i++) {
        if (i > 300) throw new Error("the points never reached the queue");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      controller.abort();
      const error = (await run.catch((e: unknown) => e)) as RunAbortedError;
      expect(error).toBeInstanceOf(RunAbortedError);
      expect(error.results).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(error.completed).toBe(0);
      expect(await client.llen(`bull:${queue}:wait`)).toBe(0);
      // an already aborted signal sends nothing
      await expect(runner.run(squareTask, grid({ n: [1] }), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RunAbortedError);
      expect(await client.llen(`bull:${queue}:wait`)).toBe(0);
    } finally {
      client.disconnect();
      await runner.close();
    }
  });

  it("refuses a timeout, which it cannot enforce on another machine", async () => {
    const runner = new Runner({ backend: "bullmq", connection: redis.url, queue: "abort-timeout", progress: false });
    try {
      await expect(runner.run(squareTask, grid({ n: [1] }), { timeout: 1000 })).rejects.toThrow(/the bullmq backend has no per-point timeout/);
    } finally {
      await runner.close();
    }
  });
});
