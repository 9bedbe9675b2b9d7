/**
 * The contract between the `Runner` (runner.ts: order, progress, results) and a backend that runs
 * points somewhere else: submit, settled, close. The `bullmq` backend (bullmq/) implements it; a
 * DAG run uses the same contract for its stages (one `submit` per wave).
 *
 * A backend never rejects for a point: a point whose task throws settles as `{ ok: false, error }`.
 * `settled()` throws only for a setup mistake (a worker that cannot load the task, or runs other
 * code), which fails the whole run, as the threads backend does.
 */

/**
 * What became of one point.
 *
 * @example
 * const o: Outcome = { ok: false, error: { name: "RangeError", message: "n = 3 is unlucky" } };
 */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: { name: string; message: string } };

/**
 * A point handed to a backend: its place in the run's list, and the point.
 *
 * @example
 * const s: Submission = { index: 3, point: { n: 3 } };
 */
export interface Submission {
  readonly index: number;
  readonly point: object;
}

/**
 * One run of one task on a backend.
 *
 * @example
 * const run = await backend.start(task);
 * await run.submit(points.map((point, index) => ({ index, point })));
 * for await (const { index, outcome } of run.settled()) results[index] = outcome;
 * await run.close();
 */
export interface BackendRun {
  /** Hands points to the backend (for `bullmq`: one `addBulk` per call, chunked). Each settles once. */
  submit(points: readonly Submission[]): Promise<void>;
  /**
   * The outcomes, as they come (not in order); ends once every submitted point has settled.
   * Throws for a setup mistake (the whole run fails).
   */
  settled(): AsyncIterable<{ readonly index: number; readonly outcome: Outcome }>;
  /** Ends the run; points that have not settled are withdrawn where the backend can. */
  close(): Promise<void>;
}

/**
 * A backend: starts runs, and holds what runs share (connections).
 *
 * @example
 * const backend: Backend = await openBullmqBackend({ backend: "bullmq", queue: "sweeps" });
 */
export interface Backend {
  start(task: unknown): Promise<BackendRun>;
  close(): Promise<void>;
}
