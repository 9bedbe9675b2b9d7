/**
 * The worker's side of a job (`memopipe worker`): check that the job is one this worker can run
 * with the caller's code, compute the point (in this thread, or on a worker thread), and hand the
 * result back through BullMQ.
 *
 * What a worker refuses, before computing anything (an `UnrecoverableError`: no retry, since every
 * retry would be refused the same way, and the caller's run fails with the worker's words):
 * - a job of another format, or not a memopipe job;
 * - a module outside the project root, missing from this checkout, or without that export;
 * - **other code**: this worker's fingerprint of the task differs from the one in the job.
 *
 * A point that throws fails its attempt with `Name: message`, and BullMQ tries it again (on any
 * worker) until its attempts are spent; its last error becomes the point's error record. A worker
 * thread that dies (a crash in native code, `process.exit` in the task, out of memory) fails only
 * that attempt, at once, instead of the whole worker process.
 */
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { Job } from "bullmq";
import runPoint, { loadTask, type WorkerReply } from "../worker.js";
import type { ThreadPool } from "../pool.js";
import { errorInfo } from "../error-record.js";
import type { CacheStore } from "../../cache/types.js";
import { CODE_REFUSAL, INPUTS_REFUSAL, SETUP_REFUSAL } from "./errors.js";
import { decodeValue, encodeBytes, failureReason, JOB_FORMAT, readJob, type BlobStore } from "./job-format.js";
import type { StageJob, StageJobs } from "./stage-job.js";
import { moduleUnderRoot, taskFingerprint, taskName } from "./task-code.js";

type Bullmq = typeof import("bullmq");

/** This worker, in messages: `host:pid`. */
export const WORKER_ID = `${hostname()}:${process.pid}`;

/**
 * What a processor needs.
 *
 * @example
 * createProcessor({ bullmq, root: process.cwd(), blobs: store, handBack: controller.signal });
 */
export interface ProcessorOptions {
  readonly bullmq: Bullmq;
  /** The project root the jobs' modules are relative to. */
  readonly root: string;
  /** Where large points and results travel, and a DAG's cache entries live (a RedisStore on the caller's namespace). */
  readonly blobs: (namespace: string | undefined) => BlobStore & CacheStore;
  /** How to run a DAG's stages (src/dsl/stage-jobs.ts); without it, stage jobs are refused. */
  readonly stages?: StageJobs;
  /** Worker threads for the points (`--threads K`), or none: the points run in this thread. */
  readonly pool?: ThreadPool;
  /** Aborted when the worker hands its jobs back (a second signal, or the grace period is over). */
  readonly handBack: AbortSignal;
}

/** A job that is handed back, not finished. */
const HANDED_BACK: unique symbol = Symbol("handed back");

/**
 * The BullMQ processor of memopipe jobs.
 *
 * @example
 * new Worker("sweeps", createProcessor({ bullmq, root, blobs: () => store, handBack }), { connection, concurrency: 4 });
 */
