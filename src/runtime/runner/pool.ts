import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MemopipeError } from "../errors.js";
import { onShutdown, shuttingDown } from "../shutdown.js";
import type * as WorkerThreads from "node:worker_threads";
import { SLOT_BYTES, SLOT_INDEX, SLOT_SEQ, SLOT_STARTED, tsxEsmApi, type ChunkMessage, type ChunkReply, type WorkerReply, type WorkerRequest } from "./worker.js";

/**
 * This module's own file. ESM (the sources, `dist/index.js`): `import.meta.url`; CommonJS
 * (`dist/index.cjs`, where esbuild leaves `import.meta` empty): `__filename`. `typeof` keeps the
 * ESM build from touching the undefined `__filename`.
 */
function thisFile(): string {
  if (typeof __filename === "string" && __filename) return __filename;
  return fileURLToPath(import.meta.url);
}

/**
 * The worker script every thread of the pool imports. Two layouts:
 *
 * - **sources** (vitest, tsx, or `src/` compiled file by file): this file is `pool.ts`/`pool.js`
 *   and the worker is its sibling `worker.ts`/`worker.js`;
 * - **the bundle** (`dist/index.js`, `dist/index.cjs`): everything is in one file, and the worker
 *   is its own bundle entry next to it, `dist/runner-worker.js` (or `.cjs`).
 *
 * @example
 * workerScript(); // "/app/node_modules/memopipe/dist/runner-worker.js"
 */
export function workerScript(): string {
  const file = thisFile();
  const dir = dirname(file);
  const candidates = /^pool\.[cm]?[jt]s$/.test(basename(file))
    ? [join(dir, basename(file).replace(/^pool/, "worker"))]
    : [join(dir, "runner-worker.js"), join(dir, "runner-worker.cjs"), join(dir, "runner-worker.mjs")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new MemopipeError(`the Runner's worker script is missing: looked for ${candidates.join(", ")} (the build must emit it next to ${basename(file)})`);
  }
  return found;
}

/**
 * What the bootstrap of each thread runs (an `eval` worker, so that no extra file ships): it
 * registers tsx first when the worker script is TypeScript (the sources, under vitest or tsx:
 * `--import tsx` in a worker's `execArgv` does not install tsx's ESM hooks in worker threads on
 * Node 20), imports the worker script and starts its loop. A failure to start is posted as
 * `{ fatal }`, which fails the chunks sent to that thread as a setup error. Written to run as a
 * script and as a module alike (no `require`): a worker inherits `--input-type=module` from a
 * `node --input-type=module -e …` parent, which makes its `eval` code a module.
 */
const BOOTSTRAP = `const { workerData, parentPort } = process.getBuiltinModule("node:worker_threads");
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  const m = await import(workerData.script);
  (m.serveChunks ?? m.default.serveChunks)();
})().catch((e) => parentPort.postMessage({ fatal: String((e && e.message) || e) }));`;

/**
 * A point's failure as the pool reports it: `code` for the failures the pool itself makes
 * (`MEMOPIPE_POINT_TIMEOUT`, `MEMOPIPE_WORKER_DIED`, `MEMOPIPE_UNCLONABLE_POINT`).
 *
 * @example
 * const e: PointError = { name: "TimeoutError", message: "…", code: "MEMOPIPE_POINT_TIMEOUT" };
 */
export interface PointError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/**
 * What became of a chunk:
 * - `done`: every point computed, `values[i]` for each (`undefined` where `errors` has `i`);
 * - `setup`: the task cannot run at all (no such module or export): the whole run fails;
 * - `lost`: its thread was stopped (a point past its timeout) or died; the point at index `at`
 *   failed with `error`, the others (before it: computed, but their results died with the
 *   thread; after it: not started) must be computed again. `at` is absent when no point of the
 *   chunk had started: all of them go again;
 * - `closed`: the pool was closed (`close()`, an abort, a shutdown) before the chunk finished.
 *
 * @example
 * const o: ChunkOutcome = { kind: "lost", at: 3, error: { name: "TimeoutError", message: "…", code: "MEMOPIPE_POINT_TIMEOUT" } };
 */
