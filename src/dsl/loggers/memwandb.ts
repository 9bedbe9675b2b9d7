/**
 * `memwandb`: records as the history of a Weights & Biases run, over W&B's HTTP protocol (the one
 * the `wandb` Python SDK speaks), with no W&B package:
 *
 * 1. `POST ${baseUrl}/graphql`, a GraphQL `upsertBucket` mutation (`name` = the run id,
 *    `modelName` = the project, `entityName` = the entity, `config` as a JSON string) creates the
 *    run; the answer's `bucket.project.entity.name` gives the entity when none was given;
 * 2. `POST ${baseUrl}/files/${entity}/${project}/${runName}/file_stream` with
 *    `{ files: { "wandb-history.jsonl": { offset, content: [jsonLine, …] } } }` appends history
 *    lines; `offset` is the index of the first line sent (0, then the number of lines sent so far),
 *    so a resent batch lands in the same place;
 * 3. `finish()` posts `{ complete: true, exitcode }` to the same endpoint, as the SDK does at exit.
 *
 * Both requests use HTTP basic auth `api:<key>`. Each history line is the record plus W&B's
 * `_step` (0, 1, 2…), `_runtime` (seconds since the logger's first record) and `_timestamp` (Unix
 * seconds).
 *
 * VERIFIED AGAINST: a local node:http server imitating the two documented endpoints (the tests
 * assert the method, path, basic-auth header, GraphQL query and variables, and the file_stream
 * body with its increasing offsets). It has NOT been run against W&B's servers (no network and no
 * account in this project's test environment).
 */
import { randomBytes } from "../../runtime/lazy-builtins.js";
import fs from "node:fs";
import path from "node:path";
import type { LoggerOf } from "../../types/logger.js";
import { postWithRetry, retryPolicy, type RetryPolicy } from "../../runtime/transport/http.js";
import { LoggerError, toJsonLine, wrapLogged, type AnyRecord } from "./record.js";

/**
 * Options of `memwandb`.
 *
 * @example
 * const options: MemwandbOptions = { project: "birthday", entity: "my-team", runName: "sweep-1", config: { nSim: 10_000 } };
 */
export interface MemwandbOptions {
  /** The W&B project (created on first use, as the SDK does). */
  readonly project: string;
  /** The W&B entity (user or team). Default: the API key's default entity, as the server answers. */
  readonly entity?: string;
  /** The API key. Default `process.env.WANDB_API_KEY`. */
  readonly apiKey?: string;
  /** The API server. Default `process.env.WANDB_BASE_URL`, else `https://api.wandb.ai`. */
  readonly baseUrl?: string;
  /** The run id (letters, digits, `-`, `_`). Default: 8 random lowercase letters and digits, as the SDK makes. */
  readonly runName?: string;
  /** The run's config (memo's `memwandb(project, **config)`), shown in the W&B UI. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Retries of one request after the first attempt. Default 3. */
  readonly retries?: number;
  /** Wait before the first retry, doubled before each next one. Default 200 ms. */
  readonly backoffMs?: number;
  /** Give up on one attempt after this long. Default 10000 ms. */
  readonly timeoutMs?: number;
}

/**
 * What a `memwandb` logger (and each function it wraps) carries besides the call.
 *
 * @example
 * const wb = memwandb({ project: "p" });
 * console.log(wb.runName); // e.g. "k3v9x0qa"
 * await wb.finish(); // { sent: 3, pending: 0 }
 */
export interface MemwandbControls {
  /** The run id records go to. */
  readonly runName: string;
  /** Sends the history lines not sent yet (now). Never rejects. */
  flush(): Promise<{ readonly sent: number; readonly pending: number }>;
  /** Flushes, then marks the run finished (`{ complete: true, exitcode }`). Never rejects. */
  finish(exitCode?: number): Promise<{ readonly sent: number; readonly pending: number }>;
}

/**
 * A `memwandb` logger: the decorator, with `runName`, `flush()` and `finish()`.
 *
 * @example
 * const wb: MemwandbLogger<any> = memwandb({ project: "p", apiKey: process.env.WANDB_API_KEY });
 */
