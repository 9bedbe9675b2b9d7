/**
 * The options of `new Runner({ backend: "bullmq", … })`: points (and DAG stages) run on
 * `memopipe worker` processes, on any machine that reaches the same Redis and has the same checkout.
 */
import type { RedisStore } from "../../cache/redis-store.js";
import { MemopipeError } from "../../errors.js";
import type { RedisConnection } from "../../redis/connection.js";
import type { ProgressOptions } from "../progress.js";

/**
 * Options of a Runner on BullMQ workers.
 *
 * @example
 * const runner = new Runner({ backend: "bullmq", connection: "redis://10.0.0.5:6379", queue: "sweeps" });
 * const results = await runner.run(task<typeof simulate>({ module: new URL("./points.js", import.meta.url), export: "simulate" }), points);
 * await runner.close();
 */
export interface BullmqRunnerOptions {
  readonly backend: "bullmq";
  /** The queue's name: `memopipe worker --queue <name>` serves it. */
  readonly queue: string;
  /** Where Redis is (default `redis://127.0.0.1:6379`): a URL, options, or an ioredis client. */
  readonly connection?: RedisConnection;
  /** How many times a point is tried before its error is its result (default 3: a crashed worker thread, a full disk on one machine get another chance, elsewhere). */
  readonly attempts?: number;
  /** BullMQ's key prefix (default `bull`, as BullMQ's). */
  readonly prefix?: string;
  /** The store that carries large points and results (and a DAG's cache entries); default: a `RedisStore` on the same connection, the project's namespace. */
  readonly store?: RedisStore;
  /** The project root that task modules are relative to (default: src/runtime/project.ts's rule, `MEMOPIPE_ROOT`). */
  readonly root?: string;
  /** A progress bar with ETA on a terminal, plain lines when piped (default `true`); `false` is silent. */
  readonly progress?: boolean | ProgressOptions;
  /** How long finished jobs stay in Redis, in ms (default 1 h): the caller reads a result from them after a lost event. */
  readonly keepJobsMs?: number;
  /** When no result has come for this long (ms), the caller asks Redis about its jobs and re-sends the lost ones (default 5 s). */
  readonly checkMs?: number;
}

/**
 * Checks a bullmq Runner's options when the Runner is made (before anything connects).
 *
 * @throws MemopipeError naming the option.
 * @example
 * checkBullmqOptions({ backend: "bullmq", queue: "" }); // throws: queue must be a non-empty name
 */
export function checkBullmqOptions(options: BullmqRunnerOptions): void {
  if (typeof options.queue !== "string" || options.queue.length === 0 || options.queue.includes(":")) {
    throw new MemopipeError(`new Runner({ backend: "bullmq", queue }): queue must be a non-empty name without ':' (the queue memopipe worker --queue serves), got ${JSON.stringify(options.queue)}`);
  }
  const attempts = options.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new MemopipeError(`new Runner({ attempts }): attempts must be a positive integer, got ${String(attempts)}`);
  for (const name of ["keepJobsMs", "checkMs"] as const) {
    const v = options[name];
    if (v !== undefined && (typeof v !== "number" || !(v > 0))) throw new MemopipeError(`new Runner({ ${name} }): a positive number of milliseconds, got ${String(v)}`);
  }
}
