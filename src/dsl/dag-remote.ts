/**
 * A DAG run on the bullmq Runner (`g.run(inputs, { runner })`): the caller schedules, the workers
 * compute, the Runner's `RedisStore` holds every cached stage's entry.
 *
 * ## Waves, not Flows
 * BullMQ's FlowProducer hangs on a diamond (a child shared by two parents, taskforcesh/bullmq#1021),
 * so the DAG is not mapped onto Flows: the caller sends, in one `addBulk`, every stage whose
 * predecessors are done (a wave), and each time a stage ends it sends what that made ready.
 *
 * ## What becomes a job
 * - a cached stage whose entry is already in the store creates no job: the caller reads it (a hit,
 *   recorded as any hit is, for `memopipe why`);
 * - any other cached stage is a job carrying its cache key, its code fingerprints and its inputs
 *   (in the cache's codec, small inline, large through the store), deduplicated by stage and key:
 *   two callers running the same DAG at once share one job (and the worker's claim on the key
 *   makes one computation in any case);
 * - an uncached stage runs here, in the caller (it has no key to share a result under), as do the
 *   reads: the caller never waits for one stage to start another that is ready.
 *
 * When a job ends, its outputs are read from the store, as a hit: the value is decoded by the same
 * codec as an in-process hit's (so the results are the in-process ones, `FileRef`s included), the
 * stage's output files are restored on this machine, and the hit is recorded. Should the entry be
 * gone by then (a Redis restarted without persistence, an evicted key), that read computes the
 * stage here: a late result, never a wrong one.
 *
 * ## Where the workers find a stage
 * By module (relative to the project root) and export. Unless `{ module }` is given, each stage's
 * module is the one that called `stage(name, fn)` (stage-site.ts), where the stage must be exported.
 * A worker imports that module: it must not be the script that runs the DAG.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CacheStore } from "../runtime/cache/types.js";
import type { RunPlace } from "../runtime/stage-cache.js";
import { moduleHref } from "../runtime/runner/address.js";
import type { RemoteRun, StageSubmission } from "../runtime/runner/bullmq/client.js";
import { DagRunnerError } from "../runtime/runner/bullmq/errors.js";
import { relativeModule, taskFingerprint } from "../runtime/runner/bullmq/task-code.js";
import type { Runner } from "../runtime/runner/runner.js";
import { onShutdown } from "../runtime/shutdown.js";
import { typeScriptTwin } from "../runtime/runner/source-module.js";
import { loadModule } from "../runtime/runner/worker.js";
import { runStage, specOf, type StageSpec } from "./stage.js";
import { stageKey } from "./stage-jobs.js";
import { siteModules } from "./stage-site.js";

/**
 * Options of a DAG run on a Runner: `g.run(inputs, { runner })`.
 *
 * @example
 * const runner = new Runner({ backend: "bullmq", connection: "redis://10.0.0.5:6379", queue: "dags" });
 * await g.run({ subject: "sub-01" }, { runner });
 */
export interface DagRunOptions {
  /**
   * Where the cached stages run: a Runner with `backend: "bullmq"` sends them to `memopipe worker`
   * processes (every machine reaching the same Redis, with the same checkout); an `"in-process"`
   * Runner runs the DAG here, as without a runner.
   */
  readonly runner: Runner;
  /**
   * The module (a URL or an absolute path) that exports the DAG's cached stages, where the workers
   * find them. Default: each stage's own module, the one that called `stage(name, fn)`.
   */
  readonly module?: URL | string;
}

/** The planned DAG: its stages in order, with their predecessors' indices, and the terminal ones. */
export interface DagPlan {
  readonly nodes: readonly { readonly spec: StageSpec; readonly preds: readonly number[]; readonly place?: RunPlace }[];
  readonly terminal: readonly number[];
}

/** What a stage receives, given the DAG's inputs and its predecessors' outputs (the scheduler's own rule). */
export type GivenInputs = (spec: StageSpec, dagInputs: Record<string, unknown>, outs: readonly Record<string, unknown>[]) => Record<string, unknown>;

/** What a stage's work ended with: its outputs, or an error (index -1: the whole run failed). */
type Done = { readonly index: number; readonly outputs: Record<string, unknown> } | { readonly index: number; readonly error: unknown };

/**
 * `g.run(inputs, options)` with a Runner: the DAG on the Runner's workers, or `undefined` when the
 * Runner runs DAGs here (`in-process`: the scheduler of dag.ts runs it).
 *
 * @throws DagRunnerError for a value that is not a Runner, or a `threads` Runner.
 * @example
 * const ran = await runDagWith(plan, inputs, { runner }, givenInputs, (stage, e) => new StageRunError(stage, e));
 */