export type MemwandbLogger<Rec> = LoggerOf<Rec, "memwandb<Rec>", MemwandbControls> & MemwandbControls;

const UPSERT_BUCKET = `mutation UpsertBucket($name: String!, $project: String, $entity: String, $config: JSONString) {
  upsertBucket(input: { name: $name, modelName: $project, entityName: $entity, config: $config }) {
    bucket { id name project { name entity { name } } }
    inserted
  }
}`;

const RESEND_AFTER_MS = 5_000;
const HISTORY = "wandb-history.jsonl";

class WandbRun {
  private step = 0;
  private sent = 0;
  private readonly pending: string[] = [];
  private started: number | undefined;
  private entity: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private downUntil = 0;
  private warned = false;
  private upserted = false;
  private readonly auth: Record<string, string>;

  constructor(
    private readonly baseUrl: string,
    private readonly project: string,
    readonly runName: string,
    apiKey: string,
    entity: string | undefined,
    private readonly config: Readonly<Record<string, unknown>> | undefined,
    private readonly policy: RetryPolicy,
  ) {
    this.entity = entity;
    this.auth = { authorization: `Basic ${Buffer.from(`api:${apiKey}`).toString("base64")}` };
  }

  /** Queues one record as a history line; resolves after an attempt to send it (never rejects). */
  push(record: AnyRecord): Promise<void> {
    const now = Date.now();
    this.started ??= now;
    const row = Object.assign({}, record, { _step: this.step, _runtime: (now - this.started) / 1000, _timestamp: now / 1000 });
    const line = toJsonLine(row).slice(0, -1); // throws here, on the call, when the record is not JSON
    this.step++;
    this.pending.push(line);
    return this.schedule(false);
  }

  flush(): Promise<{ sent: number; pending: number }> {
    return this.schedule(true).then(() => ({ sent: this.sent, pending: this.pending.length }));
  }

  async finish(exitCode: number): Promise<{ sent: number; pending: number }> {
    const report = await this.flush();
    if (report.pending === 0 && this.entity !== undefined) {
      const body = JSON.stringify({ complete: true, exitcode: exitCode });
      const outcome = await postWithRetry(this.fileStreamUrl(), body, this.auth, this.policy);
      if (!outcome.ok) this.warn(`could not mark the run finished: ${outcome.error}`);
    }
    return report;
  }

  /** At process exit: history lines never sent are written to a file (and said so), not dropped. */
  saveUnsent(): void {
    if (this.pending.length === 0) return;
    const file = path.resolve(".memopipe", `memwandb-unsent-${this.runName}.jsonl`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, this.pending.map((l) => `${l}\n`).join(""), { flag: "a" });
    process.stderr.write(`memwandb: ${this.pending.length} history line(s) of run ${this.runName} were not sent; saved to ${file}\n`);
  }

  /** Serializes sends: one request at a time, in order; each send takes every pending line. */
  private schedule(force: boolean): Promise<void> {
    const next = this.chain.then(() => this.sendPending(force)).catch(() => {});
    this.chain = next;
    return next;
  }

  private async sendPending(force: boolean): Promise<void> {
    if (this.pending.length === 0) return;
    if (!force && Date.now() < this.downUntil) return; // kept; resent by a later call or flush()
    if (!(await this.upsertRun())) return;
    const content = this.pending.slice();
    const body = JSON.stringify({ files: { [HISTORY]: { offset: this.sent, content } } });
    const outcome = await postWithRetry(this.fileStreamUrl(), body, this.auth, this.policy);
    if (outcome.ok) {
      this.sent += content.length;
      this.pending.splice(0, content.length);
      this.warned = false;
    } else {
      this.down(`file_stream failed (${outcome.error})`);
    }
  }

