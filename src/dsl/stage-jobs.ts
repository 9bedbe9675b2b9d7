/**
 * A DAG's cached stages as jobs of the bullmq Runner: how a stage is found again on a worker (by
 * its module, relative to the project root, and its export), the key both sides must agree on, and
 * the run on a worker — the stage's own cached run, on the Runner's shared store.
 *
 * The runtime's worker knows nothing of stages (it is a floor below): `memopipe worker` hands it
 * this adapter (`stageJobs`).
 */
import type { CacheStore } from "../runtime/cache/types.js";
import { MemopipeError } from "../runtime/errors.js";
import type { StageJobs } from "../runtime/runner/bullmq/stage-job.js";
import { cacheKeyFor } from "../runtime/stage-cache.js";
import { runStage, specOf, type StageSpec } from "./stage.js";

/**
 * The cache key (and code fingerprint) of a cached stage's run with these inputs, on `store`.
 *
 * @example
 * const { key, code } = await stageKey(specOf(register), { img }, store);
 */
export function stageKey(spec: StageSpec, inputs: Record<string, unknown>, store: CacheStore): Promise<{ key: string; code: string }> {
  if (!spec.cache) throw new MemopipeError(`stage '${spec.name}' is not cached: it has no key`);
  return cacheKeyFor(spec.name, spec.fn, { ...inputs, ...spec.fixed }, { ...spec.cache, store });
}

/**
 * The name under which `module`'s exports hold `stage` (the stage object itself), if any.
 *
 * @example
 * exportOf(await import("./pipeline.js"), register); // "register"
 */
export function exportOf(module: Record<string, unknown>, stage: unknown): string | undefined {
  for (const [name, value] of Object.entries(module)) if (value === stage) return name;
  const fallback = module.default as Record<string, unknown> | undefined;
  if (fallback && typeof fallback === "object") for (const [name, value] of Object.entries(fallback)) if (value === stage) return name;
  return undefined;
}

/**
 * What `memopipe worker` gives the runtime to run stage jobs.
 *
 * @example
 * await startWorker({ ...options, stages: stageJobs });
 */
export const stageJobs: StageJobs = {
  spec(exported, name) {
    let spec: StageSpec;
    try {
      spec = specOf(exported);
    } catch {
      return `its export is not a stage made by stage(name, fn)`;
    }
    if (spec.name !== name) return `its export is the stage '${spec.name}', not '${name}'`;
    if (!spec.cache) return `the stage '${name}' is not cached here (the caller's is)`;
    return spec;
  },
  key: (spec, inputs, store) => stageKey(spec as StageSpec, inputs, store),
  run: (spec, inputs, store) => runStage(spec as StageSpec, inputs, undefined, store),
};