export async function runDagWith(
  plan: DagPlan & { readonly predNames?: readonly (readonly string[])[] },
  dagInputs: Record<string, unknown>,
  options: DagRunOptions,
  given: GivenInputs,
  fail: (stage: string, cause: unknown) => Error,
  graph?: string,
): Promise<Record<string, unknown> | undefined> {
  if (options === null || typeof options !== "object") throw new DagRunnerError(`dag.run(inputs, options): options must be { runner }, got ${options === null ? "null" : typeof options}`);
  const runner = options.runner as Runner | undefined;
  if (!runner || typeof runner !== "object" || typeof runner.startStages !== "function") {
    throw new DagRunnerError(`dag.run(inputs, { runner }): runner must be a Runner (new Runner({ backend: "bullmq", queue })), got ${runner === null ? "null" : typeof runner}`);
  }
  if (runner.backend === "in-process") return undefined;
  const placed: DagPlan = {
    nodes: plan.nodes.map((n, i) => ({
      spec: n.spec,
      preds: n.preds,
      place: { ...(graph !== undefined ? { graph } : {}), predecessors: plan.predNames?.[i] ?? n.preds.map((p) => plan.nodes[p]!.spec.name) },
    })),
    terminal: plan.terminal,
  };
  return runDagOnRunner(placed, dagInputs, options, given, fail);
}

/**
 * Runs a planned DAG with its cached stages on the Runner's workers (see the file's comment).
 *
 * @throws the error of `fail` (a StageRunError) for the first stage that fails; WorkerCodeError or
 *   WorkerSetupError when a worker refuses a stage's job.
 * @example
 * await runDagOnRunner(plan, inputs, { runner }, given, (name, e) => new StageRunError(name, e));
 */
export async function runDagOnRunner(
  plan: DagPlan,
  dagInputs: Record<string, unknown>,
  options: DagRunOptions,
  given: GivenInputs,
  fail: (stage: string, cause: unknown) => Error,
): Promise<Record<string, unknown>> {
  const runner = options.runner;
  if (runner.backend === "threads") {
    throw new DagRunnerError(`dag.run(inputs, { runner }): a DAG's stages run in-process or on BullMQ workers (backend "bullmq"), not on a "threads" Runner; run the DAG without a runner to use this machine`);
  }
  const run = (await runner.startStages()) as (RemoteRun & { store: CacheStore & { namespace: string }; root: string }) | undefined;
  if (!run) throw new DagRunnerError(`dag.run(inputs, { runner }): this Runner (backend "${runner.backend}") runs no DAG stages`);
  const offShutdown = onShutdown(() => run.close());
  try {
    return await schedule(plan, dagInputs, run, addresser(options, run.root), given, fail);
  } finally {
    offShutdown();
    await run.close();
  }
}

async function schedule(
  plan: DagPlan,
  dagInputs: Record<string, unknown>,
  run: RemoteRun & { store: CacheStore; root: string },
  address: (spec: StageSpec) => Promise<{ module: string; export: string; sources: string }>,
  given: GivenInputs,
  fail: (stage: string, cause: unknown) => Error,
): Promise<Record<string, unknown>> {
  const { nodes, terminal } = plan;
  const { store } = run;
  const outputs: (Record<string, unknown> | undefined)[] = new Array(nodes.length);
  const inputsOf: (Record<string, unknown> | undefined)[] = new Array(nodes.length);
  const started = new Array<boolean>(nodes.length).fill(false);
  const inbox = new Inbox<Done>();
  let unfinished = 0;
  const work = (index: number, body: () => Promise<Record<string, unknown>>) => {
    body().then(
      (out) => inbox.push({ index, outputs: out }),
      (error: unknown) => inbox.push({ index, error }),
    );
  };
  // A job's end: its outputs are read from the store (see the file's comment).
  let pumping = true;
  void (async () => {
    while (pumping) {
      let next: Awaited<ReturnType<RemoteRun["next"]>>;
      try {
        next = await run.next();
      } catch (error) {
        if (pumping) inbox.push({ index: -1, error });
        return;
      }
      const { index, outcome } = next;
      if (!outcome.ok) inbox.push({ index, error: Object.assign(new Error(outcome.error.message), { name: outcome.error.name }) });
      else work(index, () => runStage(nodes[index]!.spec, inputsOf[index]!, nodes[index]!.place, store));
    }
  })();

  /** Starts every stage whose predecessors are done: the local ones at once, the jobs in one wave. */
  const launch = async (): Promise<void> => {
    const ready: number[] = [];
    for (let i = 0; i < nodes.length; i++) {
      if (started[i] || !nodes[i]!.preds.every((p) => outputs[p] !== undefined)) continue;
      started[i] = true;
      unfinished++;
      const { spec, preds } = nodes[i]!;
      inputsOf[i] = given(spec, dagInputs, preds.map((p) => outputs[p]!));
      if (spec.cache) ready.push(i);
      else work(i, () => runStage(spec, inputsOf[i]!, nodes[i]!.place));
    }
    if (ready.length === 0) return;
    const planned = await Promise.all(
      ready.map(async (i): Promise<{ index: number; point: StageSubmission } | undefined> => {
        const spec = nodes[i]!.spec;
        const inputs = inputsOf[i]!;
        try {
          const { key, code } = await stageKey(spec, inputs, store);
          if (await isHit(store, spec.name, key)) {
            work(i, () => runStage(spec, inputs, nodes[i]!.place, store));
            return undefined;
          }
          let where: Awaited<ReturnType<typeof address>>;
          try {
            where = await address(spec);
          } catch (error) {
            inbox.push({ index: -1, error }); // a setup mistake, not a failure of the stage
            return undefined;
          }
          return { index: i, point: { ...where, stage: spec.name, key, code, inputs } };
        } catch (error) {
          inbox.push({ index: i, error });
          return undefined;
        }
      }),
    );
    const wave = planned.filter((p) => p !== undefined);
    if (wave.length > 0) await run.submit(wave);
  };

  try {
    await launch();
    while (unfinished > 0) {
      const done = await inbox.next();
      if ("error" in done) {
        if (done.index < 0) throw done.error;
        const { error } = done;
        throw error instanceof Error && error.name === "StageRunError" ? error : fail(nodes[done.index]!.spec.name, error);
      }
      unfinished--;
      outputs[done.index] = done.outputs;
      await launch();
    }
  } finally {
    pumping = false;
  }
  return Object.assign({}, ...terminal.map((i) => outputs[i]!)) as Record<string, unknown>;
}

