/**
 * The birthday-paradox sweep on BullMQ workers, all on this machine: a Redis of its own (on a free
 * port), two `memopipe worker` processes, the sweep sent from here with a progress bar — and, half
 * way, worker 1 killed with SIGKILL, to show its jobs finishing on worker 2. On many machines it is
 * the same, with Redis and the workers elsewhere (README, "Running on many machines").
 *
 * Run: `npm run example:cluster` (needs `redis-server`: apt-get install redis-server).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { grid, Runner, task } from "memopipe";
import type { simulate } from "./birthday/simulate.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const work = process.env.MEMOPIPE_EXAMPLE_WORK ?? path.join(here, ".work", "cluster");
const log = path.join(work, "results.jsonl");
const cli = path.join(root, "dist", "cli.js");
const LOCK_MS = 2_000;

if (spawnSync("redis-server", ["--version"]).error) {
  console.error("this example starts its own Redis: install redis-server first (apt-get install redis-server)");
  process.exit(1);
}
if (!existsSync(cli)) {
  console.error("build memopipe first: npm run build (npm run example:cluster does)");
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const address = probe.address();
    probe.close(() => resolve(typeof address === "object" && address ? address.port : 6379));
  });
});
const url = `redis://127.0.0.1:${port}`;
const children: ChildProcess[] = [];
const stopAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
};
process.once("exit", stopAll);

/** Starts a process, prefixing its output, and resolves once a line matches `ready`. */
function start(label: string, command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = false;
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        if (label !== "redis") process.stderr.write(`  [${label}] ${line}\n`);
        if (!seen && ready.test(line)) {
          seen = true;
          resolve(child);
        }
      }
    };
    child.stdout!.on("data", onLine);
    child.stderr!.on("data", onLine);
    child.once("exit", (code) => {
      if (!seen) reject(new Error(`${label} exited (${code}) before it was ready`));
    });
  });
}

console.log(`starting Redis on ${url} and two workers (lock ${LOCK_MS} ms: a dead worker's jobs are retried within ${(2 * LOCK_MS) / 1000} s)`);
await start("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", work], /Ready to accept connections/);
const workerArgs = [cli, "worker", "--connection", url, "--queue", "birthday", "--concurrency", "2", "--lock-ms", String(LOCK_MS)];
const env = { BIRTHDAY_LOG: log, NO_COLOR: "1" }; // the task module reads its log's path at import
const [worker1] = await Promise.all([
  start("worker 1", process.execPath, workerArgs, / ready /, env),
  start("worker 2", process.execPath, workerArgs, / ready /, env),
]);

const points = grid({ classSize: [5, 10, 15, 20, 23, 25, 30, 35, 40, 50], nSim: [1_000, 20_000, 100_000] });
const runner = new Runner({ backend: "bullmq", connection: url, queue: "birthday", progress: { label: "birthday paradox on 2 workers" } });
// Half way through, worker 1 dies without a word (SIGKILL): what it had under way goes back to the
// queue when its lock expires, and worker 2 finishes it.
const killer = setInterval(() => {
  const logged = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
  if (logged >= points.length / 2) {
    clearInterval(killer);
    console.error(`\n  killing worker 1 (pid ${worker1!.pid}) with SIGKILL after ${logged} points`);
    worker1!.kill("SIGKILL");
  }
}, 50);
const started = Date.now();
const results = await runner.run(task<typeof simulate>({ module: new URL("./birthday/simulate.ts", import.meta.url), export: "simulate" }), points);
clearInterval(killer);
await runner.close();

const failed = results.filter((r) => "error" in r);
const at23 = results[points.findIndex((p) => p.classSize === 23 && p.nSim === 100_000)];
console.log(`\n${results.length} points in ${((Date.now() - started) / 1000).toFixed(1)} s on two workers, ${failed.length} failed, one result per point`);
if (at23 && !("error" in at23)) console.log(`P(shared birthday | 23 people) ≈ ${at23.estProba.toFixed(3)} (exact: 0.507)`);
stopAll();
await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
rmSync(path.join(work, "dump.rdb"), { force: true });
