/**
 * `memopipe worker`: serve a queue of memopipe jobs (sweep points, DAG stages) on this machine.
 *
 * One line per job that ends: on a terminal, coloured and short (`✓ 0.42s src/points.ts#simulate
 * {"n":7}`); piped, plain and complete, with the time (`2026-12-02T10:00:00.000Z done mp-3fa2-7
 * src/points.ts#simulate 0.42s attempt 1/3 {"n":7}`). Problems (Redis away) go to stderr, once per
 * kind.
 *
 * SIGTERM or Ctrl-C: no new job, the jobs under way finish (at most `--grace`), then exit 0; a
 * second signal (or the end of the grace period) hands the jobs under way back to the queue, for
 * another worker, at once.
 */
import type { Command } from "commander";
import { projectRoot } from "../runtime/project.js";
import type { WorkerEvent } from "../runtime/runner/bullmq/worker-host.js";
import { UsageError } from "./errors.js";
import { err, out } from "./style.js";
import { duration, withExamples } from "./text.js";

interface WorkerFlags {
  connection: string;
  queue: string;
  concurrency: string;
  threads: string;
  root?: string;
  prefix: string;
  lockMs: string;
  maxStalls: string;
  grace: string;
}

function positiveInteger(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer of at least ${min}, got '${text}'`);
  return n;
}

/**
 * Adds `worker` to the program.
 *
 * @example
 * addWorker(new Command("memopipe"));
 */
export function addWorker(program: Command): void {
  const worker = program
    .command("worker")
    .description("serve a queue of memopipe jobs (the bullmq Runner's sweep points and DAG stages) on this machine")
    .option("--connection <url>", "where Redis is", process.env.REDIS_URL ?? "redis://127.0.0.1:6379")
    .requiredOption("--queue <name>", "the queue to serve (the Runner's queue option)")
    .option("--concurrency <n>", "jobs in flight at once", "1")
    .option("--threads <k>", "run the points on k worker threads: a crash fails one job, the lock stays renewed during CPU-bound points", "0")
    .option("--root <dir>", "the project root that jobs' modules are relative to (default: $MEMOPIPE_ROOT, or the nearest package.json)")
    .option("--prefix <prefix>", "BullMQ's key prefix", "bull")
    .option("--lock-ms <ms>", "the job lock: a dead worker's job is retried elsewhere within twice this", "10000")
    .option("--max-stalls <n>", "how many times a job may lose its worker before it fails", "3")
    .option("--grace <duration>", "on SIGTERM/Ctrl-C, how long jobs under way may take to finish before they are handed back", "30s")
    .action(async (flags: WorkerFlags) => {
      const concurrency = positiveInteger(flags.concurrency, "--concurrency");
      const threads = positiveInteger(flags.threads, "--threads", 0);
      const lockMs = positiveInteger(flags.lockMs, "--lock-ms", 100);
      const maxStalls = positiveInteger(flags.maxStalls, "--max-stalls", 0);
      const graceMs = duration(flags.grace);
      if (!/^rediss?:\/\//.test(flags.connection)) throw new UsageError(`--connection must be a redis:// or rediss:// URL, got '${flags.connection.replace(/:[^@/:]*@/, ":***@")}'`);
      const root = flags.root ?? projectRoot();
      const terminal = process.stdout.isTTY === true;
      const { startWorker } = await import("../runtime/runner/bullmq/worker-host.js");
      const { stageJobs } = await import("../dsl/stage-jobs.js");
      const host = await startWorker({
        connection: flags.connection,
        queue: flags.queue,
        concurrency,
        threads,
        root,
        prefix: flags.prefix,
        lockMs,
        maxStalls,
        stages: stageJobs,
        log: (event) => {
          if (event.kind === "problem") console.error(err.yellow(`memopipe worker: ${event.message}`));
          else if (event.kind === "ready") console.log(terminal ? out.dim(event.message) : `${new Date().toISOString()} ready ${event.message}`);
          else console.log(terminal ? terminalLine(event) : pipedLine(event));
        },
      });
      let signals = 0;
      let grace: NodeJS.Timeout | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          const n = host.active();
          console.error(
            `memopipe worker: ${signal}: taking no new job${n > 0 ? `, finishing ${n} under way (at most ${flags.grace}; ${signal === "SIGINT" ? "Ctrl-C" : signal} again hands them back now)` : ""}`,
          );
          grace = setTimeout(() => {
            console.error(`memopipe worker: the grace period (${flags.grace}) is over: handing the jobs under way back to the queue`);
            void host.handBack();
          }, graceMs);
          grace.unref();
          void host.stop();
        } else {
          console.error("memopipe worker: handing the jobs under way back to the queue");
          void host.handBack();
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await host.closed;
      } finally {
        if (grace) clearTimeout(grace);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      if (signals > 0) {
        console.error("memopipe worker: stopped");
        // A computation handed back may still hold timers or sockets of the task's own: it is
        // abandoned (its job is back in the queue), so the process ends now rather than with it.
        process.exit(0);
      }
    });
  withExamples(worker, [
    ["memopipe worker --queue sweeps", "serve the queue 'sweeps' on the local Redis, one job at a time"],
    ["memopipe worker --connection redis://10.0.0.5:6379 --queue sweeps --concurrency 8 --threads 4", "8 jobs at once, their points on 4 threads"],
    ["memopipe worker --queue sweeps --lock-ms 2000", "a dead worker's job is retried elsewhere within 4 s"],
  ]);
}

type JobEvent = Extract<WorkerEvent, { job: string }>;

const MARKS = { done: "✓", failed: "✗", retry: "↻", refused: "⊘", "handed-back": "↩" } as const;

function terminalLine(e: JobEvent): string {
  const mark = MARKS[e.kind];
  const paint = e.kind === "done" ? out.green : e.kind === "retry" || e.kind === "handed-back" ? out.yellow : out.red;
  const what = e.kind === "retry" ? ` retry ${e.attempt + 1}/${e.attempts}` : e.kind === "handed-back" ? " handed back" : e.kind === "refused" ? " refused" : "";
  const detail = e.message ? `  ${e.kind === "refused" ? e.message : e.message.split("\n")[0]}` : "";
  return `${paint(mark)} ${e.seconds.toFixed(2).padStart(6)}s ${e.task}${e.point ? ` ${out.dim(e.point)}` : ""}${paint(what)}${detail ? paint(detail) : ""}`;
}

function pipedLine(e: JobEvent): string {
  const parts = [new Date().toISOString(), e.kind, e.job, e.task, `${e.seconds.toFixed(3)}s`, `attempt ${e.attempt}/${e.attempts}`];
  if (e.point) parts.push(e.point);
  if (e.message) parts.push(JSON.stringify(e.message));
  return parts.join(" ");
}
