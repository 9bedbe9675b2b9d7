/**
 * A DAG on the bullmq Runner (`g.run(inputs, { runner })`), against a real redis-server (started by
 * the harness on 127.0.0.1 on a free port, stopped by PID) and real `memopipe worker` processes,
 * with the callers as processes too (test/fixtures/cluster/dag-run.ts: the code fingerprints of a
 * caller under vitest, whose loader rewrites functions, would not be a worker's). Every process
 * works in a temp dir of its own (a stage keeps its cache events in the working directory). Same
 * results as in-process, and the faults of issue 8: two callers at once, a tampered entry, a
 * worker running other code, a worker SIGKILLed mid-stage, Redis restarted mid-DAG. Every wait is
 * bounded; the bounds are the documented ones plus slack for a loaded machine.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deserialize } from "node:v8";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { tempDir } from "../helpers/temp.js";
import { startWorkerProcess, TSX, type WorkerProcess } from "../helpers/worker-process.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CALLER = fileURLToPath(new URL("../fixtures/cluster/dag-run.ts", import.meta.url));
const STAGES = fileURLToPath(new URL("../fixtures/cluster/dag-stages.ts", import.meta.url));
const LOCK_MS = 1_000;
const CACHED = ["load", "left", "right", "report"];

let redis: RedisServer;
let queueNo = 0;
const nextQueue = () => `dag${process.pid}-${queueNo++}`;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** A test's files: the image input, the trace, and working dirs for its processes. */
function scene(name: string) {
  const dir = tempDir(`memopipe-dag-${name}-`);
  const img = path.join(dir, "img.txt");
  writeFileSync(img, `an image for ${name}\n`);
  const trace = path.join(dir, "trace");
  const cwd = (who: string) => {
    const d = path.join(dir, who);
    mkdirSync(d, { recursive: true });
    return d;
  };
  return { dir, img, trace, cwd, inputs: (extra: { ms?: number; slow?: number } = {}) => ({ subject: name, img, trace: `trace:${trace}`, ms: extra.ms ?? 50, slow: extra.slow ?? 0 }) };
}

interface CallerResult {
  readonly ms?: number;
  readonly outputs?: Record<string, unknown>;
  readonly bytes?: string;
  readonly facts?: { imgIsFileRef: boolean; negZero: boolean; label: string };
  readonly error?: { name: string; code: string; message: string };
}

/** Runs the fixture DAG in a caller process (`bullmq` on `queue`, or `local`), bounded in time. */
function runCaller(cwd: string, inputs: object, options: { mode: "bullmq" | "local"; queue?: string; url?: string; checkMs?: number }): Promise<CallerResult> {
  const child = spawn(process.execPath, ["--import", TSX, CALLER], {
    cwd,
    env: {
      ...process.env,
      NO_COLOR: "1",
      MEMOPIPE_ROOT: REPO,
      MODE: options.mode,
      INPUTS: JSON.stringify(inputs),
      REDIS_URL: options.url ?? redis.url,
      QUEUE: options.queue ?? "",
      ...(options.checkMs ? { CHECK_MS: String(options.checkMs) } : {}),
    },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) return reject(new Error(`the caller ended with ${code ?? signal}:\n${out}\n${err}`));
      const parsed = JSON.parse(line) as CallerResult;
      resolve(parsed.bytes ? { ...parsed, outputs: deserialize(Buffer.from(parsed.bytes, "base64")) as Record<string, unknown> } : parsed);
    });
  });
}

/** The `start`/`done` lines the fixture stages append to the trace. */
function traceLines(file: string): { what: string; stage: string; pid: number; at: number }[] {
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
      const [what, stage, pid, at] = l.split(" ");
      return { what: what!, stage: stage!, pid: Number(pid), at: Number(at) };
    });
}
const count = (file: string, what: string, stage: string) => traceLines(file).filter((l) => l.what === what && l.stage === stage).length;

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
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

/** The in-process result of the same inputs (in a process and a cache of its own). */
async function inProcess(s: ReturnType<typeof scene>, inputs: object): Promise<CallerResult> {
  const local = await runCaller(s.cwd("local"), { ...inputs, trace: `trace:${s.trace}.local` }, { mode: "local" });
  expect(local.error).toBeUndefined();
  return local;
}

