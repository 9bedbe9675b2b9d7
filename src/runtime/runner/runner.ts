import { availableParallelism } from "node:os";
import type { RunErrorRecord, PointOf, PointsCheck, RunResults, TaskAddress, WorkerTask } from "../../types/sweep.js";
import { MemopipeError } from "../errors.js";
import { isTaskAddress, moduleHref } from "./address.js";
import { errorInfo } from "./error-record.js";
import { createPool, type PointError, type ThreadPool } from "./pool.js";
import { progressReporter, type ProgressOptions, type ProgressReporter } from "./progress.js";
import { ChunkSizer, RangeQueue } from "./chunks.js";
import { POINT_TIMEOUT, RunAbortedError } from "./aborted.js";
import type { Backend } from "./backend.js";
import type { BullmqBackend } from "./bullmq/client.js";
import { checkBullmqOptions, type BullmqRunnerOptions } from "./bullmq/options.js";
import { onShutdown, shuttingDown } from "../shutdown.js";

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
   * - `"threads"`: the points run on `workers` worker threads (Node's `worker_threads`), a real speed-up for
   *   CPU-bound points. The task must be addressed by module and export (`task({ module, export })`).
   */
  readonly backend: "in-process" | "threads";
  /** Points in flight at once: worker threads for `"threads"` (default: the machine's parallelism), concurrent calls for `"in-process"` (default 1). */
  readonly workers?: number;
  /** A progress bar with ETA on a terminal, plain lines when piped (default `true`); `false` is silent. */
  readonly progress?: boolean | ProgressOptions;
  /** `threads`: the worker threads' Node flags (default: this process's). */
  readonly execArgv?: readonly string[];
  /**
   * The default `timeout` of this Runner's runs, in ms (see {@link RunOptions.timeout}); none by
   * default.
   */
  readonly timeout?: number;
  /**
   * `threads`: how many points one message to a worker thread carries. `"auto"` (default): as many
   * as take ~1 ms, measured as the sweep goes (one point per message until the first replies), so
   * tiny points cost no round trip each; a number: that many (`1`: one point per message).
   */
  readonly chunk?: number | "auto";
}

/**
 * Options of one `runner.run(task, points, options)`.
 *
 * @example
 * await runner.run(simulateTask, points, { timeout: 60_000, signal: AbortSignal.timeout(3_600_000) });
 */
export interface RunOptions {
  /**
   * A point that runs longer than this (ms) becomes an error record
   * `{ ...point, error: { name: "TimeoutError", message, code: "MEMOPIPE_POINT_TIMEOUT" } }` and the
   * sweep goes on. `threads`: its worker thread is stopped (even in an endless loop) and replaced;
   * the other points of its chunk (~1 ms of work) are computed again on another thread.
   * `in-process`: the point's result is no longer awaited, but it cannot be stopped (an endless
   * synchronous loop blocks the whole thread: use `threads` for such tasks). Not for `bullmq`
   * (use the job's own limits in the task).
   */
  readonly timeout?: number;
  /**
   * Stops the run: no point starts after the abort, the `threads` backend stops the threads
   * computing points (the Runner starts new ones on its next run), `bullmq` withdraws the points
   * still queued; `run` then rejects with a {@link RunAbortedError} holding the results that had
   * finished (in input order, `undefined` for the others) and the signal's reason as `cause`.
   */
  readonly signal?: AbortSignal;
}

/** The outcome of one point, before it becomes a result or an error record. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: PointError };

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
 * On threads, tiny points travel in chunks of ~1 ms of work (`chunk`); a point past its `timeout`
 * becomes an error record with `code: "MEMOPIPE_POINT_TIMEOUT"` (its thread is stopped and
 * replaced), and a `signal` stops the whole run with a {@link RunAbortedError} holding the results
 * so far.
 *
 * @example
 * import type { simulate } from "./points.js";
 * const points = grid({ classSize: [10, 20, 30], nSim: [1000, 10000] });
 * const runner = new Runner({ backend: "threads", workers: 2 });
 * const results = await runner.run(task<typeof simulate>({ module: new URL("./points.js", import.meta.url), export: "simulate" }), points);
 * for (const r of results) if ("error" in r) console.error(r.classSize, r.error.message);
 * // bounded: no point over a minute, the whole sweep stopped after an hour
 * await runner.run(simulateTask, points, { timeout: 60_000, signal: AbortSignal.timeout(3_600_000) });
 * await runner.close();
 */
