/**
 * A DAG run on the bullmq Runner (`g.run(inputs, { runner, module })`): the caller schedules, the
 * workers compute, the Runner's `RedisStore` holds every cached stage's entry.
 *
 * ## Waves, not Flows
 * BullMQ's FlowProducer hangs on a diamond (a child shared by two parents, taskforcesh/bullmq#1021),
 * so the DAG is not mapped onto Flows: the caller sends, in one `addBulk`, every stage whose
 * predecessors are done (a wave), waits for the next result, and sends what that result made ready.
 *
 * ## What becomes a job
 * - a cached stage whose entry is already in the store creates no job: the caller reads it (a hit,
 *   recorded as any hit is, for `memopipe why`);
 * - any other cached stage is a job carrying its cache key, its code fingerprint and its inputs
 *   (small inline, large through the store), deduplicated by stage and key: two callers running
 *   the same DAG at once share one job (and the worker's claim on the key makes one computation in
 *   any case);
 * - an uncached stage runs here, in the caller (it has no key to share a result under).
 *
 * The workers find a stage among the exports of `module` (relative to the project root): the module
 * that defines the DAG's stages, without side effects (a worker imports it), not the script that
 * runs the DAG.
 */
import type { CacheStore } from "../runtime/cache/types.js";
import { MemopipeError } from "../runtime/errors.js";
import { moduleHref } from "../runtime/runner/address.js";
import type { StageSubmission } from "../runtime/runner/bullmq/client.js";
import { relativeModule } from "../runtime/runner/bullmq/task-code.js";
import type { Runner } from "../runtime/runner/runner.js";
import { typeScriptTwin } from "../runtime/runner/source-module.js";
import { loadModule } from "../runtime/runner/worker.js";
import { runStage, specOf, type StageSpec } from "./stage.js";
import { stageKey } from "./stage-jobs.js";

/**
 * Options of a DAG run on a Runner.
 *
 * @example
 * await g.run(inputs, { runner, module: new URL("./pipeline.js", import.meta.url) });
 */
export interface DagRunOptions {
  /** The Runner whose workers compute the cached stages (`backend: "bullmq"`). */
  readonly runner: Runner;
  /** The module that exports the DAG's cached stages (a URL or an absolute path), where the workers find them. */
  readonly module: URL | string;
}

/** The planned DAG: its stages in order, with their predecessors' indices, and the terminal ones. */
export interface DagPlan {
  readonly nodes: readonly { readonly spec: StageSpec; readonly preds: readonly number[] }[];
  readonly terminal: readonly number[];
}

/** What a stage receives, given the DAG's inputs and its predecessors' outputs (the scheduler's own rule). */
export type GivenInputs = (spec: StageSpec, dagInputs: Record<string, unknown>, outs: readonly Record<string, unknown>[]) => Record<string, unknown>;

/**
 * Runs a planned DAG with its cached stages on the Runner's workers (see the file's comment).
 *
 * @throws StageRunError (from `fail`) for the first stage that fails.
 * @example
 * await runDagOnRunner(plan, inputs, { runner, module }, given, (name, e) => new StageRunError(name, e));
 */
export async function runDagOnRunner(
  plan: DagPlan,
  dagInputs: Record<string, unknown>,
  options: DagRunOptions,
  given: GivenInputs,
  fail: (stage: string, cause: unknown) => Error,
): Promise<Record<string, unknown>> {
  const run = await options.runner.startStages();
  if (!run) {
    throw new MemopipeError(`dag.run(inputs, { runner }): a DAG's stages go to a Runner with backend "bullmq" (this one is "${options.runner.backend}")`);
  }
  const { store, root } = run;
  const href = typeScriptTwin(moduleHref(options.module));
  const module = relativeModule(href, root);
  let exports: Record<string, unknown> | undefined;
  const exportName = async (spec: StageSpec): Promise<string> => {
    exports ??= await loadModule(href);
    const scopes = [exports, exports.default as Record<string, unknown> | undefined].filter((s): s is Record<string, unknown> => !!s && typeof s === "object");
    // the stage itself; else a stage of that name (the module loaded twice: by a test runner's own loader, say)
    for (const same of [true, false]) {
      for (const scope of scopes) for (const [name, value] of Object.entries(scope)) if (isStageOf(value, spec, same)) return name;
    }
    throw new MemopipeError(`stage '${spec.name}' is not exported by ${module}: the workers find a DAG's cached stages among the exports of the module given as { module }`);
  };

  const { nodes, terminal } = plan;
  const outputs: (Record<string, unknown> | undefined)[] = new Array(nodes.length);
  const started = new Array<boolean>(nodes.length).fill(false);
  let inFlight = 0;
  const settled = run.settled()[Symbol.asyncIterator]();
  const failOf = (i: number, cause: unknown) => (cause instanceof Error && cause.name === "StageRunError" ? cause : fail(nodes[i]!.spec.name, cause));
  try {
    for (;;) {
      // Everything that is ready now: uncached stages and hits here, the rest in one wave.
      const wave: { index: number; point: StageSubmission }[] = [];
      for (let progressed = true; progressed; ) {
        progressed = false;
        for (let i = 0; i < nodes.length; i++) {
          if (started[i] || !nodes[i]!.preds.every((p) => outputs[p] !== undefined)) continue;
          started[i] = true;
          progressed = true;
          const { spec, preds } = nodes[i]!;
          const inputs = given(spec, dagInputs, preds.map((p) => outputs[p]!));
          try {
            if (!spec.cache) {
              outputs[i] = await runStage(spec, inputs);
              continue;
            }
            const { key, code } = await stageKey(spec, inputs, store);
            if (await isHit(store, spec.name, key)) {
              outputs[i] = await runStage(spec, inputs, undefined, store);
              continue;
            }
            wave.push({ index: i, point: { module, export: await exportName(spec), stage: spec.name, key, code, inputs } });
          } catch (error) {
            throw failOf(i, error);
          }
        }
      }
      if (wave.length > 0) {
        await run.submit(wave);
        inFlight += wave.length;
      }
      if (inFlight === 0) break;
      const next = await settled.next();
      if (next.done) throw new MemopipeError("the Runner ended the DAG's run before its stages were done");
      inFlight--;
      const { index, outcome } = next.value;
      if (!outcome.ok) throw failOf(index, Object.assign(new Error(outcome.error.message), { name: outcome.error.name }));
      outputs[index] = outcome.value as Record<string, unknown>;
    }
  } finally {
    await run.close();
  }
  return Object.assign({}, ...terminal.map((i) => outputs[i]!)) as Record<string, unknown>;
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
