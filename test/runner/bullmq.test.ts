/**
 * The bullmq Runner and `memopipe worker`, against a real redis-server (started by the harness on
 * 127.0.0.1 on a free port, stopped by PID) and real worker processes: same results as in-process,
 * and the faults of issue 8 — a worker SIGKILLed mid-job, a poison job, Redis restarted mid-sweep,
 * a worker running other code, a worker thread that dies, large values, graceful shutdown. Every
 * wait is bounded; the bounds are the documented ones (a dead worker's job is retried within
 * 2 × --lock-ms) plus slack for a loaded machine.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grid, Runner, task, WorkerCodeError, WorkerSetupError } from "../../src/index.js";
import type { square } from "../fixtures/cluster/points.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { tempDir } from "../helpers/temp.js";
import { startWorkerProcess, type WorkerProcess } from "../helpers/worker-process.js";

const POINTS = fileURLToPath(new URL("../fixtures/cluster/points.ts", import.meta.url));
const at = (name: string) => task({ module: new URL("../fixtures/cluster/points.ts", import.meta.url), export: name });
const squareTask = task<typeof square>({ module: new URL("../fixtures/cluster/points.ts", import.meta.url), export: "square" });
const LOCK_MS = 1_000;

let redis: RedisServer;
let queueNo = 0;
/** A queue of its own for each test. */
const nextQueue = () => `t${process.pid}-${queueNo++}`;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

function runner(queue: string, extra: Record<string, unknown> = {}, url = redis.url): Runner {
  return new Runner({ backend: "bullmq", connection: url, queue, progress: false, ...extra } as never);
}

/** The `start`/`done` lines the fixture tasks append to their log. */
function logLines(file: string): { what: string; n: number; pid: number; at: number }[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [what, n, pid, t] = l.split(" ");
      return { what: what!, n: Number(n), pid: Number(pid), at: Number(t) };
    });
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stopAll(...workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.exited));
}

