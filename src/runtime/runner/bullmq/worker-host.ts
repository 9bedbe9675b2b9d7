/**
 * A process serving a queue (`memopipe worker`): a BullMQ Worker running memopipe's processor,
 * optionally with a pool of worker threads for the points, and its shutdown.
 *
 * ## Crash safety (BullMQ's lock and stalled check, with memopipe's defaults)
 * A worker holds a lock on each job it runs, renewed every `lockMs / 2`. A worker that dies
 * (SIGKILL, a lost machine) stops renewing: its lock expires `lockMs` after the last renewal, and
 * the stalled check that another worker runs every `lockMs / 2` puts the job back in the queue. So
 * **a dead worker's job is retried within `lockMs` + 2 × `lockMs / 2` = 2 × `lockMs`** (20 s with
 * the default 10 s; BullMQ's own defaults give ~60 s), up to `maxStalls` times (default 3; BullMQ's
 * default 1 fails a job at its second crash). The lock is renewed on this process's event loop: a
 * point that blocks the loop longer than `lockMs` (a long synchronous computation in this thread)
 * loses its lock and may run twice — use threads (`--threads K`) for CPU-bound points; the results
 * stay right either way (the caller keeps the first result of each point).
 *
 * ## Shutdown
 * `stop()` takes no new job and lets the jobs under way finish; `handBack()` puts the jobs under way
 * back in the queue at once (for another worker), abandoning their computation.
 */
import type { ConnectionOptions, Job, Worker } from "bullmq";
import { RedisStore } from "../../cache/redis-store.js";
import { importOptional } from "../../optional-package.js";
import { bullmqConnection, describeConnection, type RedisConnection } from "../../redis/connection.js";
import { createPool, type ThreadPool } from "../pool.js";
import { errorFromReason } from "./job-format.js";
import { createProcessor, WORKER_ID } from "./processor.js";
import { CODE_REFUSAL, SETUP_REFUSAL } from "./errors.js";
import { taskName } from "./task-code.js";
import type { StageJobs } from "./stage-job.js";

type Bullmq = typeof import("bullmq");

/**
 * What a worker logs: one event per job that ends (or goes back to the queue), and its own
 * comings and goings.
 *
 * @example
 * const e: WorkerEvent = { kind: "done", job: "mp-3fa2-7", task: "src/points.ts#simulate", point: '{"n":7}', seconds: 0.42, attempt: 1, attempts: 3 };
 */
export type WorkerEvent =
  | {
      readonly kind: "done" | "failed" | "retry" | "refused" | "handed-back";
      readonly job: string;
      readonly task: string;
      /** The point as JSON (cut to 80 characters), when it travelled inline as JSON. */
      readonly point: string | undefined;
      readonly seconds: number;
      readonly attempt: number;
      readonly attempts: number;
      readonly message?: string;
    }
  | { readonly kind: "ready"; readonly message: string }
  | { readonly kind: "problem"; readonly message: string };

/**
 * Options of a worker process.
 *
 * @example
 * await startWorker({ queue: "sweeps", concurrency: 4, threads: 2, root: process.cwd(), log: console.log });
 */
export interface WorkerHostOptions {
  readonly connection?: RedisConnection;
  readonly queue: string;
  /** Jobs in flight at once. */
  readonly concurrency: number;
  /** Worker threads for the points (0: in this thread). */
  readonly threads: number;
  /** The project root the jobs' modules are relative to. */
  readonly root: string;
  /** BullMQ's key prefix (default `bull`). */
  readonly prefix?: string;
  /** The job lock's duration in ms (default 10 s): a dead worker's job is retried within twice this. */
  readonly lockMs?: number;
  /** How many times a job may lose its worker before it fails (default 3). */
  readonly maxStalls?: number;
  readonly log: (event: WorkerEvent) => void;
  /** How to run a DAG's stages (src/dsl/stage-jobs.ts; `memopipe worker` gives it). */
  readonly stages?: StageJobs;
}

/**
 * A running worker.
 *
 * @example
 * const host = await startWorker(options);
 * process.once("SIGTERM", () => void host.stop());
 * await host.closed;
 */
export interface WorkerHost {
  /** Resolves once the worker has stopped and its connections are closed. */
  readonly closed: Promise<void>;
  /** Jobs under way now. */
  active(): number;
  /** Takes no new job, lets the jobs under way finish, then closes. */
  stop(): Promise<void>;
  /** Puts the jobs under way back in the queue now, then closes. */
  handBack(): Promise<void>;
}

/** The default lock duration of `memopipe worker` (ms). */
export const DEFAULT_LOCK_MS = 10_000;