export type ChunkOutcome =
  | { readonly kind: "done"; readonly values: unknown[]; readonly errors: ReadonlyMap<number, PointError> | undefined; readonly ms: number }
  | { readonly kind: "setup"; readonly message: string }
  | { readonly kind: "lost"; readonly at?: number; readonly error?: PointError }
  | { readonly kind: "closed"; readonly reason: CloseReason };

/** Why a pool closed: `close()`, an `AbortSignal` of a run, or the process shutting down (Ctrl-C, SIGTERM). */
export type CloseReason = "close" | "abort" | "shutdown";

/**
 * A chunk to compute.
 *
 * @example
 * const r: ChunkRequest = { module: "file:///app/points.js", export: "simulate", points: [{ n: 1 }], timeoutMs: 500 };
 */
export interface ChunkRequest {
  readonly module: string;
  readonly export: string;
  readonly points: readonly unknown[];
  /** A point running longer than this stops its thread (a new one takes its place). */
  readonly timeoutMs?: number | undefined;
  /** Values back as `v8.serialize` bytes (the bullmq worker). */
  readonly bytes?: boolean;
}

/**
 * A pool of worker threads running the generic worker script (./worker.ts).
 *
 * @example
 * const pool: ThreadPool = createPool({ threads: 2 });
 */
export interface ThreadPool {
  /** Computes a chunk of points on one thread (the least busy). Never rejects: see {@link ChunkOutcome}. */
  runChunk(request: ChunkRequest, limit?: number): Promise<ChunkOutcome>;
  /** Computes one point (the bullmq worker's form). Rejects when its thread dies or the point cannot be sent. */
  run(request: WorkerRequest): Promise<WorkerReply>;
  /** The worker threads' count. */
  readonly threads: number;
  /** Stops the threads; chunks not finished settle as `closed` with `reason`. Idempotent. */
  close(reason?: CloseReason): Promise<void>;
}

/** A chunk on its way: where its replies go, and which of the request's points were sent. */
interface Pending {
  readonly seq: number;
  readonly request: ChunkRequest;
  readonly resolve: (outcome: ChunkOutcome) => void;
  /** The request's indices of the points sent, when some could not be (`unclonable`); else all. */
  readonly sent: readonly number[] | undefined;
  readonly unclonable: ReadonlyMap<number, PointError> | undefined;
}

/** One thread of the pool. */
interface Thread {
  readonly worker: WorkerThreads.Worker;
  readonly slot: Float64Array;
  /** Chunks posted and not replied to, oldest (the one under way) first. */
  readonly queue: Pending[];
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the head chunk became the head (ms since the epoch). */
  headSince: number;
  gone: boolean;
  /** A start failure (`{ fatal }`): every chunk sent here is a setup failure. */
  fatal: string | undefined;
}

/** The longest a thread may take to start the first point of its head chunk (importing the task module) before the run fails. */
const START_LIMIT_MS = 30_000;
const nowEpoch = () => performance.timeOrigin + performance.now();

/**
 * Starts `threads` worker threads (all at once, kept until `close()`; idle threads do not keep the
 * process alive) and hands them chunks of points.
 *
 * - **Dispatch**: a chunk goes to the thread with the fewest chunks queued (the Runner keeps two
 *   per thread in flight, so a thread that finishes one finds the next already there).
 * - **Timeout**: while a chunk with `timeoutMs` is under way on a thread, one timer watches it;
 *   when it fires, the thread's shared slot says which point is under way and since when. Past
 *   the timeout the thread is terminated (a synchronous infinite loop included: `terminate()`
 *   stops JavaScript wherever it is) and a new one started; the chunk settles as `lost`.
 * - **Death**: a thread that exits or throws outside a point (a crash, `process.exit` in the
 *   task, out of memory) is replaced the same way; the point under way is the one that failed.
 *
 * @example
 * const pool = createPool({ threads: 2 });
 * await pool.runChunk({ module: "file:///app/points.js", export: "simulate", points: [{ n: 1 }, { n: 2 }] });
 * await pool.close();
 */