describe("the bullmq Runner: same results as in-process", () => {
  it("a sweep on two worker processes returns what in-process returns, in input order (Maps, typed arrays, -0, BigInts)", async () => {
    const queue = nextQueue();
    const a = startWorkerProcess(redis.url, queue, ["--concurrency", "2"]);
    const b = startWorkerProcess(redis.url, queue, ["--concurrency", "2"]);
    await Promise.all([a.ready, b.ready]);
    const points = grid({ n: [0, 1, 2, 3, 4, 5, 6, 7] });
    const r = runner(queue);
    const remote = await r.run(squareTask, points);
    const local = await new Runner({ backend: "in-process", progress: false }).run(squareTask, points);
    expect(remote).toEqual(local);
    expect(Object.is((remote[3] as { negZero: number }).negZero, -0)).toBe(true);
    // a second run on the same Runner (connections opened again, or kept)
    expect(await r.run(squareTask, grid({ n: [9] }))).toEqual([expect.objectContaining({ n: 9, sq: 81 })]);
    await r.close();
    // one piped line per job, with the job, the task and the point. A worker writes its line after
    // BullMQ recorded the job's completion — the very script that tells the caller — so the caller
    // may have every result while a line is still on its way (it was, once, on a loaded machine:
    // 8 lines of 9, with all 9 results in hand): wait for the lines, then check there is no extra.
    const doneLines = () => [...a.lines, ...b.lines].filter((l) => / done mp-/.test(l));
    await waitFor("nine job lines", () => doneLines().length >= 9, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const done = doneLines();
    expect(done).toHaveLength(9);
    expect(done[0]).toMatch(/^\S+ done mp-[0-9a-f]+-\d+ test\/fixtures\/cluster\/points\.ts#square \d+\.\d{3}s attempt 1\/3 \{"n":\d\}$/);
    await stopAll(a, b);
  }, 90_000);

  it("a program that never calls runner.close() still exits once its sweeps are done", async () => {
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue);
    await w.ready;
    const dir = tempDir("memopipe-no-close-");
    const script = path.join(dir, "main.mts");
    const index = new URL("../../src/index.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { Runner, task } from ${JSON.stringify(index)};
const runner = new Runner({ backend: "bullmq", connection: ${JSON.stringify(redis.url)}, queue: ${JSON.stringify(queue)}, progress: false });
const t = task({ module: ${JSON.stringify(POINTS)}, export: "square" });
const a = await runner.run(t, [{ n: 2 }]);
await new Promise((r) => setTimeout(r, 50)); // something else between two sweeps
const b = await runner.run(t, [{ n: 3 }]);
console.log("done", a[0].sq, b[0].sq);\n`,
    );
    const { spawnSync } = await import("node:child_process");
    const ran = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8", timeout: 60_000 });
    expect(ran.signal, ran.stderr).toBeNull(); // not killed by the timeout: it exited by itself
    expect(ran.stdout.trim()).toBe("done 4 9");
    expect(ran.status).toBe(0);
    await stopAll(w);
  }, 90_000);

  it("a program that calls runner.close() a while after its last sweep exits 0 once it is closed (the QUITs were answered on connections that no longer held the process: exit 13)", async () => {
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue);
    await w.ready;
    const dir = tempDir("memopipe-late-close-");
    const script = path.join(dir, "main.mts");
    const index = new URL("../../src/index.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { Runner, task } from ${JSON.stringify(index)};
const runner = new Runner({ backend: "bullmq", connection: ${JSON.stringify(redis.url)}, queue: ${JSON.stringify(queue)}, progress: false });
const a = await runner.run(task({ module: ${JSON.stringify(POINTS)}, export: "square" }), [{ n: 2 }]);
await new Promise((r) => setTimeout(r, 400)); // past the event reader's idle close
await runner.close();
console.log("closed", a[0].sq);\n`,
    );
    const { spawnSync } = await import("node:child_process");
    const ran = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8", timeout: 60_000 });
    expect(ran.stdout.trim()).toBe("closed 4");
    expect(ran.status, ran.stderr).toBe(0);
    await stopAll(w);
  }, 90_000);

  it("a Runner whose Redis is not there says so once on stderr, instead of waiting in silence", async () => {
    const dir = tempDir("memopipe-no-redis-");
    const probe = (await import("node:net")).createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve)); // nobody listens there now
    const script = path.join(dir, "main.mts");
    const index = new URL("../../src/index.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { Runner, task } from ${JSON.stringify(index)};
const runner = new Runner({ backend: "bullmq", connection: "redis://127.0.0.1:${port}", queue: "q", progress: false });
await runner.run(task({ module: ${JSON.stringify(POINTS)}, export: "square" }), [{ n: 2 }]);\n`,
    );
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)) });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    try {
      await waitFor("the warning", () => /waiting for Redis/.test(err), 30_000);
      expect(err).toMatch(new RegExp(`\\[MEMOPIPE_REDIS_WAIT\\] Warning: the bullmq Runner is waiting for Redis at redis://127\\.0\\.0\\.1:${port} \\(queue 'q'\\)[^\\n]*: is it running, and is the connection right\\?`));
      await new Promise((r) => setTimeout(r, 300));
      expect(err.match(/waiting for Redis/g)).toHaveLength(1);
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  }, 60_000);

  it("a task that is not addressed by module and export, or a module outside the project, is refused before anything is sent", async () => {
    const r = runner(nextQueue());
    await expect(r.run((({ n }: { n: number }) => ({ n })) as never, [{ n: 1 }])).rejects.toThrow(/cannot send a function to another machine/);
    const outside = path.join(tempDir("memopipe-outside-"), "points.mjs");
    writeFileSync(outside, "export const f = ({ n }) => ({ n });\n");
    await expect(r.run(task({ module: outside, export: "f" }), [{ n: 1 }])).rejects.toThrow(/outside the project root/);
    await r.close();
    expect(() => new Runner({ backend: "bullmq", queue: "a:b" } as never)).toThrow(/queue must be a non-empty name without ':'/);
  });
});

