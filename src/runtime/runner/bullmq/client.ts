/**
 * The caller's side of the `bullmq` backend: points become BullMQ jobs, results come back through
 * the queue's event stream, and nothing is lost when a worker or Redis dies.
 *
 * ## Sending
 * One `addBulk` per submission (chunks of 1,000 jobs), each job with an id of its own
 * (`mp-<run>-<index>`): the id makes a re-send idempotent (BullMQ refuses a second job with an id
 * that exists, so re-sending a job that was not lost after all does nothing). Points are not
 * deduplicated across runs: two sweeps asking for the same point each get it computed, as
 * in-process (a DAG's stages are deduplicated by their cache key instead).
 *
 * ## Receiving: per-job events, registered before the add
 * One `QueueEvents` reader per backend, started from the stream's last id *before* the first add
 * (never from `$`, which would miss a job that finishes before the reader's first read), and a
 * waiter per job id registered before its `addBulk`. BullMQ's `waitUntilFinished` is not used: it
 * races with jobs removed on completion, and its maintainers advise against it.
 *
 * ## Resuming
 * The event reader keeps its place in the stream across a reconnection. What an event stream cannot
 * promise (events trimmed while the caller was away, a Redis restarted without persistence), the
 * caller checks itself: after a reconnection, and whenever no result has come for `checkMs`, it
 * reads the state of its unfinished jobs in one pipeline; a finished one settles from its record
 * (finished jobs stay `keepJobsMs` for that), and a job that is gone (Redis lost it) is sent again.
 */