export function createPool(options: { threads: number; execArgv?: readonly string[] | undefined }): ThreadPool {
  const { Worker } = process.getBuiltinModule("node:worker_threads");
  const filename = workerScript();
  const script = pathToFileURL(filename).href;
  const tsxApi = /\.[mc]?ts$/.test(filename) ? tsxEsmApi(filename) : undefined;
  if (/\.[mc]?ts$/.test(filename) && !tsxApi) {
    throw new MemopipeError(`the Runner's worker script is TypeScript (${filename}): running memopipe from its sources needs tsx installed`);
  }
  const tsxHref = tsxApi ? pathToFileURL(tsxApi).href : undefined;
  const execArgv = options.execArgv ? [...options.execArgv] : undefined;
  let threads: Thread[] = [];
  let seq = 0;
  let closed: CloseReason | undefined;
  let closing: Promise<void> | undefined;

  const spawn = (): Thread => {
    const buffer = new SharedArrayBuffer(SLOT_BYTES);
    const slot = new Float64Array(buffer);
    slot[SLOT_INDEX] = -1;
    slot[SLOT_SEQ] = -1;
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { script, tsxApi: tsxHref, slot: buffer }, ...(execArgv ? { execArgv } : {}) });
    const thread: Thread = { worker, slot, queue: [], timer: undefined, headSince: 0, gone: false, fatal: undefined };
    worker.on("message", (m: ChunkReply | { fatal: string }) => onMessage(thread, m));
    worker.on("error", (e: unknown) => lose(thread, { name: "WorkerThreadError", message: `the worker thread died while computing this point: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, code: "MEMOPIPE_WORKER_DIED" }));
    worker.on("exit", (code: number) => lose(thread, { name: "WorkerThreadError", message: `the worker thread exited (code ${code}) while computing this point`, code: "MEMOPIPE_WORKER_DIED" }));
    worker.unref();
    return thread;
  };

  const onMessage = (thread: Thread, m: ChunkReply | { fatal: string }): void => {
    if (thread.gone) return;
    if ("fatal" in m) {
      thread.fatal = `a worker thread could not start: ${m.fatal}`;
      for (const p of thread.queue.splice(0)) p.resolve({ kind: "setup", message: thread.fatal });
      idle(thread);
      return;
    }
    const p = thread.queue.shift();
    if (!p || p.seq !== m.seq) return; // cannot happen: a thread answers in order
    clearWatch(thread);
    if (thread.queue.length === 0) idle(thread);
    else watch(thread);
    drain();
    if ("setup" in m) {
      p.resolve({ kind: "setup", message: m.setup });
      return;
    }
    p.resolve(expand(p, m.values, m.errors, m.ms));
  };

  /** The reply of a chunk some of whose points could not be sent, in the request's indices. */
  const expand = (p: Pending, values: unknown[], errors: Array<[number, string, string]> | undefined, ms: number): ChunkOutcome => {
    const sent = p.sent;
    let map: Map<number, PointError> | undefined;
    if (errors) {
      map = new Map();
      for (const [i, name, message] of errors) map.set(sent ? sent[i]! : i, { name, message });
    }
    if (!sent) return { kind: "done", values, errors: map, ms };
    const all = new Array<unknown>(p.request.points.length);
    for (let i = 0; i < sent.length; i++) all[sent[i]!] = values[i];
    map ??= new Map();
    for (const [i, e] of p.unclonable!) map.set(i, e);
    return { kind: "done", values: all, errors: map, ms };
  };

  const idle = (thread: Thread) => {
    clearWatch(thread);
    thread.worker.unref();
  };
  const clearWatch = (thread: Thread) => {
    if (thread.timer !== undefined) clearTimeout(thread.timer);
    thread.timer = undefined;
  };

  /** Watches the head chunk of `thread` (when it has a timeout): see createPool's comment. */
  const watch = (thread: Thread): void => {
    const head = thread.queue[0];
    if (!head) return;
    thread.headSince = nowEpoch();
    const timeout = head.request.timeoutMs;
    if (timeout === undefined || !Number.isFinite(timeout)) return;
    const check = () => {
      thread.timer = undefined;
      if (thread.gone || thread.queue[0] !== head) return;
      const now = nowEpoch();
      const { slot } = thread;
      const index = slot[SLOT_INDEX]!;
      if (slot[SLOT_SEQ] === head.seq && index >= 0) {
        const elapsed = now - slot[SLOT_STARTED]!;
        if (elapsed >= timeout) {
          const at = head.sent ? head.sent[index]! : index;
          lose(thread, { name: "TimeoutError", message: `the point ran past its timeout of ${timeout} ms: its worker thread was stopped and replaced`, code: "MEMOPIPE_POINT_TIMEOUT" }, at);
          return;
        }
        thread.timer = setTimeout(check, Math.max(1, timeout - elapsed));
        return;
      }
      if (now - thread.headSince > Math.max(START_LIMIT_MS, timeout)) {
        const message = `a worker thread did not start a point of ${head.request.module}#${head.request.export} within ${Math.max(START_LIMIT_MS, timeout) / 1000} s (does importing the module hang?)`;
        kill(thread);
        for (const p of thread.queue.splice(0)) p.resolve({ kind: "setup", message });
        return;
      }
      thread.timer = setTimeout(check, Math.max(1, timeout));
    };
    thread.timer = setTimeout(check, timeout);
  };

  const kill = (thread: Thread) => {
    thread.gone = true;
    clearWatch(thread);
    threads = threads.filter((t) => t !== thread);
    void thread.worker.terminate();
    if (!closed) threads.push(spawn());
  };

  /**
   * The thread stopped (terminated past a timeout, or died): its head chunk is `lost` at the point
   * under way (`at`, or what the slot says), the chunks queued behind it are lost whole.
   */
  const lose = (thread: Thread, error: PointError, at?: number): void => {
    if (thread.gone) return;
    const head = thread.queue[0];
    if (at === undefined && head && thread.slot[SLOT_SEQ] === head.seq && thread.slot[SLOT_INDEX]! >= 0) {
      const index = thread.slot[SLOT_INDEX]!;
      at = head.sent ? head.sent[index]! : index;
    }
    kill(thread);
    const queue = thread.queue.splice(0);
    if (closed) {
      for (const p of queue) p.resolve({ kind: "closed", reason: closed });
      return;
    }
    queue.forEach((p, i) => p.resolve(i > 0 ? { kind: "lost" } : at !== undefined ? { kind: "lost", at, error } : { kind: "lost", error }));
    drain();
  };

  /** Requests waiting for a thread with room (only `run`'s, which take a thread that has nothing queued). */
  const waiting: Array<() => boolean> = [];
  const drain = () => {
    while (waiting.length > 0 && waiting[0]!()) waiting.shift();
  };
  const leastBusy = (): Thread => {
    let thread = threads[0]!;
    for (const t of threads) if (t.queue.length < thread.queue.length) thread = t;
    return thread;
  };

  /**
   * Posts `request` to the least busy thread. `limit`: the most chunks a thread may have queued for
   * this one to join them (the Runner keeps two per thread in flight itself: no limit; `run`, one
   * point per call from many concurrent jobs: 1, so a point waits for the first thread to be free,
   * as in a central queue, rather than behind a long point on a busy thread).
   */
  const runChunk = (request: ChunkRequest, limit = Infinity): Promise<ChunkOutcome> =>
    new Promise<ChunkOutcome>((resolve) => {
      const attempt = (): boolean => {
        if (closed) {
          resolve({ kind: "closed", reason: closed });
          return true;
        }
        const thread = leastBusy();
        if (thread.queue.length >= limit) return false;
        post(thread, request, resolve);
        return true;
      };
      if (!attempt()) waiting.push(attempt);
    });

  const post = (thread: Thread, request: ChunkRequest, resolve: (outcome: ChunkOutcome) => void): void => {
    {
      if (thread.fatal) return resolve({ kind: "setup", message: thread.fatal });
      const pending: Pending = { seq: seq++, request, resolve, sent: undefined, unclonable: undefined };
      const message: ChunkMessage = { seq: pending.seq, module: request.module, export: request.export, points: request.points, ...(request.bytes ? { bytes: true } : {}) };
      try {
        thread.worker.postMessage(message);
        enqueue(thread, pending);
      } catch {
        // A point that cannot be copied to a thread (it holds a function, say) is that point's
        // error; the others go.
        const unclonable = new Map<number, PointError>();
        const sent: number[] = [];
        request.points.forEach((point, i) => {
          try {
            structuredClone(point);
            sent.push(i);
          } catch (e) {
            unclonable.set(i, { name: "DataCloneError", message: `the point cannot be sent to a worker thread: ${(e as Error).message}`, code: "MEMOPIPE_UNCLONABLE_POINT" });
          }
        });
        const partial: Pending = { ...pending, sent, unclonable };
        if (sent.length === 0) return resolve(expand(partial, [], undefined, 0));
        thread.worker.postMessage({ ...message, points: sent.map((i) => request.points[i]) });
        enqueue(thread, partial);
      }
    }
  };

  const enqueue = (thread: Thread, pending: Pending) => {
    thread.queue.push(pending);
    if (thread.queue.length === 1) {
      thread.worker.ref();
      watch(thread);
    }
  };

  const close = (reason: CloseReason = "close"): Promise<void> => {
    if (closing) return closing;
    closed = reason;
    offShutdown();
    const all = threads;
    threads = [];
    for (const t of all) {
      t.gone = true;
      clearWatch(t);
      for (const p of t.queue.splice(0)) p.resolve({ kind: "closed", reason });
    }
    drain();
    return (closing = Promise.all(all.map((t) => t.worker.terminate())).then(() => undefined));
  };

  for (let i = 0; i < options.threads; i++) threads.push(spawn());
  // Ctrl-C or SIGTERM closes the workers before the process dies (runtime/shutdown.ts).
  const offShutdown = onShutdown(() => close("shutdown"));

  return {
    threads: options.threads,
    runChunk,
    run: async (request) => {
      let outcome: ChunkOutcome;
      // a point queued behind one that killed its thread never started: it goes again
      do outcome = await runChunk({ module: request.module, export: request.export, points: [request.point], bytes: true }, 1);
      while (outcome.kind === "lost" && outcome.error === undefined);
      switch (outcome.kind) {
        case "done": {
          const error = outcome.errors?.get(0);
          return error ? { ok: false, error: { name: error.name, message: error.message } } : { ok: true, bytes: outcome.values[0] as Uint8Array };
        }
        case "setup":
          return { ok: false, setup: outcome.message };
        case "lost":
          throw Object.assign(new Error(outcome.error?.message ?? "the worker thread died before computing the point"), { name: "WorkerThreadError" });
        case "closed":
          // A point cut short by a shutdown never settles: the program must not act on error
          // records in the moments before the process dies.
          if (shuttingDown() || outcome.reason === "shutdown") return new Promise<never>(() => {});
          throw new MemopipeError("the worker pool was closed before the point was computed");
      }
    },
    close,
  };
}
