import { NotATupleError } from "./errors.js";
import { isThenable } from "./program.js";

/**
 * Fork results at run time. A fork's result is a frozen array registered here, so `flatten`
 * flattens exactly the tuples forks made (and keeps arrays that steps return as values), which is
 * what its type says.
 */
const forkResults = new WeakSet<readonly unknown[]>();

function seal(values: unknown[]): readonly unknown[] {
  const tuple = Object.freeze(values);
  forkResults.add(tuple);
  return tuple;
}

/** Whether `value` is a tuple a fork produced. */
export function isForkResult(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && forkResults.has(value);
}

/**
 * Calls every branch with the same input, in order; the result is the frozen tuple of their
 * results, or a Promise of it when a branch returned a Promise (the branches then run
 * concurrently: each is started before any is awaited).
 */
export function runFork(branches: readonly ((input: unknown) => unknown)[], input: unknown): unknown {
  const results = branches.map((branch) => branch(input));
  return results.some(isThenable) ? Promise.all(results).then(seal) : seal(results);
}

/** Flattens nested fork tuples into one fork tuple (pypely's `_flatten`). */
export function flattenFork(value: readonly unknown[]): readonly unknown[] {
  const out: unknown[] = [];
  const visit = (t: readonly unknown[]) => {
    for (const item of t) {
      if (isForkResult(item)) visit(item);
      else out.push(item);
    }
  };
  visit(value);
  return seal(out);
}

/** `value` as a tuple, or a `NotATupleError` naming the operation (for callers the types do not cover). */
export function requireTuple(value: unknown, operation: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new NotATupleError(operation, value);
  return value;
}
