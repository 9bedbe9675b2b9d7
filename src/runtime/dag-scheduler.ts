/**
 * Runs a graph of tasks in dependency order, each as soon as its predecessors are done, with no
 * promise of its own for a task that finishes synchronously.
 *
 * ## Why not one promise per task
 * The obvious scheduler (`p[i] = Promise.all(preds.map((j) => p[j])).then(run)`) costs about a
 * microsecond per task: a `Promise.all`, a `.then`, their closures and two turns of the microtask
 * queue, even for a task that computes in nanoseconds. Here each task has a count of predecessors
 * still running; when a task ends, its successors' counts go down and those at zero join a queue
 * that one loop empties. A task whose result is a value (an uncached stage whose function is
 * synchronous) ends inside the loop, so a chain of a thousand such tasks is one loop with no promise
 * at all; a task that returns a Promise ends in that promise's callback, which empties the queue
 * again. Independent tasks that return promises are all started before any of them is awaited, so
 * they overlap as they did with one promise each.
 *
 * ## Failures
 * A task that throws (or whose promise rejects) fails; the tasks that depend on it, directly or
 * not, never start; every other task still runs. When all have ended, the run fails with the
 * failure of the task added first (the lowest index), so the error does not depend on timing.
 */

/** A graph ready to run: its size, and for each task its successors and its number of predecessors. */
export interface TaskGraph {
  readonly size: number;
  /** `successors[i]`: the tasks that wait for task `i`. */
  readonly successors: readonly (readonly number[])[];
  /** `predecessorCount[i]`: how many tasks task `i` waits for. */
  readonly predecessorCount: Int32Array;
}

/**
 * The graph of tasks whose predecessors are `preds` (indices of earlier or later tasks; a cycle
 * never runs and is reported when the graph is run). Linear in the number of tasks and edges.
 *
 * @example
 * const g = taskGraph([[], [0], [0], [1, 2]]); // a diamond
 */
export function taskGraph(preds: readonly (readonly number[])[]): TaskGraph {
  const size = preds.length;
  const successors: number[][] = Array.from({ length: size }, () => []);
  const predecessorCount = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const ps = preds[i]!;
    predecessorCount[i] = ps.length;
    for (let k = 0; k < ps.length; k++) successors[ps[k]!]!.push(i);
  }
  return { size, successors, predecessorCount };
}

/**
 * Runs every task of `graph`: `run(i, results)` once task `i`'s predecessors have ended, with the
 * results of the tasks ended so far (`results[j]` for each predecessor `j`). Returns the results
 * (synchronously when every task finished synchronously, else a Promise of them); a failure is
 * thrown (or rejected) as `fail(i, error)` makes it, for the failed task added first.
 *
 * @example
 * const out = await runTasks(taskGraph([[], [0]]), (i, r) => (i === 0 ? 1 : r[0]! + 1), (i, e) => e); // [1, 2]
 */
export function runTasks<T>(
  graph: TaskGraph,
  run: (index: number, results: readonly T[]) => T | Promise<T>,
  fail: (index: number, error: unknown) => unknown,
): T[] | Promise<T[]> {
  const { size, successors } = graph;
  const results = new Array<T>(size);
  const waiting = graph.predecessorCount.slice();
  /** 1 once a predecessor failed (or was skipped): the task will not run. */
  const blocked = new Uint8Array(size);
  // The queue of tasks ready to start: every task enters it exactly once, so an array of `size`
  // slots with a read and a write position is enough (no shift, no growth).
  const queue = new Int32Array(size);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < size; i++) if (waiting[i] === 0) queue[tail++] = i;
  let ended = 0;
  let running = 0;
  let failedAt = -1;
  let failure: unknown;
  let settle: { resolve(v: T[]): void; reject(e: unknown): void } | undefined;

  const end = (i: number, ok: boolean): void => {
    ended++;
    const next = successors[i]!;
    for (let k = 0; k < next.length; k++) {
      const s = next[k]!;
      if (!ok) blocked[s] = 1;
      const left = waiting[s]! - 1;
      waiting[s] = left;
      if (left === 0) queue[tail++] = s;
    }
  };
  const failed = (i: number, error: unknown): void => {
    if (failedAt < 0 || i < failedAt) {
      failedAt = i;
      failure = error;
    }
    end(i, false);
  };
  const drain = (): void => {
    while (head < tail) {
      const i = queue[head++]!;
      if (blocked[i] === 1) {
        end(i, false); // skipped: its own successors are blocked in turn
        continue;
      }
      let r: T | Promise<T>;
      try {
        r = run(i, results);
      } catch (error) {
        failed(i, error);
        continue;
      }
      if (r instanceof Promise) {
        running++;
        r.then(
          (v: T) => {
            running--;
            results[i] = v;
            end(i, true);
            drain();
            finish();
          },
          (error: unknown) => {
            running--;
            failed(i, error);
            drain();
            finish();
          },
        );
      } else {
        results[i] = r;
        end(i, true);
      }
    }
  };
  const finish = (): void => {
    if (running > 0 || settle === undefined) return;
    if (ended < size) settle.reject(cycle(ended, size));
    else if (failedAt >= 0) settle.reject(fail(failedAt, failure));
    else settle.resolve(results);
  };

  drain();
  if (running === 0) {
    if (ended < size) throw cycle(ended, size);
    if (failedAt >= 0) throw fail(failedAt, failure);
    return results;
  }
  return new Promise<T[]>((resolve, reject) => {
    settle = { resolve, reject };
  });
}

function cycle(ended: number, size: number): Error {
  return new Error(`${size - ended} of ${size} tasks wait for each other in a cycle and never ran`);
}
