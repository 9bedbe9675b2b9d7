import type { TaskAddress, WorkerTask } from "../../types/sweep.js";
import { MemopipeError } from "../../runtime/errors.js";
import { isTaskAddress, moduleHref } from "../../runtime/runner/address.js";
import { typeScriptTwin } from "../../runtime/runner/source-module.js";

/**
 * A task addressed by module and export name (SPEC "Runners"): the code that computes one point,
 * found by a worker thread without sending it a function. The same entry serves every backend
 * (`in-process` imports the module in this thread).
 *
 * Give the exported function's type as the type argument, so `runner.run` checks the points
 * against its argument and types the results (`import type` is enough):
 *
 * @example
 * // points.ts
 * export function simulate({ n, seed }: { n: number; seed: number }) { return { est: n * seed }; }
 *
 * // main.ts
 * import type { simulate } from "./points.js";
 * const simulateTask = task<typeof simulate>({ module: new URL("./points.js", import.meta.url), export: "simulate" });
 * const results = await new Runner({ backend: "threads" }).run(simulateTask, grid({ n: [1, 2], seed: [1, 2] }));
 */
export function task<F extends (point: never) => unknown = (point: object) => unknown>(
  address: TaskAddress,
): WorkerTask<Parameters<F>[0], Awaited<ReturnType<F>>> {
  if (!isTaskAddress(address)) throw new MemopipeError("task({ module, export }): give the module's URL and the name of the function it exports");
  if (address.export.length === 0) throw new MemopipeError("task({ module, export }): the export name must be a non-empty string");
  return Object.freeze({ module: typeScriptTwin(moduleHref(address.module)), export: address.export });
}
