/** A stage's description on its graph node (model.ts `StageInfo`), from its part. */
import { returnedKeys } from "./function-source.js";
import type { StageInfo } from "./model.js";
import type { StagePart } from "./parts.js";

/**
 * What a stage node says: name, cache, inputs, outputs (declared with `outputs: [...]`, else read
 * from the object literal the function returns), fixed inputs.
 *
 * @example
 * stageInfo(part); // { name: "load", cached: true, cacheDir: ".memopipe", inputs: ["scan"], outputs: ["voxels"], fixed: [] }
 */
export function stageInfo(part: StagePart): StageInfo {
  const outputs = part.outputs ?? returnedKeys(part.fn);
  return {
    name: part.name,
    cached: part.cached,
    ...(part.cacheDir !== undefined ? { cacheDir: part.cacheDir } : {}),
    ...(part.inputs ? { inputs: part.inputs } : {}),
    ...(outputs ? { outputs } : {}),
    fixed: part.fixed,
  };
}
