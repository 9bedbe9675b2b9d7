/**
 * A DAG stage as a job: what it carries, and what a worker needs to run it. The stage itself is
 * the DSL's (a floor above the runtime), so `memopipe worker` hands the processor a `StageJobs`
 * adapter (src/dsl/stage-jobs.ts) instead of the runtime importing the builders.
 *
 * ```
 * { memopipe: 1, kind: "stage", module: "src/pipeline.ts", export: "register", stage: "register",
 *   key: "<the cache key on the caller>", code: "<the stage's code fingerprint>",
 *   sources: "<the SHA-256 of the stage's module and the project files it imports>", value: <inputs>, namespace }
 * ```
 * The inputs travel in the cache's codec (`{ mpv1 }`, or a blob above 32 KB): a `FileRef` stays one.
 * A worker refuses the job when its own fingerprint of the stage differs (other code: the cache's
 * code fingerprint, or the bytes of the stage's module and its relative imports, as a sweep task's
 * — the stricter of the two, since without `memopipe fingerprint` the cache's covers only the
 * stage function's own text) or when the inputs give it another key (a file input with other contents on that machine): in both cases it
 * would compute something else than what the caller asked for, under the caller's name.
 */
import type { CacheStore } from "../../cache/types.js";
import type { JOB_FORMAT, WireValue } from "./job-format.js";

/**
 * The data of a stage's job.
 *
 * @example
 * const data: StageJob = { memopipe: 1, kind: "stage", module: "src/pipeline.ts", export: "register", stage: "register", key, code, value: { json: { ref: "mni152" } } };
 */
export interface StageJob {
  readonly memopipe: typeof JOB_FORMAT;
  readonly kind: "stage";
  readonly module: string;
  readonly export: string;
  /** The stage's name. */
  readonly stage: string;
  /** The cache key of this run on the caller. */
  readonly key: string;
  /** The stage's code fingerprint on the caller (the cache's, part of the key). */
  readonly code: string;
  /** The fingerprint of the stage module's sources on the caller (task-code.ts's `taskFingerprint`). */
  readonly sources: string;
  /** The stage's inputs. */
  readonly value: WireValue;
  readonly namespace?: string;
}

/**
 * What a worker needs to run stage jobs (given by `memopipe worker`, from src/dsl/stage-jobs.ts).
 *
 * @example
 * const spec = stages.spec(exported, "register"); if (typeof spec !== "string") await stages.run(spec, inputs, store);
 */
export interface StageJobs {
  /** The stage behind an export, or what is wrong (not a stage, another name, not cached). */
  spec(exported: unknown, name: string): object | string;
  /** The cache key and code fingerprint of a run with these inputs. */
  key(spec: object, inputs: Record<string, unknown>, store: CacheStore): Promise<{ key: string; code: string }>;
  /** The stage's cached run on `store` (a hit if any machine computed it already). */
  run(spec: object, inputs: Record<string, unknown>, store: CacheStore): Promise<Record<string, unknown>>;
}
