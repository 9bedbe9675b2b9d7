import { availableParallelism } from "node:os";
import { deserialize } from "../lazy-builtins.js";
import type { ErrorRecord, PointOf, PointsCheck, RunResults, TaskAddress, WorkerTask } from "../../types/sweep.js";
import { MemopipeError } from "../errors.js";
import { isTaskAddress, moduleHref } from "./address.js";
import { errorInfo } from "./error-record.js";
import { createPool, type ThreadPool } from "./pool.js";
import { progressReporter, type ProgressOptions } from "./progress.js";
import type { WorkerReply } from "./worker.js";
import type { Backend } from "./backend.js";
import type { BullmqBackend } from "./bullmq/client.js";
import { checkBullmqOptions, type BullmqRunnerOptions } from "./bullmq/options.js";
import { onShutdown } from "../shutdown.js";

/**
 * Options of `new Runner(options)`.
 *
 * @example
 * new Runner({ backend: "threads", workers: 2, progress: { label: "sweep" } });
 */
export interface RunnerOptions {
  /**
   * - `"in-process"`: the points run in this thread, `workers` at a time (useful for async tasks:
   *   I/O, cached stages, subprocesses);
   * - `"threads"`: the points run on `workers` worker threads (piscina), a real speed-up for
   *   CPU-bound points. The task must be addressed by module and export (`task({ module, export })`).
   */
  readonly backend: "in-process" | "threads";
  /** Points in flight at once: worker threads for `"threads"` (default: the machine's parallelism), concurrent calls for `"in-process"` (default 1). */
  readonly workers?: number;
  /** A progress bar with ETA on a terminal, plain lines when piped (default `true`); `false` is silent. */
  readonly progress?: boolean | ProgressOptions;
  /** `threads`: the worker threads' Node flags (default: this process's, plus tsx when memopipe runs from its TypeScript sources). */
  readonly execArgv?: readonly string[];
}

/** The outcome of one point, before it becomes a result or an error record. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: { name: string; message: string } };
type Compute = (point: object) => Promise<Outcome>;

/**
 * Runs a sweep: a task over a list of points, in this thread or on worker threads, with a progress
 * bar. Unlike memo's `Runner` (which ran sequentially under its default backend and returned
 * nothing), `run` resolves to the results **in input order**, and a point whose task throws becomes
 * an error record `{ ...point, error: { name, message } }` while the others go on: `run` never
 * rejects because of a point (only for a setup mistake, such as a task module without that export).
 *
 * A task is a function of one point (`in-process`), or a function addressed by module and export
 * name (`task({ module, export })`, every backend): worker threads import the module and call the
 * export, since a function cannot be sent to another thread.
 *
 * With a memoized stage as the task (`stage(name, fn, { cache: true })`, in-process), re-running an
 * interrupted sweep computes only the points that are not cached yet.
 *
 * @example
 * import type { simulate } from "./points.js";
 * const points = grid({ classSize: [10, 20, 30], nSim: [1000, 10000] });
 * const runner = new Runner({ backend: "threads", workers: 2 });
 * const results = await runner.run(task<typeof simulate>({ module: new URL("./points.js", import.meta.url), export: "simulate" }), points);
 * for (const r of results) if ("error" in r) console.error(r.classSize, r.error.message);
 * await runner.close();
 */
export class Runner {
  /** Where the points run. */
  readonly backend: "in-process" | "threads" | "bullmq";
  /** Points in flight at once (worker threads for `threads`; 0 for `bullmq`, where each worker's `--concurrency` decides). */
  readonly workers: number;
  readonly #progress: boolean | ProgressOptions;
  readonly #execArgv: readonly string[] | undefined;
  #pool: ThreadPool | undefined;
  /** `bullmq`: the options, and the backend once a run opened it (./bullmq/, loaded on first use). */
  readonly #bullmq: BullmqRunnerOptions | undefined;
  #remote: Promise<Backend> | undefined;