/**
 * How the workers find each stage: its module relative to the project root (the `module` option,
 * else where the stage was made), its export there, and the fingerprint of the module's sources.
 * Resolved once per stage per run.
 */
function addresser(options: DagRunOptions, root: string): (spec: StageSpec) => Promise<{ module: string; export: string; sources: string }> {
  const known = new Map<StageSpec, Promise<{ module: string; export: string; sources: string }>>();
  const entry = entryScript();
  const find = async (spec: StageSpec) => {
    const candidates = options.module !== undefined ? [typeScriptTwin(moduleHref(options.module))] : siteModules(spec).map(typeScriptTwin);
    let inEntry: string | undefined;
    for (const href of candidates) {
      // Never imported here: the script that runs the DAG may still be evaluating (a top-level
      // await), and importing it would wait for itself; a worker would run it, in any case.
      if (entry !== undefined && href.startsWith("file:") && samePath(href, entry)) {
        inEntry ??= href;
        continue;
      }
      const name = await exportIn(href, spec);
      if (name === undefined) continue;
      return { module: relativeModule(href, root), export: name, sources: taskFingerprint(fileURLToPath(href), name) };
    }
    if (inEntry !== undefined) {
      throw new DagRunnerError(
        `stage '${spec.name}' is defined in the script that runs the DAG (${fileURLToPath(inEntry)}): a worker imports a stage's module, and would run this script; move the stages to a module of their own, without side effects, and export them`,
      );
    }
    const where =
      options.module !== undefined
        ? `the module given as { module } (${candidates[0]})`
        : candidates.length > 0
          ? `the module that made it (${candidates.map((c) => (c.startsWith("file:") ? fileURLToPath(c) : c)).join(", ")})`
          : "any module memopipe could find (no stack was recorded: pass { module })";
    throw new DagRunnerError(`stage '${spec.name}' is not exported by ${where}: workers find a DAG's cached stages by module and export, so export it (export const ${safeIdentifier(spec.name)} = stage(…))`);
  };
  return (spec) => {
    let found = known.get(spec);
    if (!found) known.set(spec, (found = find(spec)));
    return found;
  };
}

/** The name under which `href` exports the stage: the stage itself, else a cached stage of that name (the module loaded twice, by a test runner's own loader, say). */
async function exportIn(href: string, spec: StageSpec): Promise<string | undefined> {
  if (!href.startsWith("file:")) return undefined;
  let exports: Record<string, unknown>;
  try {
    exports = await loadModule(href);
  } catch {
    return undefined;
  }
  const scopes = [exports, exports.default as Record<string, unknown> | undefined].filter((s): s is Record<string, unknown> => !!s && typeof s === "object");
  for (const same of [true, false]) {
    for (const scope of scopes) for (const [name, value] of Object.entries(scope)) if (isStageOf(value, spec, same)) return name;
  }
  return undefined;
}

function entryScript(): string | undefined {
  const main = process.argv[1];
  if (!main) return undefined;
  try {
    return realpathSync(main);
  } catch {
    return main;
  }
}

function samePath(href: string, file: string): boolean {
  let path = fileURLToPath(href);
  try {
    path = realpathSync(path);
  } catch {
    // not there: compared as written
  }
  return path === file;
}

function safeIdentifier(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : "myStage";
}

/** Whether the store holds a good entry for the key (the stage's run then reads it: no job). */
async function isHit(store: CacheStore, stage: string, key: string): Promise<boolean> {
  try {
    return (await store.get(stage, key)).status === "hit";
  } catch {
    return false;
  }
}

function isStageOf(value: unknown, spec: StageSpec, same: boolean): boolean {
  if (typeof value !== "function") return false;
  try {
    const found = specOf(value);
    return same ? found === spec : found.name === spec.name && found.cache !== undefined;
  } catch {
    return false;
  }
}

/** Items pushed by concurrent work, read one at a time in arrival order. */
class Inbox<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  async next(): Promise<T> {
    while (this.#items.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = undefined;
    return this.#items.shift()!;
  }
}