describe("a DAG on BullMQ workers", () => {
  it("returns what in-process returns (a FileRef, a Map of BigInts, a Float64Array, -0), its cached stages computed on the workers, the uncached one on the caller; run again, it sends no job", async () => {
    const s = scene("same");
    const queue = nextQueue();
    const a = startWorkerProcess(redis.url, queue, ["--concurrency", "2"], {}, s.cwd("wa"));
    const b = startWorkerProcess(redis.url, queue, ["--concurrency", "2"], {}, s.cwd("wb"));
    await Promise.all([a.ready, b.ready]);
    const inputs = s.inputs();
    const remote = await runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue });
    expect(remote.error).toBeUndefined();
    const local = await inProcess(s, inputs);
    expect(remote.outputs).toEqual(local.outputs);
    expect(remote.bytes).toBe(local.bytes); // byte for byte, as V8 serializes them
    expect(remote.facts).toEqual({ imgIsFileRef: true, negZero: true, label: "n=3" });
    expect(Object.keys(remote.outputs!).sort()).toEqual(["img", "label", "negZero", "series", "summary", "table"]);
    // every cached stage once, on a worker; one job each, in the worker logs
    const workers = new Set([a.child.pid, b.child.pid]);
    for (const stage of CACHED) {
      const done = traceLines(s.trace).filter((l) => l.what === "done" && l.stage === stage);
      expect(done, stage).toHaveLength(1);
      expect(workers.has(done[0]!.pid), `${stage} computed on a worker`).toBe(true);
    }
    const jobLines = () => [...a.lines, ...b.lines].filter((l) => / done mp-\S+ test\/fixtures\/cluster\/dag-stages\.ts#/.test(l));
    await waitFor("the four job lines", () => jobLines().length >= 4);
    expect(jobLines().map((l) => /#(\w+)/.exec(l)![1]).sort()).toEqual([...CACHED].sort());

    // again: every entry is in Redis, so no job at all, and nothing computed
    const again = await runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue });
    expect(again.bytes).toBe(local.bytes);
    for (const stage of CACHED) expect(count(s.trace, "done", stage), stage).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(jobLines()).toHaveLength(4);
    // the caller recorded its reads as hits, for memopipe why
    const events = readFileSync(path.join(s.dir, "caller", ".memopipe", "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { stage: string; status: string });
    expect(events.filter((e) => CACHED.includes(e.stage)).every((e) => e.status === "hit")).toBe(true);
    await stopAll(a, b);
  }, 120_000);

  it("two callers running the same DAG at once: each stage computed exactly once, both get the same outputs", async () => {
    const s = scene("twice");
    const queue = nextQueue();
    const a = startWorkerProcess(redis.url, queue, ["--concurrency", "2"], {}, s.cwd("wa"));
    const b = startWorkerProcess(redis.url, queue, ["--concurrency", "2"], {}, s.cwd("wb"));
    await Promise.all([a.ready, b.ready]);
    const inputs = s.inputs({ ms: 400 });
    const [one, two] = await Promise.all([runCaller(s.cwd("c1"), inputs, { mode: "bullmq", queue }), runCaller(s.cwd("c2"), inputs, { mode: "bullmq", queue })]);
    expect(one.error).toBeUndefined();
    expect(two.bytes).toBe(one.bytes);
    expect(one.bytes).toBe((await inProcess(s, inputs)).bytes);
    for (const stage of CACHED) {
      expect(count(s.trace, "start", stage), `${stage} started once`).toBe(1);
      expect(count(s.trace, "done", stage), `${stage} computed once`).toBe(1);
    }
    await stopAll(a, b);
  }, 120_000);

  it("a tampered entry in Redis is detected and recomputed (never returned); the stages after it stay hits", async () => {
    const s = scene("tamper");
    const queue = nextQueue();
    const w = startWorkerProcess(redis.url, queue, ["--concurrency", "2"], {}, s.cwd("w"));
    await w.ready;
    const inputs = s.inputs();
    const first = await runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue });
    expect(first.error).toBeUndefined();
    // damage right's entry: one byte of its value, keeping its length
    const raw = new Redis(redis.url);
    try {
      const keys = await raw.keys("memopipe:memopipe:e:*:right");
      const key = (await Promise.all(keys.map(async (k) => ((await raw.getBuffer(k))!.includes(Buffer.from(s.trace)) ? k : undefined)))).find(Boolean);
      expect(key).toBeDefined();
      const bytes = (await raw.getBuffer(key!))!;
      const at = bytes.length - 3;
      await raw.setrange(key!, at, String.fromCharCode(bytes[at]! ^ 0x20));
    } finally {
      raw.disconnect();
    }
    const second = await runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue });
    expect(second.bytes).toBe(first.bytes);
    expect(count(s.trace, "done", "right")).toBe(2); // recomputed
    for (const stage of ["load", "left", "report"]) expect(count(s.trace, "done", stage), stage).toBe(1); // hits
    await stopAll(w);
  }, 120_000);

  it("a worker running other code refuses the stage's job (nothing computed), and the DAG fails with WorkerCodeError", async () => {
    const s = scene("other");
    const queue = nextQueue();
    // another checkout: the same project, but one stage's module edited
    const other = s.cwd("checkout");
    mkdirSync(path.join(other, "test", "fixtures", "cluster"), { recursive: true });
    symlinkSync(path.join(REPO, "src"), path.join(other, "src"));
    symlinkSync(path.join(REPO, "node_modules"), path.join(other, "node_modules"));
    writeFileSync(path.join(other, "package.json"), readFileSync(path.join(REPO, "package.json")));
    writeFileSync(path.join(other, "test", "fixtures", "cluster", "dag-stages.ts"), readFileSync(STAGES, "utf8").replace("text.length + subject.length", "text.length + subject.length + 1"));
    const w = startWorkerProcess(redis.url, queue, [], { MEMOPIPE_ROOT: other }, s.cwd("w"));
    await w.ready;
    const result = await runCaller(s.cwd("caller"), s.inputs(), { mode: "bullmq", queue });
    expect(result.error).toMatchObject({ name: "WorkerCodeError", code: "MEMOPIPE_WORKER_CODE" });
    expect(result.error!.message).toMatch(/refuses job mp-\S+: it runs other code than the caller for stage 'load' \(test\/fixtures\/cluster\/dag-stages\.ts#load\)/);
    expect(result.error!.message).toMatch(/nothing was computed/);
    expect(traceLines(s.trace)).toEqual([]);
    await w.line(/ refused mp-/);
    expect(w.lines.filter((l) => / refused mp-/.test(l))).toHaveLength(1); // not retried
    // nothing was published under the caller's key
    const raw = new Redis(redis.url);
    try {
      const entries = await raw.keys("memopipe:memopipe:e:*:load");
      const values = await Promise.all(entries.map((k) => raw.getBuffer(k)));
      expect(values.some((v) => v!.includes(Buffer.from(s.trace)))).toBe(false);
    } finally {
      raw.disconnect();
    }
    await stopAll(w);
  }, 120_000);

  it("a worker SIGKILLed mid-stage: the stage finishes on the other worker within 2 × lock, computed to the end once, and the DAG completes", async () => {
    const s = scene("kill");
    const queue = nextQueue();
    const a = startWorkerProcess(redis.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)], {}, s.cwd("wa"));
    const b = startWorkerProcess(redis.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)], {}, s.cwd("wb"));
    await Promise.all([a.ready, b.ready]);
    const inputs = s.inputs({ slow: 1_500 });
    const run = runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue });
    const started = await waitFor("left to start", () => traceLines(s.trace).find((l) => l.what === "start" && l.stage === "left"));
    const [victim, survivor] = started.pid === a.child.pid ? [a, b] : [b, a];
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    const result = await run;
    expect(result.error).toBeUndefined();
    expect(result.bytes).toBe((await inProcess(s, inputs)).bytes);
    const done = traceLines(s.trace).filter((l) => l.what === "done" && l.stage === "left");
    expect(done.map((l) => l.pid)).toEqual([survivor.child.pid]);
    // detection (≤ 2 × lock; the dead worker's claim on the key is seen dead at once on its own
    // host, and expires within its lease = the lock elsewhere) + the stage's own 1.55 s + slack
    expect(done[0]!.at - killedAt).toBeLessThan(2 * LOCK_MS + 1_550 + 4_000);
    for (const stage of CACHED) expect(count(s.trace, "done", stage), stage).toBe(1);
    await stopAll(survivor);
  }, 120_000);

  it("Redis restarted mid-DAG (nothing persisted): the caller re-sends the lost stages and the DAG completes with the in-process outputs", async () => {
    const own = await startRedis();
    const s = scene("restart");
    const queue = nextQueue();
    const a = startWorkerProcess(own.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)], {}, s.cwd("wa"));
    const b = startWorkerProcess(own.url, queue, ["--concurrency", "2", "--lock-ms", String(LOCK_MS)], {}, s.cwd("wb"));
    await Promise.all([a.ready, b.ready]);
    const inputs = s.inputs({ slow: 1_500 });
    const run = runCaller(s.cwd("caller"), inputs, { mode: "bullmq", queue, url: own.url, checkMs: 1_000 });
    await waitFor("left to start", () => traceLines(s.trace).some((l) => l.what === "start" && l.stage === "left"));
    await own.restart();
    const restartedAt = Date.now();
    const result = await run;
    expect(result.error).toBeUndefined();
    expect(result.bytes).toBe((await inProcess(s, inputs)).bytes);
    expect(Date.now() - restartedAt).toBeLessThan(45_000);
    // Every stage computed, at most twice: left's job was lost with the queue and sent again; its
    // second run computes it again, or finds the entry that the first worker, still computing
    // across the restart, published into the new Redis (both happen, by timing).
    for (const stage of CACHED) {
      expect(count(s.trace, "done", stage), stage).toBeGreaterThanOrEqual(1);
      expect(count(s.trace, "done", stage), stage).toBeLessThanOrEqual(2);
    }
    expect(traceLines(s.trace).some((l) => l.stage === "report" && l.at > restartedAt)).toBe(true); // the DAG went on after the restart
    await stopAll(a, b);
    await own.stop();
  }, 150_000);
});