describe("the bullmq Runner under faults", () => {
  it("a worker SIGKILLed mid-job: its jobs finish on the other worker within 2 × lock, one result per point, none lost, none logged twice", async () => {
    const queue = nextQueue();
    const log = path.join(tempDir("memopipe-kill-"), "log");
    const a = startWorkerProcess(redis.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)]);
    const b = startWorkerProcess(redis.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)]);
    await Promise.all([a.ready, b.ready]);
    const r = runner(queue);
    const points = grid({ n: [0, 1, 2, 3, 4, 5, 6, 7], ms: [1_500], log: [log] });
    const results = r.run(squareTask, points);
    const victim = a.child.pid!;
    await waitFor("worker A to start a point", () => logLines(log).some((l) => l.what === "start" && l.pid === victim));
    const killedAt = Date.now();
    a.child.kill("SIGKILL");
    const out = await results;
    await r.close();

    expect(out.map((o) => (o as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out.every((o) => !("error" in o) && (o as { sq: number }).sq === (o as { n: number }).n ** 2)).toBe(true);
    const lines = logLines(log);
    const doneBy = new Map<number, number[]>();
    for (const l of lines.filter((x) => x.what === "done")) doneBy.set(l.n, [...(doneBy.get(l.n) ?? []), l.at]);
    for (let n = 0; n < 8; n++) expect(doneBy.get(n), `point ${n} computed exactly once to the end`).toHaveLength(1);
    // what the victim had under way finished on the other worker, within the bound
    const interrupted = lines.filter((l) => l.what === "start" && l.pid === victim && !lines.some((d) => d.what === "done" && d.n === l.n && d.pid === victim));
    expect(interrupted.length).toBeGreaterThan(0);
    for (const l of interrupted) {
      const finished = doneBy.get(l.n)![0]!;
      // detection (≤ 2 × lock) + the point's own 1.5 s + slack for a loaded machine
      expect(finished - killedAt).toBeLessThan(2 * LOCK_MS + 1_500 + 4_000);
    }
    // the surviving worker logged each of its jobs once
    const jobIds = b.lines.filter((l) => / done mp-/.test(l)).map((l) => l.split(" ")[2]);
    expect(new Set(jobIds).size).toBe(jobIds.length);
    await stopAll(b);
  }, 90_000);

  it("a poison job fails after its retries, its error in the results; the other points go on", async () => {
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue, ["--concurrency", "2"]);
    await w.ready;
    const r = runner(queue, { attempts: 3 });
    const out = await r.run(at("poison"), grid({ n: [1, 2, 3, 4] }));
    await r.close();
    expect(out).toEqual([{ n: 1 }, { n: 2 }, { n: 3, error: { name: "RangeError", message: "n = 3 is poison" } }, { n: 4 }]);
    await w.line(/ failed mp-\S+-2 .* attempt 3\/3 \{"n":3\} "RangeError: n = 3 is poison"$/);
    expect(w.lines.filter((l) => / retry mp-\S+-2 /.test(l))).toHaveLength(2);
    await stopAll(w);
  }, 60_000);

  it("Redis restarted mid-sweep (nothing persisted): the sweep resumes, lost jobs are sent again, and it completes", async () => {
    const own = await startRedis();
    const queue = nextQueue();
    const log = path.join(tempDir("memopipe-restart-"), "log");
    const a = startWorkerProcess(own.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)]);
    const b = startWorkerProcess(own.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)]);
    await Promise.all([a.ready, b.ready]);
    const r = runner(queue, { checkMs: 1_000 }, own.url);
    const points = grid({ n: Array.from({ length: 24 }, (_, i) => i), ms: [250], log: [log] });
    const results = r.run(squareTask, points);
    await waitFor("4 points done", () => logLines(log).filter((l) => l.what === "done").length >= 4);
    await own.restart();
    const restartedAt = Date.now();
    const out = await results;
    await r.close();
    expect(out.map((o) => (o as { n: number }).n)).toEqual(points.map((p) => p.n));
    expect(out.every((o) => !("error" in o) && (o as { sq: number }).sq === (o as { n: number }).n ** 2)).toBe(true);
    expect(Date.now() - restartedAt).toBeLessThan(45_000);
    // every point was computed (to the end) at least once; the lost ones again after the restart
    const done = new Set(logLines(log).filter((l) => l.what === "done").map((l) => l.n));
    expect(done.size).toBe(24);
    // the restart lost the waiting jobs (no persistence): what ran after it was sent again
    expect(logLines(log).filter((l) => l.what === "start" && l.at > restartedAt).length).toBeGreaterThan(0);
    await stopAll(a, b);
    await own.stop();
  }, 120_000);

  it("a worker running other code refuses the job (nothing computed), and the run fails with WorkerCodeError", async () => {
    const queue = nextQueue();
    const other = tempDir("memopipe-other-checkout-");
    const copy = path.join(other, "test", "fixtures", "cluster", "points.ts");
    mkdirSync(path.dirname(copy), { recursive: true });
    writeFileSync(copy, readFileSync(POINTS, "utf8").replace("sq: n * n,", "sq: n * n + 1,"));
    const log = path.join(other, "log");
    const w = startWorkerProcess(redis.url, queue, [], { MEMOPIPE_ROOT: other });
    await w.ready;
    const r = runner(queue, { attempts: 3 });
    const error = await r.run(squareTask, grid({ n: [1], log: [log] })).catch((e: unknown) => e);
    await r.close();
    expect(error).toBeInstanceOf(WorkerCodeError);
    expect((error as Error).message).toMatch(/refuses job mp-\S+: it runs other code than the caller for test\/fixtures\/cluster\/points\.ts#square/);
    expect(logLines(log)).toEqual([]); // nothing computed
    await w.line(/ refused mp-/);
    expect(w.lines.filter((l) => / refused mp-/.test(l))).toHaveLength(1); // not retried
    await stopAll(w);
  }, 60_000);

  it("a worker whose checkout lacks the task module fails the run with WorkerSetupError", async () => {
    const queue = nextQueue();
    const empty = tempDir("memopipe-empty-checkout-");
    const w = startWorkerProcess(redis.url, queue, [], { MEMOPIPE_ROOT: empty });
    await w.ready;
    const r = runner(queue);
    const error = await r.run(squareTask, grid({ n: [1] })).catch((e: unknown) => e);
    await r.close();
    expect(error).toBeInstanceOf(WorkerSetupError);
    expect((error as Error).message).toMatch(/test\/fixtures\/cluster\/points\.ts does not exist under the project root/);
    await stopAll(w);
  }, 60_000);

  it("on threads, a point that kills its thread fails only its own attempts, fast; the worker goes on", async () => {
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue, ["--concurrency", "2", "--threads", "1"]);
    await w.ready;
    const r = runner(queue, { attempts: 2 });
    const started = Date.now();
    const out = await r.run(at("crash"), grid({ n: [1, 2, 3] }));
    await r.close();
    expect(out[0]).toEqual({ n: 1 });
    expect(out[2]).toEqual({ n: 3 });
    expect(out[1]).toMatchObject({ n: 2, error: { name: expect.stringMatching(/Error$/), message: expect.stringMatching(/exit/i) } });
    expect(Date.now() - started).toBeLessThan(30_000); // not a stalled-job timeout
    expect(w.child.exitCode).toBeNull();
    await stopAll(w);
  }, 60_000);

  it("large points and results travel through the store as blobs; the jobs themselves stay small", async () => {
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue);
    await w.ready;
    const r = runner(queue);
    const text = "ab".repeat(60_000);
    const out = await r.run(at("echoBig"), [{ n: 1, text }]);
    await r.close();
    expect(out).toEqual([{ n: 1, text: text.toUpperCase(), length: 120_000 }]);
    const raw = new Redis(redis.url);
    try {
      const [key] = await raw.keys(`bull:${queue}:mp-*`);
      const [data, returnvalue] = await raw.hmget(key!, "data", "returnvalue");
      expect(data!.length).toBeLessThan(1_000);
      expect(returnvalue!.length).toBeLessThan(1_000);
      expect(JSON.parse(data!).value).toMatchObject({ blob: expect.stringMatching(/^[0-9a-f]{64}$/), codec: "json" });
    } finally {
      raw.disconnect();
    }
    await stopAll(w);
  }, 60_000);

  it("SIGTERM lets the job under way finish, then the worker exits 0; a second SIGTERM hands a long job back to another worker", async () => {
    const queue = nextQueue();
    const log = path.join(tempDir("memopipe-shutdown-"), "log");
    const a = startWorkerProcess(redis.url, queue);
    await a.ready;
    const r = runner(queue);
    const first = r.run(squareTask, [{ n: 5, ms: 1_500, log }]);
    await waitFor("the point to start", () => logLines(log).some((l) => l.what === "start"));
    a.child.kill("SIGTERM");
    expect((await first)[0]).toMatchObject({ n: 5, sq: 25 });
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/SIGTERM: taking no new job, finishing 1 under way/);

    const b = startWorkerProcess(redis.url, queue);
    await b.ready;
    const long = r.run(squareTask, [{ n: 6, ms: 8_000, log }]);
    await waitFor("the long point to start", () => logLines(log).some((l) => l.what === "start" && l.n === 6));
    b.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    b.child.kill("SIGTERM");
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(b.lines.some((l) => / handed-back mp-/.test(l))).toBe(true);
    // another worker takes it at once (not after a lock expiry: the lock is 10 s here)
    const c = startWorkerProcess(redis.url, queue);
    await c.ready;
    const out = await long;
    expect(out[0]).toMatchObject({ n: 6, sq: 36 });
    const done = logLines(log).filter((l) => l.what === "done" && l.n === 6);
    expect(done.map((l) => l.pid)).toEqual([c.child.pid]);
    expect(logLines(log).filter((l) => l.what === "start" && l.n === 6).map((l) => l.pid)).toEqual([b.child.pid, c.child.pid]);
    await r.close();
    await stopAll(c);
  }, 150_000);
});

describe("npm run example:cluster", () => {
  it("runs the birthday sweep on two workers of its own Redis, one killed half way, and cleans up after itself", async () => {
    const work = tempDir("memopipe-example-cluster-");
    const { execFileSync } = await import("node:child_process");
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/cluster-sweep.ts"], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      env: { ...process.env, MEMOPIPE_EXAMPLE_WORK: work },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    expect(out).toMatch(/30 points in [\d.]+ s on two workers, 0 failed/);
    expect(Number(/≈ (0\.\d+)/.exec(out)?.[1])).toBeCloseTo(0.507, 1);
  }, 150_000);
});

describe("memopipe worker's command line", () => {
  it("says what is wrong in one line", async () => {
    const w = startWorkerProcess(redis.url, "q", ["--concurrency", "0"]);
    expect((await w.exited).code).toBe(1);
    expect(w.stderr().trim()).toBe("memopipe worker: --concurrency must be an integer of at least 1, got '0'");
  }, 30_000);
});
