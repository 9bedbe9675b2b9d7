import type { IgnoredErrorResult, NamedFnCheck, TimedResult } from "../../types/sweep.js";
import { MemopipeError } from "../../runtime/errors.js";
import { errorRecord, isThenable } from "../../runtime/runner/error-record.js";

/**
 * Options of `timeTaken(options)`.
 *
 * @example
 * timeTaken({ digits: 2 })(fn); // timeTaken: 0.12
 */
export interface TimeTakenOptions {
  /** Round the seconds to this many decimal places (default: not rounded). */
  readonly digits?: number;
}

function checkFn(fn: unknown, where: string): asserts fn is (args: unknown) => unknown {
  if (typeof fn !== "function") throw new MemopipeError(`${where}: expected a function, got ${typeof fn}`);
}

function checkResult(result: unknown, where: string): Record<string, unknown> {
  if (result === null || typeof result !== "object" || Array.isArray(result)) {
    throw new MemopipeError(`${where}: the function must return an object of named results, got ${Array.isArray(result) ? "an array" : result === null ? "null" : typeof result}`);
  }
  return result as Record<string, unknown>;
}

/**
 * Adds `timeTaken` (wall-clock seconds, from `performance.now()`) to the object a function
 * returns (memo's `time_taken`). Works with async functions: the time then runs until the Promise
 * settles. A `timeTaken` the function returned itself is replaced.
 *
 * The function takes one object of named arguments and returns an object (anything else fails to
 * compile). Wrap it inside a logger to log the time: `memlist({ data })(timeTaken()(fn))`.
 *
 * @example
 * const simulate = timeTaken()(({ n }: { n: number }) => ({ est: n / 2 }));
 * simulate({ n: 10 }); // { est: 5, timeTaken: 0.000012 }
 * const slow = timeTaken({ digits: 2 })(async ({ ms }: { ms: number }) => { await sleep(ms); return { ok: true }; });
 * await slow({ ms: 100 }); // { ok: true, timeTaken: 0.1 }
 */
export function timeTaken(options: TimeTakenOptions = {}) {
  const digits = options.digits;
  if (digits !== undefined && (!Number.isInteger(digits) || digits < 0)) throw new MemopipeError(`timeTaken: digits must be a non-negative integer, got ${String(digits)}`);
  const seconds = (start: number): number => {
    const s = (performance.now() - start) / 1000;
    return digits === undefined ? s : Number(s.toFixed(digits));
  };
  return <A, R>(fn: ((args: A) => R) & NamedFnCheck<"timeTaken()(fn)", A, Awaited<R>>): ((args: A) => TimedResult<R>) => {
    checkFn(fn, "timeTaken()(fn)");
    const timed = (args: A) => {
      const start = performance.now();
      const result = (fn as (args: A) => unknown)(args);
      const add = (r: unknown) => ({ ...checkResult(r, "timeTaken()(fn)"), timeTaken: seconds(start) });
      return isThenable(result) ? Promise.resolve(result).then(add) : add(result);
    };
    Object.defineProperty(timed, "name", { value: (fn as Function).name });
    return timed as (args: A) => TimedResult<R>;
  };
}

/**
 * Turns a throw (or a rejected Promise) into an error record `{ ...args, error: { name, message } }`
 * instead of stopping the sweep. Successful calls return the function's result unchanged.
 *
 * The result type says both: `Result | (Args & { error: { name: string; message: string } })`,
 * so code reading the results has to tell them apart (`"error" in r`).
 *
 * @example
 * const safe = ignoreError(({ n }: { n: number }) => {
 *   if (n === 0) throw new RangeError("n must be positive");
 *   return { inv: 1 / n };
 * });
 * safe({ n: 2 }); // { inv: 0.5 }
 * safe({ n: 0 }); // { n: 0, error: { name: "RangeError", message: "n must be positive" } }
 */
export function ignoreError<A, R>(fn: ((args: A) => R) & NamedFnCheck<"ignoreError(fn)", A, Awaited<R>>): (args: A) => IgnoredErrorResult<A, R> {
  checkFn(fn, "ignoreError(fn)");
  const safe = (args: A) => {
    try {
      const result = (fn as (args: A) => unknown)(args);
      return isThenable(result) ? Promise.resolve(result).then(undefined, (e: unknown) => errorRecord(args, e)) : result;
    } catch (e) {
      return errorRecord(args, e);
    }
  };
  Object.defineProperty(safe, "name", { value: (fn as Function).name });
  return safe as (args: A) => IgnoredErrorResult<A, R>;
}