describe("a DAG that cannot go to workers says why, before anything is sent", () => {
  it("a stage defined by the script that runs the DAG, a stage its module does not export, a threads Runner, something that is not a Runner", async () => {
    const s = scene("misuse");
    const { execFileSync } = await import("node:child_process");
    const out = execFileSync(process.execPath, ["--import", TSX, fileURLToPath(new URL("../fixtures/cluster/dag-misuse.ts", import.meta.url))], {
      cwd: s.cwd("caller"),
      env: { ...process.env, MEMOPIPE_ROOT: REPO, REDIS_URL: redis.url, QUEUE: nextQueue() },
      encoding: "utf8",
      timeout: 60_000,
    });
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(/^entry: DagRunnerError MEMOPIPE_DAG_RUNNER: stage 'inline' is defined in the script that runs the DAG \(.*dag-misuse\.ts\): a worker imports a stage's module, and would run this script; move the stages to a module of their own/);
    expect(lines[1]).toMatch(/^hidden: DagRunnerError MEMOPIPE_DAG_RUNNER: stage 'hidden' is not exported by the module that made it \(.*dag-hidden\.ts\): workers find a DAG's cached stages by module and export, so export it \(export const hidden = stage\(…\)\)$/);
    expect(lines[2]).toBe(
      `threads: DagRunnerError MEMOPIPE_DAG_RUNNER: dag.run(inputs, { runner }): a DAG's stages run in-process or on BullMQ workers (backend "bullmq"), not on a "threads" Runner; run the DAG without a runner to use this machine`,
    );
    expect(lines[3]).toBe(`not a runner: DagRunnerError MEMOPIPE_DAG_RUNNER: dag.run(inputs, { runner }): runner must be a Runner (new Runner({ backend: "bullmq", queue })), got number`);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.keys("bull:dag*-misuse*")).toEqual([]);
    } finally {
      raw.disconnect();
    }
  }, 60_000);
});
