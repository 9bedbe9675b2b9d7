import { MemopipeError } from "../errors.js";

/**
 * A run stopped by its `signal` (`runner.run(task, points, { signal })`). Points not started were
 * not started; on the `threads` backend the threads computing points were stopped (the Runner
 * starts new ones on its next run). `results` holds what had finished, in input order: a result or
 * an error record where a point finished, `undefined` where it did not; `completed` counts them.
 * `cause` is the signal's reason.
 *
 * @example
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 1000);
 * try {
 *   await runner.run(simulateTask, points, { signal: controller.signal });
 * } catch (e) {
 *   if (e instanceof RunAbortedError) console.log(`${e.completed}/${points.length} points done`, e.results.filter(Boolean));
 * }
 */
export class RunAbortedError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_RUN_ABORTED";
  constructor(
    /** One slot per point, in input order: its result or error record, or `undefined` if it did not finish. */
    readonly results: unknown[],
    reason: unknown,
  ) {
    const completed = results.reduce<number>((n, r) => (r === undefined ? n : n + 1), 0);
    super(`the run was aborted after ${completed} of ${results.length} point${results.length === 1 ? "" : "s"}${reasonText(reason)}`, { cause: reason });
    this.completed = completed;
  }
  /** How many points had finished (a result or an error record). */
  readonly completed: number;
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.name === "AbortError" ? "" : `: ${reason.message}`;
  return reason === undefined ? "" : `: ${String(reason)}`;
}

/** The error-record codes the Runner gives the failures it makes itself (a point's own error has none). */
export const POINT_TIMEOUT = "MEMOPIPE_POINT_TIMEOUT";