export function createProcessor(options: ProcessorOptions): (job: Job, token?: string) => Promise<unknown> {
  const { bullmq } = options;
  const tasks = new Map<string, Promise<{ href: string; code: string; exported: unknown } | string>>();
  const refuse = (name: string, message: string) => new bullmq.UnrecoverableError(failureReason({ name, message }));

  /** The task's module here and this worker's fingerprint of it (loaded once), or what is wrong. */
  function taskHere(module: string, name: string): Promise<{ href: string; code: string; exported: unknown } | string> {
    const key = `${module}\0${name}`;
    let found = tasks.get(key);
    if (!found) {
      found = (async () => {
        const href = moduleUnderRoot(module, options.root);
        if (!href.startsWith("file:")) return href;
        try {
          // loaded here, so that a missing export is a setup error, not a point error
          const exported = await loadTask(href, name);
          return { href, code: taskFingerprint(fileURLToPath(href), name), exported };
        } catch (error) {
          return errorInfo(error).message;
        }
      })();
      tasks.set(key, found);
    }
    return found;
  }

  return async (job, token) => {
    const data = readJob(job.data);
    if (typeof data === "string") throw refuse(SETUP_REFUSAL, `worker ${WORKER_ID} cannot run job ${job.id}: ${data}`);
    const task = await taskHere(data.module, data.export);
    const label = taskName(data.module, data.export);
    if (typeof task === "string") throw refuse(SETUP_REFUSAL, `worker ${WORKER_ID} cannot run ${label}: ${task}`);
    const blobs = options.blobs(data.namespace);
    if (data.kind === "stage") return handBackOr(job, token, () => runStageJob(data, task, blobs, job.id ?? "?"));
    if (task.code !== data.code) {
      throw refuse(
        CODE_REFUSAL,
        `worker ${WORKER_ID} refuses job ${job.id}: it runs other code than the caller for ${label} (its fingerprint ${task.code.slice(0, 12)}…, the job's ${data.code.slice(0, 12)}…); nothing was computed — run the workers on the caller's checkout`,
      );
    }
    const compute = async (): Promise<unknown> => {
      const point = await decodeValue(data.value, blobs);
      let reply: WorkerReply;
      try {
        reply = options.pool ? await options.pool.run({ module: task.href, export: data.export, point }) : await runPoint({ module: task.href, export: data.export, point });
      } catch (error) {
        // the worker thread died, or the point could not be copied to it: this attempt fails
        const info = errorInfo(error);
        throw new Error(failureReason({ name: info.name === "Error" ? "WorkerThreadError" : info.name, message: info.message }));
      }
      if (!reply.ok && "setup" in reply) throw refuse(SETUP_REFUSAL, `worker ${WORKER_ID} cannot run ${label}: ${reply.setup}`);
      if (!reply.ok) throw new Error(failureReason(reply.error));
      return { memopipe: JOB_FORMAT, value: await encodeBytes(reply.bytes, "v8", blobs) };
    };
    return handBackOr(job, token, compute);
  };

  /** A stage's job: the same stage and code here, inputs that give the caller's key, then the stage's cached run on the shared store. */
  async function runStageJob(data: StageJob, task: { code: string; exported: unknown }, store: BlobStore & CacheStore, jobId: string): Promise<unknown> {
    const stages = options.stages;
    const label = `stage '${data.stage}' (${taskName(data.module, data.export)})`;
    if (!stages) throw refuse(SETUP_REFUSAL, `worker ${WORKER_ID} cannot run ${label}: it runs no DAG stages`);
    if (task.code !== data.sources) {
      throw refuse(
        CODE_REFUSAL,
        `worker ${WORKER_ID} refuses job ${jobId}: it runs other code than the caller for ${label} (the sources of ${data.module} and its imports differ: here ${task.code.slice(0, 12)}…, the job's ${data.sources.slice(0, 12)}…); nothing was computed — run the workers on the caller's checkout`,
      );
    }
    const spec = stages.spec(task.exported, data.stage);
    if (typeof spec === "string") throw refuse(SETUP_REFUSAL, `worker ${WORKER_ID} cannot run ${label}: ${spec}`);
    const inputs = (await decodeValue(data.value, store)) as Record<string, unknown>;
    const { key, code } = await stages.key(spec, inputs, store);
    if (code !== data.code) {
      throw refuse(
        CODE_REFUSAL,
        `worker ${WORKER_ID} refuses job ${jobId}: it runs other code than the caller for ${label} (its fingerprint ${code.slice(0, 12)}…, the job's ${data.code.slice(0, 12)}…); nothing was computed — run the workers on the caller's checkout`,
      );
    }
    if (key !== data.key) {
      throw refuse(
        INPUTS_REFUSAL,
        `worker ${WORKER_ID} refuses job ${jobId}: the inputs of ${label} give another cache key here than on the caller (a file input with other contents on this machine?); nothing was computed`,
      );
    }
    // The outputs go back through the stage's entry in the store, which the caller reads (a hit,
    // with output files restored and the event recorded, as an in-process hit): not in the job.
    await stages.run(spec, inputs, store);
    return { memopipe: JOB_FORMAT, key };
  }

  /** Runs `compute`, unless the worker hands its jobs back first: then the job goes back to the queue. */
  async function handBackOr(job: Job, token: string | undefined, compute: () => Promise<unknown>): Promise<unknown> {
    const handBack = options.handBack;
    let onAbort: (() => void) | undefined;
    const handedBack = new Promise<typeof HANDED_BACK>((resolve) => {
      if (handBack.aborted) resolve(HANDED_BACK);
      else handBack.addEventListener("abort", (onAbort = () => resolve(HANDED_BACK)), { once: true });
    });
    try {
      const result = await Promise.race([compute(), handedBack]);
      if (result !== HANDED_BACK) return result;
    } finally {
      if (onAbort) handBack.removeEventListener("abort", onAbort);
    }
    // Shutting down without finishing: the job goes back to the queue for another worker at once
    // (not after the lock expires), and counts as neither a failure nor a stall.
    await job.moveToWait(token);
    throw new bullmq.WaitingError();
  }
}