export class Runner {
  /** Where the points run. */
  readonly backend: "in-process" | "threads" | "bullmq";
  /** Points in flight at once (worker threads for `threads`; 0 for `bullmq`, where each worker's `--concurrency` decides). */
  readonly workers: number;
  readonly #progress: boolean | ProgressOptions;
  readonly #execArgv: readonly string[] | undefined;
  readonly #timeout: number | undefined;
  readonly #chunk: number | "auto";
  #pool: ThreadPool | undefined;
  /** `threads`: each task's chunk sizer (its measured time per point), by module and export. */
  readonly #sizers = new Map<string, ChunkSizer>();
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
      this.#timeout = undefined;
      this.#chunk = "auto";
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
    this.#timeout = checkTimeout(options.timeout, "new Runner({ timeout })");
    const chunk = options.chunk ?? "auto";
    if (chunk !== "auto" && (!Number.isInteger(chunk) || chunk < 1)) throw new MemopipeError(`new Runner({ chunk }): chunk must be "auto" or a positive integer, got ${String(chunk)}`);
    this.#chunk = chunk;
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
  run<P extends object, R>(task: (point: P) => R, points: readonly P[], options?: RunOptions): Promise<Array<Awaited<R> | RunErrorRecord<P>>>;
  run<T extends WorkerTask | TaskAddress | ((point: never) => unknown), P extends object>(
    task: T,
    points: readonly P[] & PointsCheck<PointOf<T>, P>,
    options?: RunOptions,
  ): Promise<RunResults<T, P>>;
  async run(task: unknown, points: readonly object[], options: RunOptions = {}): Promise<unknown[]> {
    if (!Array.isArray(points)) throw new MemopipeError(`runner.run(task, points): points must be an array (grid(...) makes one), got ${points === null ? "null" : typeof points}`);
    if (options === null || typeof options !== "object") throw new MemopipeError(`runner.run(task, points, options): options must be an object, got ${options === null ? "null" : typeof options}`);
    const timeout = checkTimeout(options.timeout, "runner.run(task, points, { timeout })") ?? this.#timeout;
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new MemopipeError(`runner.run(task, points, { signal }): signal must be an AbortSignal, got ${signal === null ? "null" : typeof signal}`);
    const list = [...points] as object[];
    if (this.#bullmq) {
      if (timeout !== undefined) throw new MemopipeError(`runner.run(…, { timeout }): the bullmq backend has no per-point timeout (a point's job runs on another machine); bound the work in the task itself`);
      if (signal?.aborted) throw new RunAbortedError(new Array(list.length), signal.reason);
      return this.#runRemote(task, list, signal);
    }
    if (this.backend === "threads") return this.#runThreads(task, list, timeout, signal);
    const fn = await inProcessFunction(task);
    if (signal?.aborted) throw new RunAbortedError(new Array(list.length), signal.reason);
    return this.#runInProcess(fn, list, timeout, signal);
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
    await Promise.all([pool?.close("close"), remote?.then((b) => b.close(), () => undefined)]);
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
   * put in input order. Ctrl-C or SIGTERM, or the run's `signal`, withdraws the points still
   * waiting in the queue.
   */
  async #runRemote(task: unknown, list: object[], signal: AbortSignal | undefined): Promise<unknown[]> {
    const options = this.#bullmq!;
    this.#remote ??= import("./bullmq/client.js").then(({ BullmqBackend }) => new BullmqBackend(options));
    this.#remote.catch(() => (this.#remote = undefined));
    const run = await (await this.#remote).start(task);
    const offShutdown = onShutdown(() => run.close());
    const results = new Array<unknown>(list.length);
    const progress = progressReporter(this.#progress, list.length);
    let done = 0;
    let failed = 0;
    const work = (async () => {
      await run.submit(list.map((point, index) => ({ index, point })));
      for await (const { index, outcome } of run.settled()) {
        results[index] = outcome.ok ? outcome.value : { ...list[index], error: outcome.error };
        done++;
        if (!outcome.ok) failed++;
        progress.update(done, failed);
      }
      return results;
    })();
    const stop = abortPromise(signal);
    try {
      if (!stop) return await work;
      work.catch(() => undefined); // the abort wins: a late failure of the withdrawn run is nobody's
      return await Promise.race([work, stop.promise.then(() => Promise.reject(new RunAbortedError(results.slice(), signal!.reason)))]);
    } finally {
      stop?.dispose();
      progress.stop();
      offShutdown();
      await run.close();
    }
  }

  /** The pool of worker threads, started on the first threads run (and again after an abort closed it). */
  #threadPool(): ThreadPool {
    return (this.#pool ??= createPool({ threads: this.workers, execArgv: this.#execArgv }));
  }

  /**
   * A run on worker threads: chunks of consecutive points (sized by ./chunks.ts), two per thread
   * in flight; each reply's results go into their places, so the order is the input's.
   *
   * A chunk whose thread was stopped (a point past its timeout) or died comes back `lost` at the
   * point under way: that point gets its error record, the chunk's other points go back to the
   * front of the queue. A thread that dies before starting any point three times in a row fails
   * the run (its task module kills it on import, say), rather than starting threads forever.
   */
  async #runThreads(task: unknown, list: object[], timeout: number | undefined, signal: AbortSignal | undefined): Promise<unknown[]> {
    if (!isTaskAddress(task)) {
      throw new MemopipeError(
        typeof task === "function"
          ? `the threads backend cannot send a function to a worker thread: export it from a module and address it with task({ module: new URL("./points.js", import.meta.url), export: "${task.name || "simulate"}" })`
          : `runner.run(task, points): the task must be task({ module, export }), got ${task === null ? "null" : typeof task}`,
      );
    }
    const module = moduleHref(task.module);
    const name = task.export;
    if (signal?.aborted) throw new RunAbortedError(new Array(list.length), signal.reason);
    const n = list.length;
    const results = new Array<unknown>(n);
    const queue = new RangeQueue(n);
    // the measured time per point carries over to the next run of the same task
    const key = `${module}#${name}`;
    let sizer = this.#sizers.get(key);
    if (!sizer) {
      sizer = new ChunkSizer(this.#chunk);
      if (this.#sizers.size >= 64) this.#sizers.clear();
      this.#sizers.set(key, sizer);
    }
    const slots = this.workers * 2;
    const progress = progressReporter(this.#progress, n);
    let done = 0;
    let failed = 0;
    let emptyDeaths = 0;
    let failure: { error: unknown } | undefined;
    let aborted = false;
    let active = 0;

    return new Promise<unknown[]>((resolve, reject) => {
      const stop = abortPromise(signal);
      const settle = () => {
        if (aborted) return;
        stop?.dispose();
        progress.stop();
        if (failure) reject(failure.error);
        else resolve(results);
      };
      stop?.promise.then(async () => {
        aborted = true;
        const partial = results.slice();
        // the threads computing points stop now; the next run starts new ones
        const pool = this.#pool;
        this.#pool = undefined;
        await pool?.close("abort");
        stop.dispose();
        progress.stop();
        reject(new RunAbortedError(partial, signal!.reason));
      });
      const record = (i: number, error: PointError) => {
        const { name: errorName, message, code } = error;
        results[i] = { ...list[i], error: code === undefined ? { name: errorName, message } : { name: errorName, message, code } };
      };
      const loop = async () => {
        active++;
        try {
          while (!failure && !aborted) {
            const range = queue.take(sizer.next(queue.remaining, slots));
            if (!range) break;
            const [start, end] = range;
            const outcome = await this.#threadPool().runChunk({ module, export: name, points: list.slice(start, end), timeoutMs: timeout });
            if (aborted || failure) break;
            switch (outcome.kind) {
              case "done": {
                const { values, errors } = outcome;
                for (let i = 0; i < values.length; i++) results[start + i] = values[i];
                if (errors) for (const [i, error] of errors) record(start + i, error);
                done += end - start;
                failed += errors?.size ?? 0;
                emptyDeaths = 0;
                sizer.observe(outcome.ms, end - start);
                progress.update(done, failed);
                break;
              }
              case "setup":
                failure ??= { error: new MemopipeError(`Runner: ${outcome.message}`) };
                break;
              case "lost":
                if (outcome.at !== undefined) {
                  record(start + outcome.at, outcome.error!);
                  done++;
                  failed++;
                  emptyDeaths = 0;
                  queue.putBack(start + outcome.at + 1, end);
                  queue.putBack(start, start + outcome.at);
                  progress.update(done, failed);
                } else {
                  queue.putBack(start, end);
                  if (outcome.error && ++emptyDeaths >= 3) failure ??= { error: new MemopipeError(`Runner: worker threads keep dying before computing a point of ${module}#${name}: ${outcome.error.message}`) };
                }
                // the chunk's other points went back: make sure enough loops take them
                while (active < slots && queue.remaining > 0 && !failure) void loop();
                break;
              case "closed":
                if (outcome.reason === "shutdown" || shuttingDown()) await new Promise<never>(() => {}); // the process is dying
                if (outcome.reason === "close") failure ??= { error: new MemopipeError("Runner: runner.close() was called while a run was under way") };
                // "abort": another run of this Runner aborted and closed the pool; the next chunk starts a new one
                else queue.putBack(start, end);
                break;
            }
          }
        } catch (error) {
          failure ??= { error };
        } finally {
          if (--active === 0) settle();
        }
      };
      if (n === 0) return settle();
      for (let i = 0; i < Math.min(slots, n); i++) void loop();
    });
  }

  /** A run in this thread, `workers` points at a time. */
  async #runInProcess(fn: (point: object) => unknown, list: object[], timeout: number | undefined, signal: AbortSignal | undefined): Promise<unknown[]> {
    const results = new Array<unknown>(list.length);
    const progress: ProgressReporter = progressReporter(this.#progress, list.length);
    let done = 0;
    let failed = 0;
    let aborted = false;
    const stop = abortPromise(signal);
    try {
      const work = forEachLimited(list.length, this.workers, () => aborted, async (i) => {
        const point = list[i]!;
        const outcome = await computeInProcess(fn, point, timeout);
        if (aborted) return;
        results[i] = outcome.ok ? outcome.value : { ...point, error: outcome.error };
        done++;
        if (!outcome.ok) failed++;
        progress.update(done, failed);
      });
      if (!stop) await work;
      else {
        work.catch(() => undefined);
        await Promise.race([
          work,
          stop.promise.then(() => {
            aborted = true;
            // points already under way cannot be stopped in this thread: they finish unawaited
            return Promise.reject(new RunAbortedError(results.slice(), signal!.reason));
          }),
        ]);
      }
    } finally {
      stop?.dispose();
      progress.stop();
    }
    return results;
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

/** The function an in-process run calls: the task itself, or the export it addresses (imported here). */
async function inProcessFunction(task: unknown): Promise<(point: object) => unknown> {
  const fn = typeof task === "function" ? (task as (point: object) => unknown) : isTaskAddress(task) ? await importExport(task) : undefined;
  if (!fn) throw new MemopipeError(`runner.run(task, points): the task must be a function or task({ module, export }), got ${task === null ? "null" : typeof task}`);
  return fn;
}

/**
 * One point in this thread; past `timeout` ms its outcome is a TimeoutError (the call itself goes
 * on: nothing can stop a function in the thread that awaits it).
 */
async function computeInProcess(fn: (point: object) => unknown, point: object, timeout: number | undefined): Promise<Outcome> {
  const call = (async (): Promise<Outcome> => {
    try {
      return { ok: true, value: await fn(point) };
    } catch (e) {
      return { ok: false, error: errorInfo(e) };
    }
  })();
  if (timeout === undefined) return call;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, error: { name: "TimeoutError", message: `the point ran past its timeout of ${timeout} ms (in-process: it could not be stopped and may still be running; the threads backend stops it)`, code: POINT_TIMEOUT } }),
      timeout,
    );
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A timeout option: a positive number of ms (Infinity: none), or undefined. */
function checkTimeout(timeout: unknown, where: string): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || !(timeout > 0) || !Number.isFinite(timeout)) throw new MemopipeError(`${where}: timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  return timeout;
}

/** A promise that resolves when `signal` aborts (never, if it does not), and how to stop listening. */
function abortPromise(signal: AbortSignal | undefined): { promise: Promise<void>; dispose: () => void } | undefined {
  if (!signal) return undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", (onAbort = () => resolve()), { once: true });
  });
  return { promise, dispose: () => onAbort && signal.removeEventListener("abort", onAbort) };
}

/**
 * Calls `body(i)` for i = 0 … n-1, at most `limit` at a time. `limit` loops each take the next
 * index when their previous call settles, so a slow point never holds up the others. When a call
 * throws (a setup error; point failures are outcomes, not throws), no new index is taken, the
 * calls under way finish, and the first error is rethrown. No new index either once `stopped()`.
 */
async function forEachLimited(n: number, limit: number, stopped: () => boolean, body: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const loop = async () => {
    while (!failure && !stopped() && next < n) {
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
