/**
 * The errors of the `bullmq` backend that fail a whole run (a point's own error is its result).
 */
import { MemopipeError } from "../../errors.js";

/**
 * A worker refused a job because it runs other code than the caller: its fingerprint of the task
 * differs from the one the job carries (another commit, an uncommitted edit, another dependency
 * version). Nothing was computed. Run the workers on the caller's checkout.
 *
 * @example
 * try { await runner.run(simulateTask, points); } catch (e) { if (e instanceof WorkerCodeError) console.error(e.message); }
 */
export class WorkerCodeError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_WORKER_CODE";
}

/**
 * A worker cannot run a job: the task module is missing from its checkout, has no such export, or
 * the job is of a format this worker's memopipe does not read.
 *
 * @example
 * try { await runner.run(simulateTask, points); } catch (e) { if (e instanceof WorkerSetupError) console.error(e.message); }
 */
export class WorkerSetupError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_WORKER_SETUP";
}

/**
 * A DAG cannot run on the Runner it was given: not a Runner, a `threads` Runner (a DAG's stages
 * run in-process or on BullMQ workers), or a cached stage the workers could not find (not exported
 * by its module, or defined in the script that runs the DAG). Nothing was sent.
 *
 * @example
 * await g.run(inputs, { runner: new Runner({ backend: "threads" }) }); // throws DagRunnerError
 */
export class DagRunnerError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_DAG_RUNNER";
}

/** The failure-reason names a worker gives these refusals (literal: bundlers may rename classes). */
export const CODE_REFUSAL = "WorkerCodeError";
export const SETUP_REFUSAL = "WorkerSetupError";
/** A stage job whose inputs give the worker another key than the caller's (a file that differs there): a failure of that stage. */
export const INPUTS_REFUSAL = "StageInputsError";