import { fileURLToPath } from "node:url";
import type { ConnectionOptions, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { hash, randomBytes } from "../../lazy-builtins.js";
import { MemopipeError } from "../../errors.js";
import { importOptional } from "../../optional-package.js";
import { projectRoot } from "../../project.js";
import { RedisStore } from "../../cache/redis-store.js";
import { bullmqConnection, describeConnection, holdProcess } from "../../redis/connection.js";
import { isTaskAddress, moduleHref } from "../address.js";
import type { Backend, BackendRun, Outcome, Submission } from "../backend.js";
import { typeScriptTwin } from "../source-module.js";
import { loadTask } from "../worker.js";
import { CODE_REFUSAL, SETUP_REFUSAL, WorkerCodeError, WorkerSetupError } from "./errors.js";
import { decodeValue, encodeRecorded, encodeValue, errorFromReason, JOB_FORMAT, type PointJob } from "./job-format.js";
import type { StageJob } from "./stage-job.js";
import { checkBullmqOptions, type BullmqRunnerOptions } from "./options.js";
import { relativeModule, taskFingerprint, taskName } from "./task-code.js";

/** Jobs per `addBulk`. */
const CHUNK = 1_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_KEEP_JOBS_MS = 3_600_000;
const DEFAULT_CHECK_MS = 5_000;
/** How long a first connection may wait for Redis before a warning says so. */
const REDIS_WAIT_WARNING_MS = 5_000;
/** How long the event reader stays open with no run under way (a program's next sweep, soon after, reuses it). */
const EVENTS_IDLE_MS = 250;

type Bullmq = typeof import("bullmq");

/** How a job ended, as the event stream or the job's record tells it. */
type JobEnd = { readonly kind: "completed"; readonly returnvalue: unknown } | { readonly kind: "failed"; readonly failedReason: unknown };

/**
 * The backend: the connections every run shares (a Queue, one event reader, the store for large
 * values), opened on the first run and closed by `close()`; between runs they do not keep the
 * process alive (the event reader closes 250 ms after the last run), so a program that forgets
 * `runner.close()` still exits.
 *
 * @example
 * const backend = new BullmqBackend({ backend: "bullmq", queue: "sweeps" });
 * const run = await backend.start(task({ module: new URL("./points.js", import.meta.url), export: "simulate" }));
 */
export class BullmqBackend implements Backend {
  readonly #options: BullmqRunnerOptions;
  readonly #root: string;
  #connected: Promise<Connected> | undefined;
  #runs = 0;
  #idleEvents: NodeJS.Timeout | undefined;
  readonly #waiters = new Map<string, (end: JobEnd) => void>();
  readonly #liveRuns = new Set<RemoteRun>();

  constructor(options: BullmqRunnerOptions) {
    checkBullmqOptions(options);
    this.#options = options;
    this.#root = options.root ?? projectRoot();
  }

  /** Where the queue is, for messages: `redis://host:port` queue `q`. */
  get location(): string {
    return `queue '${this.#options.queue}'`;
  }

  async start(task: unknown): Promise<BackendRun> {
    this.#runs++;
    try {
      const connected = await this.#connect();
      await this.#inUse(connected);
      const resolved = await resolveTask(task, this.#root);
      const build: JobBuilder = async (point) => ({
        name: resolved.name,
        data: { memopipe: JOB_FORMAT, kind: "point", module: resolved.module, export: resolved.export, code: resolved.code, value: await encodeValue(point, connected.store), namespace: connected.store.namespace },
      });
      const run = new RemoteRun(this, connected, build, this.#settings());
      this.#liveRuns.add(run);
      return run;
    } catch (error) {
      this.runEnded();
      throw error;
    }
  }

  /**
   * @internal A run of a DAG's cached stages (src/dsl/dag-remote.ts): each submission's point is a
   * `StageSubmission`; its job is deduplicated by stage and key, so that two callers running the
   * same DAG share one job (and a worker's claim makes one computation of the key in any case).
   */
  async startStages(): Promise<RemoteRun & { readonly store: RedisStore; readonly root: string }> {
    this.#runs++;
    try {
      const connected = await this.#connect();
      await this.#inUse(connected);
      const root = this.#root;
      const build: JobBuilder = async (point) => {
        const s = point as StageSubmission;
        const data: StageJob = {
          memopipe: JOB_FORMAT,
          kind: "stage",
          module: s.module,
          export: s.export,
          stage: s.stage,
          key: s.key,
          code: s.code,
          sources: s.sources,
          value: await encodeRecorded(s.inputs, connected.store),
          namespace: connected.store.namespace,
        };
        return { name: `stage ${s.stage}`, data, dedup: hash("sha256", `${connected.store.namespace}\0${s.stage}\0${s.key}`, "hex") };
      };
      const run = new RemoteRun(this, connected, build, this.#settings());
      this.#liveRuns.add(run);
      return Object.assign(run, { store: connected.store, root });
    } catch (error) {
      this.runEnded();
      throw error;
    }
  }

  #settings(): RunSettings {
    return {
      attempts: this.#options.attempts ?? DEFAULT_ATTEMPTS,
      keepJobsMs: this.#options.keepJobsMs ?? DEFAULT_KEEP_JOBS_MS,
      checkMs: this.#options.checkMs ?? DEFAULT_CHECK_MS,
    };
  }

  /** @internal A run registers its job waiters here (before it adds the jobs). */
  wait(jobId: string, onEnd: (end: JobEnd) => void): void {
    this.#waiters.set(jobId, onEnd);
  }

  /** @internal */
  unwait(jobId: string): void {
    this.#waiters.delete(jobId);
  }

  /**
   * @internal A run ended. When none is left, the Queue's and the store's connections stay open but
   * no longer keep the process alive, and the event reader closes after `EVENTS_IDLE_MS` (its read
   * loop keeps a timer of its own; the next run opens a reader again from the stream's end).
   */
  runEnded(run?: RemoteRun): void {
    if (run) this.#liveRuns.delete(run);
    this.#runs = Math.max(0, this.#runs - 1);
    if (this.#runs > 0) return;
    void this.#connected?.then(
      (c) => {
        if (this.#runs > 0) return;
        holdProcess(c.client, false);
        c.store.holdProcess(false);
        clearTimeout(this.#idleEvents);
        this.#idleEvents = setTimeout(() => {
          if (this.#runs > 0 || !c.events) return;
          const events = c.events;
          c.events = undefined;
          void events.close().catch(() => undefined);
        }, EVENTS_IDLE_MS);
      },
      () => undefined,
    );
  }

  /** A run starts: the connections keep the process alive again, and the event reader is open. */
  async #inUse(c: Connected): Promise<void> {
    clearTimeout(this.#idleEvents);
    holdProcess(c.client, true);
    c.store.holdProcess(true);
    if (!c.events) await this.#openEvents(c);
  }

  /**
   * Opens the event reader where the stream is now, before any job of the run is added (from `$`
   * it would miss a job that finishes before its first read).
   */
  async #openEvents(c: Connected): Promise<void> {
    const last = (await c.client.xrevrange(c.queue.keys.events!, "+", "-", "COUNT", 1)) as [string, string[]][];
    const events = new c.bullmq.QueueEvents(this.#options.queue, { connection: c.connection, prefix: c.prefix, autorun: false, lastEventId: last[0]?.[0] ?? "0-0" });
    events.on("error", () => undefined);
    events.on("completed", ({ jobId, returnvalue }) => this.#waiters.get(jobId)?.({ kind: "completed", returnvalue }));
    events.on("failed", ({ jobId, failedReason }) => this.#waiters.get(jobId)?.({ kind: "failed", failedReason }));
    void events.run().catch(() => undefined);
    c.events = events;
  }

  #connect(): Promise<Connected> {
    this.#connected ??= (async () => {
      const bullmq = await importOptional<Bullmq>("bullmq", "bullmq");
      // ioredis's options, under BullMQ's own (narrower) type of them
      const connection = bullmqConnection(this.#options.connection) as ConnectionOptions;
      const prefix = this.#options.prefix ?? "bull";
      const queue = new bullmq.Queue(this.#options.queue, { connection, prefix });
      // Reported by the calls that meet it; reconnection is ioredis's. But a Redis that is not there
      // at all (not started, a wrong URL) would have the run wait in silence: one warning says so.
      let lastError = "";
      queue.on("error", (error: unknown) => (lastError = error instanceof Error ? error.message : String(error)));
      const waiting = setTimeout(() => {
        process.emitWarning(
          `the bullmq Runner is waiting for Redis at ${describeConnection(this.#options.connection)} (queue '${this.#options.queue}')${lastError ? ` (${lastError})` : ""}: is it running, and is the connection right?`,
          { code: "MEMOPIPE_REDIS_WAIT" },
        );
      }, REDIS_WAIT_WARNING_MS);
      let client: Redis;
      try {
        client = (await queue.getBackend().client) as unknown as Redis;
      } finally {
        clearTimeout(waiting);
      }
      // A reconnection (Redis restarted, the network came back): every run checks its jobs.
      let ready = true;
      client.on("close", () => (ready = false));
      client.on("ready", () => {
        if (ready) return;
        ready = true;
        for (const run of this.#liveRuns) run.check("reconnected");
      });
      const store = this.#options.store ?? new RedisStore(this.#options.connection !== undefined ? { connection: this.#options.connection } : {});
      return { bullmq, queue, events: undefined, client, store, ownsStore: this.#options.store === undefined, connection, prefix };
    })();
    this.#connected.catch(() => (this.#connected = undefined));
    return this.#connected;
  }

  /**
   * Closes the connections (the Runner's `close()`); a later run opens them again.
   *
   * @example
   * await backend.close();
   */
  async close(): Promise<void> {
    const connecting = this.#connected;
    this.#connected = undefined;
    const c = await connecting?.catch(() => undefined);
    if (!c) return;
    clearTimeout(this.#idleEvents);
    // Between runs the connections do not keep the process alive, and neither would anything else
    // while their QUITs are answered: a program ending with `await runner.close()` exited 13
    // ("unsettled top-level await") on a loaded machine, where the replies came after the 250 ms
    // idle timer that had hidden it. So the close holds the process itself.
    const hold = setInterval(() => undefined, 1_000);
    try {
      await Promise.allSettled([c.events?.close(), c.queue.close(), c.ownsStore ? c.store.close() : Promise.resolve()]);
    } finally {
      clearInterval(hold);
    }
  }
}

interface Connected {
  readonly bullmq: Bullmq;
  readonly queue: Queue;
  /** The event reader, while runs are under way (and for `EVENTS_IDLE_MS` after). */
  events: QueueEvents | undefined;
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  readonly client: Redis;
  readonly store: RedisStore;
  readonly ownsStore: boolean;
}

/** A task as jobs name it. */
interface ResolvedTask {
  readonly module: string;
  readonly export: string;
  readonly code: string;
  readonly name: string;
}

/**
 * The task of a run: addressed by module and export (a function cannot travel to another machine),
 * the module relative to the project root, and the fingerprint of its sources (task-code.ts), as
 * each worker computes it from its own checkout.
 */
async function resolveTask(task: unknown, root: string): Promise<ResolvedTask> {
  if (!isTaskAddress(task)) {
    throw new MemopipeError(
      typeof task === "function"
        ? `the bullmq backend cannot send a function to another machine: export it from a module and address it with task({ module: new URL("./points.js", import.meta.url), export: "${(task as Function).name || "simulate"}" })`
        : `runner.run(task, points): the task must be task({ module, export }), got ${task === null ? "null" : typeof task}`,
    );
  }
  const href = typeScriptTwin(moduleHref(task.module));
  const module = relativeModule(href, root);
  try {
    await loadTask(href, task.export); // a missing module or export is found here, before anything is sent
  } catch (error) {
    throw new MemopipeError(`Runner: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { module, export: task.export, code: taskFingerprint(fileURLToPath(href), task.export), name: taskName(module, task.export) };
}

interface RunSettings {
  readonly attempts: number;
  readonly keepJobsMs: number;
  readonly checkMs: number;
}

interface Pending {
  readonly index: number;
  readonly job: { readonly name: string; readonly data: PointJob | StageJob; readonly opts: Record<string, unknown> };
}

/** How a run makes a job of a submitted point: its name, data, and (stages) its deduplication id. */
type JobBuilder = (point: object) => Promise<{ name: string; data: PointJob | StageJob; dedup?: string }>;

/**
 * A DAG stage handed to the backend: where the workers find it, its cache key and code fingerprint
 * on the caller, and its inputs.
 *
 * @example
 * const s: StageSubmission = { module: "src/pipeline.ts", export: "register", stage: "register", key, code, inputs: { img } };
 */
export interface StageSubmission {
  readonly module: string;
  readonly export: string;
  readonly stage: string;
  readonly key: string;
  readonly code: string;
  /** The fingerprint of the stage module's sources (`taskFingerprint`). */
  readonly sources: string;
  readonly inputs: Record<string, unknown>;
}

/** One run: its jobs, their settlements, and the checks that find what events did not tell. */
export class RemoteRun implements BackendRun {
  readonly #id = randomBytes(6).toString("hex");
  readonly #pending = new Map<string, Pending>();
  readonly #settlements = new Settlements();
  #submitted = 0;
  #delivered = 0;
  #lastNews = Date.now();
  #quietMs: number;
  #checking: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(
    private readonly backend: BullmqBackend,
    private readonly c: Connected,
    private readonly build: JobBuilder,
    private readonly settings: RunSettings,
  ) {
    this.#quietMs = settings.checkMs;
    this.#timer = setInterval(() => {
      if (this.#pending.size > 0 && Date.now() - this.#lastNews >= this.#quietMs) this.check("quiet");
    }, Math.max(50, Math.floor(settings.checkMs / 4)));
  }

  async submit(points: readonly Submission[]): Promise<void> {
    if (this.#closed) throw new MemopipeError("this run is closed");
    const jobs: Pending["job"][] = [];
    for (const { index, point } of points) {
      const jobId = `mp-${this.#id}-${index}`;
      const { name, data, dedup } = await this.build(point);
      const job = {
        name,
        data,
        opts: {
          jobId,
          ...(dedup ? { deduplication: { id: dedup } } : {}),
          attempts: this.settings.attempts,
          backoff: { type: "exponential", delay: 100 },
          removeOnComplete: { age: Math.ceil(this.settings.keepJobsMs / 1000) },
          removeOnFail: { age: Math.ceil(this.settings.keepJobsMs / 1000) },
        },
      };
      this.#pending.set(jobId, { index, job });
      this.backend.wait(jobId, (end) => this.#ended(jobId, end));
      this.#submitted++;
      jobs.push(job);
    }
    await this.#add(jobs);
    this.#lastNews = Date.now();
  }

  /** `addBulk` per 1,000 jobs, following jobs that deduplication folds into others. */
  async #add(jobs: Pending["job"][]): Promise<void> {
    let folded = false;
    for (let i = 0; i < jobs.length; i += CHUNK) {
      const chunk = jobs.slice(i, i + CHUNK);
      const added = await this.c.queue.addBulk(chunk as Parameters<Queue["addBulk"]>[0]);
      // A deduplicated job comes back with the id of the job it was folded into (another caller's,
      // under way): wait for that one instead. It may have ended before this waiter existed, so a
      // check follows at once.
      added.forEach((job, k) => {
        const asked = chunk[k]!.opts.jobId as string;
        if (!job.id || job.id === asked) return;
        const pending = this.#pending.get(asked);
        this.#pending.delete(asked);
        this.backend.unwait(asked);
        if (!pending || this.#pending.has(job.id)) return;
        const id = job.id;
        this.#pending.set(id, pending);
        this.backend.wait(id, (end) => this.#ended(id, end));
        folded = true;
      });
    }
    if (folded) setImmediate(() => this.check("reconnected"));
  }

  /** A job ended (told by an event or by a check): settles its point once. */
  #ended(jobId: string, end: JobEnd): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return; // settled already (an event and a check both told)
    this.#pending.delete(jobId);
    this.backend.unwait(jobId);
    this.#lastNews = Date.now();
    this.#quietMs = this.settings.checkMs;
    void this.#outcome(end).then(
      (outcome) => this.#settlements.push({ index: pending.index, outcome }),
      (error: unknown) => this.#settlements.fail(error),
    );
  }

  async #outcome(end: JobEnd): Promise<Outcome> {
    if (end.kind === "failed") {
      const error = errorFromReason(end.failedReason);
      // A worker that cannot run the task, or runs other code: the whole run fails (as a threads
      // worker that cannot load its module does), with the worker's words.
      if (error.name === CODE_REFUSAL) throw new WorkerCodeError(error.message);
      if (error.name === SETUP_REFUSAL) throw new WorkerSetupError(error.message);
      return { ok: false, error };
    }
    const rv = end.returnvalue as { memopipe?: unknown; value?: unknown; key?: unknown } | null;
    if (rv === null || typeof rv !== "object" || rv.memopipe !== JOB_FORMAT) {
      return { ok: false, error: { name: "Error", message: `the job's result is not a memopipe result (${JSON.stringify(rv)?.slice(0, 100)}): a worker of another kind took it?` } };
    }
    // A stage's outputs are in its entry in the store (the DAG run reads it), not in the job.
    if (rv.value === undefined && typeof rv.key === "string") return { ok: true, value: undefined };
    try {
      return { ok: true, value: await decodeValue(rv.value, this.c.store) };
    } catch (error) {
      return { ok: false, error: { name: "Error", message: error instanceof Error ? error.message : String(error) } };
    }
  }

  /**
   * The next settlement, whenever it comes (a DAG run reads them one by one while it submits more);
   * rejects for a setup mistake, or once the run is closed.
   */
  async next(): Promise<{ index: number; outcome: Outcome }> {
    const item = await this.#settlements.next();
    this.#delivered++;
    return item;
  }

  async *settled(): AsyncGenerator<{ index: number; outcome: Outcome }> {
    while (this.#delivered < this.#submitted) {
      const item = await this.#settlements.next();
      this.#delivered++;
      yield item;
    }
  }

  /**
   * Reads the state of the unfinished jobs in one pipeline (per 1,000): settles the finished ones
   * from their records, sends again the ones Redis lost. One check at a time; a quiet run's checks
   * grow sparser (×2 up to a minute) while they find nothing.
   */
  check(why: "quiet" | "reconnected"): void {
    if (this.#checking || this.#closed) return;
    if (why === "reconnected") this.#quietMs = this.settings.checkMs;
    this.#checking = this.#check()
      .catch(() => undefined) // Redis away again: the next check tries again
      .finally(() => {
        this.#checking = undefined;
        this.#lastNews = Date.now();
      });
  }

  async #check(): Promise<void> {
    const ids = [...this.#pending.keys()];
    const lost: Pending["job"][] = [];
    let found = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const pipeline = this.c.client.pipeline();
      for (const id of chunk) pipeline.hmget(this.c.queue.toKey(id), "name", "finishedOn", "returnvalue", "failedReason");
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((id, k) => {
        const [error, fields] = replies[k] ?? [new Error("no reply"), null];
        if (error || !Array.isArray(fields)) return;
        const [name, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
        const pending = this.#pending.get(id);
        if (!pending) return;
        if (name === null) {
          // Lost (Redis restarted). Sent again under its own id: a job it had been folded into
          // is gone with it.
          const own = pending.job.opts.jobId as string;
          if (own !== id) {
            this.#pending.delete(id);
            this.backend.unwait(id);
            this.#pending.set(own, pending);
            this.backend.wait(own, (end) => this.#ended(own, end));
          }
          lost.push(pending.job);
          return;
        }
        if (finishedOn === null) return; // waiting or under way
        found++;
        if (returnvalue !== null && returnvalue !== undefined) {
          let parsed: unknown = returnvalue;
          try {
            parsed = JSON.parse(returnvalue);
          } catch {
            // left as text: #outcome says it is not a memopipe result
          }
          this.#ended(id, { kind: "completed", returnvalue: parsed });
        } else this.#ended(id, { kind: "failed", failedReason: failedReason ?? "the job failed" });
      });
    }
    if (lost.length > 0) await this.#add(lost);
    if (found === 0 && lost.length === 0) this.#quietMs = Math.min(this.#quietMs * 2, 60_000);
  }

  /**
   * Ends the run. Jobs that have not settled (the run failed, or was abandoned) are withdrawn: those
   * still waiting are removed; one under way finishes on its worker, unread.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#settlements.fail(new MemopipeError("this run is closed"));
    const left = [...this.#pending.keys()];
    for (const id of left) this.backend.unwait(id);
    this.#pending.clear();
    try {
      await Promise.allSettled(left.map((id) => this.c.queue.remove(id)));
    } finally {
      this.backend.runEnded(this);
    }
  }
}

/** Settlements waiting to be read, in arrival order; or the error that ends the run. */
class Settlements {
  readonly #items: { index: number; outcome: Outcome }[] = [];
  #head = 0;
  #failure: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  push(item: { index: number; outcome: Outcome }): void {
    this.#items.push(item);
    this.#wake?.();
  }

  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake?.();
  }

  async next(): Promise<{ index: number; outcome: Outcome }> {
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head]!;
        this.#items[this.#head++] = undefined as never;
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items.splice(0, this.#head);
          this.#head = 0;
        }
        return item;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