/**
 * Starts serving a queue.
 *
 * @throws MissingPackageError when bullmq or ioredis is not installed.
 * @example
 * const host = await startWorker({ connection: "redis://10.0.0.5:6379", queue: "sweeps", concurrency: 8, threads: 0, root, log });
 */
export async function startWorker(options: WorkerHostOptions): Promise<WorkerHost> {
  const bullmq = await importOptional<Bullmq>("bullmq", "bullmq");
  const lockMs = options.lockMs ?? DEFAULT_LOCK_MS;
  const stores = new Map<string, RedisStore>();
  const blobs = (namespace: string | undefined): RedisStore => {
    const key = namespace ?? "";
    let store = stores.get(key);
    if (!store) {
      // The claim's lease is the job's lock: a worker that dies mid-stage loses both at the same
      // time, so the stage is taken over elsewhere within the job's bound (2 × lock), not a longer lease.
      store = new RedisStore({ ...(options.connection !== undefined ? { connection: options.connection } : {}), ...(namespace ? { namespace } : {}), leaseMs: lockMs });
      stores.set(key, store);
    }
    return store;
  };
  const pool: ThreadPool | undefined = options.threads > 0 ? createPool({ threads: options.threads }) : undefined;
  const handBack = new AbortController();
  const processor = createProcessor({ bullmq, root: options.root, blobs, handBack: handBack.signal, ...(pool ? { pool } : {}), ...(options.stages ? { stages: options.stages } : {}) });
  const started = new Map<string, number>();
  const worker: Worker = new bullmq.Worker(
    options.queue,
    async (job: Job, token?: string) => {
      started.set(job.id!, performance.now());
      try {
        return await processor(job, token);
      } catch (error) {
        if (error instanceof bullmq.WaitingError) report(job, "handed-back");
        throw error;
      }
    },
    {
      connection: bullmqConnection(options.connection) as ConnectionOptions,
      prefix: options.prefix ?? "bull",
      concurrency: options.concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(250, Math.floor(lockMs / 2)),
      maxStalledCount: options.maxStalls ?? 3,
      autorun: false,
    },
  );

  function report(job: Job, kind: "done" | "failed" | "retry" | "refused" | "handed-back", message?: string): void {
    const t0 = started.get(job.id!);
    started.delete(job.id!);
    const data = job.data as { module?: unknown; export?: unknown; value?: { json?: unknown } } | undefined;
    let point: string | undefined;
    if (data?.value && typeof data.value === "object" && "json" in data.value) {
      const text = JSON.stringify(data.value.json);
      point = text.length > 80 ? `${text.slice(0, 79)}…` : text;
    }
    options.log({
      kind,
      job: job.id ?? "?",
      task: typeof data?.module === "string" && typeof data.export === "string" ? taskName(data.module, data.export) : job.name,
      point,
      seconds: t0 === undefined ? 0 : (performance.now() - t0) / 1000,
      attempt: Math.max(1, job.attemptsMade),
      attempts: job.opts.attempts ?? 1,
      ...(message !== undefined ? { message } : {}),
    });
  }

  worker.on("completed", (job) => report(job, "done"));
  worker.on("failed", (job, error) => {
    if (!job) return;
    const { name, message } = errorFromReason(error.message);
    if (name === CODE_REFUSAL || name === SETUP_REFUSAL) report(job, "refused", message);
    else report(job, job.attemptsMade < (job.opts.attempts ?? 1) && error.name !== "UnrecoverableError" ? "retry" : "failed", `${name}: ${message}`);
  });
  let lastProblem = "";
  worker.on("error", (error) => {
    const message = error instanceof Error ? error.message : String(error);
    if (message === lastProblem) return; // a Redis that is away reports the same error at every retry
    lastProblem = message;
    options.log({ kind: "problem", message });
  });

  const closed = (async () => {
    await worker.waitUntilReady();
    options.log({
      kind: "ready",
      message: `worker ${WORKER_ID} serving queue '${options.queue}' on ${describeConnection(options.connection)}: ${options.concurrency} at a time, ${options.threads > 0 ? `${options.threads} thread${options.threads === 1 ? "" : "s"}` : "in this thread"}, project ${options.root}`,
    });
    await worker.run();
  })();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await worker.close();
      await closed.catch(() => undefined);
      await pool?.close();
      await Promise.allSettled([...stores.values()].map((s) => s.close()));
    })());
  return {
    closed: closed.then(
      () => close(),
      async (error: unknown) => {
        await close();
        throw error;
      },
    ),
    active: () => started.size,
    stop: close,
    handBack: () => {
      handBack.abort();
      return close();
    },
  };
}