  constructor(options: RunnerOptions | BullmqRunnerOptions) {
    const backend = (options as RunnerOptions | undefined)?.backend as string | undefined;
    if (backend === "bullmq") {
      checkBullmqOptions(options as BullmqRunnerOptions);
      this.backend = "bullmq";
      this.workers = 0;
      this.#progress = options.progress ?? true;
      this.#execArgv = undefined;
      this.#bullmq = options as BullmqRunnerOptions;
      return;
    }
    if (backend !== "in-process" && backend !== "threads") {
      throw new MemopipeError(`new Runner({ backend }): backend must be "in-process", "threads" or "bullmq", got ${backend === undefined ? "nothing" : JSON.stringify(backend)}`);
    }
    options = options as RunnerOptions;
    const workers = options.workers ?? (backend === "threads" ? availableParallelism() : 1);
    if (!Number.isInteger(workers) || workers < 1) throw new MemopipeError(`new Runner({ workers }): workers must be a positive integer, got ${String(workers)}`);
    this.backend = backend;
    this.workers = workers;
    this.#progress = options.progress ?? true;
    this.#execArgv = options.execArgv;
    this.#bullmq = undefined;
  }

  /**
   * Runs `task` on every point; resolves to one result (or error record) per point, in the order
   * of `points`. The points must fit the task's argument (a compile error names the key that does
   * not).
   *
   * @example
   * const runner = new Runner({ backend: "in-process", workers: 4 });
   * const out = await runner.run(async ({ n }: { n: number }) => ({ sq: n * n }), grid({ n: [1, 2, 3] }));
   * // [{ sq: 1 }, { sq: 4 }, { sq: 9 }]
   */
  run<P extends object, R>(task: (point: P) => R, points: readonly P[]): Promise<Array<Awaited<R> | ErrorRecord<P>>>;
  run<T extends WorkerTask | TaskAddress | ((point: never) => unknown), P extends object>(
    task: T,
    points: readonly P[] & PointsCheck<PointOf<T>, P>,
  ): Promise<RunResults<T, P>>;
  async run(task: unknown, points: readonly object[]): Promise<unknown[]> {
    if (!Array.isArray(points)) throw new MemopipeError(`runner.run(task, points): points must be an array (grid(...) makes one), got ${points === null ? "null" : typeof points}`);
    const list = [...points] as object[];
    if (this.#bullmq) return this.#runRemote(task, list);
    const compute = await this.#computer(task);
    const results = new Array<unknown>(list.length);
    const progress = progressReporter(this.#progress, list.length);
    let done = 0;
    let failed = 0;
    try {
      // Threads: twice as many points in flight as workers, so a worker that finishes finds the
      // next point already queued while the main thread records the previous result.
      await forEachLimited(list.length, this.backend === "threads" ? this.workers * 2 : this.workers, async (i) => {
        const point = list[i]!;
        const outcome = await compute(point);
        results[i] = outcome.ok ? outcome.value : { ...point, error: outcome.error };
        done++;
        if (!outcome.ok) failed++;
        progress.update(done, failed);
      });
    } finally {
      progress.stop();
    }
    return results;
  }

  /**
   * Stops the worker threads (the `threads` backend keeps them between runs; idle workers do not
   * keep the process alive, so closing is optional).
   *
   * @example
   * await runner.close();
   */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    const remote = this.#remote;
    this.#remote = undefined;
    await Promise.all([pool?.close(), remote?.then((b) => b.close(), () => undefined)]);
  }

  /**
   * @internal A DAG run's cached stages on this Runner's workers (src/dsl/dag-remote.ts);
   * `undefined` for the local backends, which a DAG does not use.
   */
  async startStages(): Promise<Awaited<ReturnType<BullmqBackend["startStages"]>> | undefined> {
    const options = this.#bullmq;
    if (!options) return undefined;
    this.#remote ??= import("./bullmq/client.js").then(({ BullmqBackend }) => new BullmqBackend(options));
    this.#remote.catch(() => (this.#remote = undefined));
    return ((await this.#remote) as BullmqBackend).startStages();
  }

  /**
   * A run on BullMQ workers (./bullmq/): every point sent at once, results taken as they come and
   * put in input order. Ctrl-C or SIGTERM withdraws the points still waiting in the queue.
   */
  async #runRemote(task: unknown, list: object[]): Promise<unknown[]> {
    const options = this.#bullmq!;
    this.#remote ??= import("./bullmq/client.js").then(({ BullmqBackend }) => new BullmqBackend(options));
    this.#remote.catch(() => (this.#remote = undefined));
    const run = await (await this.#remote).start(task);
    const offShutdown = onShutdown(() => run.close());
    const results = new Array<unknown>(list.length);
    const progress = progressReporter(this.#progress, list.length);
    let done = 0;
    let failed = 0;
    try {
      await run.submit(list.map((point, index) => ({ index, point })));
      for await (const { index, outcome } of run.settled()) {
        results[index] = outcome.ok ? outcome.value : { ...list[index], error: outcome.error };
        done++;
        if (!outcome.ok) failed++;
        progress.update(done, failed);
      }
    } finally {
      progress.stop();
      offShutdown();
      await run.close();
    }
    return results;
  }

  /** How this runner computes one point of `task`. Setup mistakes throw here, before any point runs. */
  async #computer(task: unknown): Promise<Compute> {
    if (this.backend === "threads") {
      if (!isTaskAddress(task)) {
        throw new MemopipeError(
          typeof task === "function"
            ? `the threads backend cannot send a function to a worker thread: export it from a module and address it with task({ module: new URL("./points.js", import.meta.url), export: "${task.name || "simulate"}" })`
            : `runner.run(task, points): the task must be task({ module, export }), got ${task === null ? "null" : typeof task}`,
        );
      }
      const module = moduleHref(task.module);
      const name = task.export;
      this.#pool ??= createPool({ threads: this.workers, execArgv: this.#execArgv });
      const pool = this.#pool;
      return async (point) => {
        let reply: WorkerReply;
        try {
          reply = await pool.run({ module, export: name, point });
        } catch (e) {
          // the worker died, or the point or its result could not be copied between threads
          return { ok: false, error: errorInfo(e) };
        }
        if (reply.ok) return { ok: true, value: deserialize(reply.bytes) };
        if ("setup" in reply) throw new MemopipeError(`Runner: ${reply.setup}`);
        return reply;
      };
    }
    const fn = typeof task === "function" ? (task as (point: object) => unknown) : isTaskAddress(task) ? await importExport(task) : undefined;
    if (!fn) throw new MemopipeError(`runner.run(task, points): the task must be a function or task({ module, export }), got ${task === null ? "null" : typeof task}`);
    return async (point) => {
      try {
        return { ok: true, value: await fn(point) };
      } catch (e) {
        return { ok: false, error: errorInfo(e) };
      }
    };
  }
}

/** The in-process backend's view of a task addressed by module and export: import it here. */
async function importExport(task: TaskAddress): Promise<(point: object) => unknown> {
  const module = moduleHref(task.module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(module)) as Record<string, unknown>;
  } catch (e) {
    throw new MemopipeError(`Runner: cannot import the task module ${module}: ${errorInfo(e).message}`, { cause: e });
  }
  const fn = mod[task.export] ?? (mod.default as Record<string, unknown> | undefined)?.[task.export];
  if (typeof fn !== "function") throw new MemopipeError(`Runner: the task module ${module} has no exported function '${task.export}'`);
  return fn as (point: object) => unknown;
}

/**
 * Calls `body(i)` for i = 0 … n-1, at most `limit` at a time. `limit` loops each take the next
 * index when their previous call settles, so a slow point never holds up the others. When a call
 * throws (a setup error; point failures are outcomes, not throws), no new index is taken, the
 * calls under way finish, and the first error is rethrown.
 */
async function forEachLimited(n: number, limit: number, body: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const loop = async () => {
    while (!failure && next < n) {
      const i = next++;
      try {
        await body(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, loop));
  if (failure) throw failure.error;
}