  private async upsertRun(): Promise<boolean> {
    if (this.upserted) return true;
    const variables: Record<string, unknown> = { name: this.runName, project: this.project, entity: this.entity ?? null };
    if (this.config) {
      variables["config"] = JSON.stringify(Object.fromEntries(Object.entries(this.config).map(([k, v]) => [k, { value: v, desc: null }])));
    }
    let entity: string | undefined;
    const outcome = await postWithRetry(`${this.baseUrl}/graphql`, JSON.stringify({ query: UPSERT_BUCKET, variables }), this.auth, this.policy, (text) => {
      try {
        const json = JSON.parse(text) as {
          errors?: { message?: string }[];
          data?: { upsertBucket?: { bucket?: { project?: { entity?: { name?: string } } } } };
        };
        if (json.errors?.length) return `GraphQL error: ${json.errors.map((e) => e.message).join("; ")}`;
        const bucket = json.data?.upsertBucket?.bucket;
        if (!bucket) return "the answer has no upsertBucket.bucket";
        entity = bucket.project?.entity?.name;
        return undefined;
      } catch {
        return "the answer is not JSON";
      }
    });
    if (!outcome.ok) {
      this.down(`upsertBucket failed (${outcome.error})`);
      return false;
    }
    this.entity ??= entity;
    if (this.entity === undefined) {
      this.down("upsertBucket did not say the entity; pass memwandb({ entity })");
      return false;
    }
    this.upserted = true;
    return true;
  }

  private fileStreamUrl(): string {
    const seg = (s: string): string => encodeURIComponent(s);
    return `${this.baseUrl}/files/${seg(this.entity ?? "")}/${seg(this.project)}/${seg(this.runName)}/file_stream`;
  }

  private down(why: string): void {
    this.downUntil = Date.now() + RESEND_AFTER_MS;
    this.warn(`${why}; ${this.pending.length} history line(s) kept and resent by a later call or flush()`);
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    process.emitWarning(`memwandb (run ${this.runName}): ${message}`);
  }
}

const runs = new Set<WandbRun>();
let exitHookInstalled = false;

/**
 * Logs each call's record as one history line of a Weights & Biases run (memo's early
 * `memwandb`), over W&B's HTTP protocol (see the top of this file; verified against a local
 * imitation of the documented endpoints, not against W&B itself). One run per logger, created on
 * the first record; `await logger.finish()` marks it finished. Failures never throw: lines are kept
 * and resent (same offsets) by a later call or `flush()`, and saved to `.memopipe/` at exit if still
 * unsent. A sync function returns at once (the line is sent in the background); an async function's
 * promise resolves after the attempt to send its line.
 *
 * @example
 * const wb = memwandb({ project: "birthday", config: { nSim: 10_000 } }); // WANDB_API_KEY from the environment
 * const sim = wb(({ classSize }: { classSize: number }) => ({ estProba: simulate(classSize) }));
 * for (const classSize of [10, 23, 40]) sim({ classSize });
 * await wb.finish();
 */
export function memwandb<Rec = any>(options: MemwandbOptions): MemwandbLogger<Rec> {
  const project = options?.project;
  if (typeof project !== "string" || project.length === 0) throw new LoggerError("memwandb({ project }): project must be a non-empty string");
  const apiKey = options.apiKey ?? process.env["WANDB_API_KEY"];
  if (!apiKey) throw new LoggerError("memwandb: no API key; pass memwandb({ apiKey }) or set WANDB_API_KEY");
  const runName = options.runName ?? randomRunId();
  if (!/^[A-Za-z0-9_-]+$/.test(runName)) throw new LoggerError(`memwandb({ runName }): a run id is letters, digits, '-' and '_', got ${JSON.stringify(runName)}`);
  const baseUrl = (options.baseUrl ?? process.env["WANDB_BASE_URL"] ?? "https://api.wandb.ai").replace(/\/+$/, "");
  const run = new WandbRun(baseUrl, project, runName, apiKey, options.entity, options.config, retryPolicy({ timeoutMs: 10_000, ...options }));
  runs.add(run);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const r of runs) {
        try {
          r.saveUnsent();
        } catch {
          // nothing more can be done at exit
        }
      }
    });
  }
  const controls: MemwandbControls = {
    runName,
    flush: () => run.flush(),
    finish: (exitCode = 0) => run.finish(exitCode),
  };
  const decorate = (fn: (...args: any[]) => any) => Object.assign(wrapLogged(fn, (record) => run.push(record), "memwandb"), controls);
  return Object.assign(decorate, controls) as unknown as MemwandbLogger<Rec>;
}

function randomRunId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join("");
}
