import type { IgnoredErrorResult, NamedFnCheck, StartOf, TimedResult } from "../../types/sweep.js";
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
  /**
   * Also add `timeStart`: when the call started, as an ISO 8601 time (memo's
   * `capture_time(time_start=True)`), typed in the record. Default `false`.
   */
  readonly start?: boolean;
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
 * returns (memo's `time_taken`), and with `{ start: true }` also `timeStart`, the time the call
 * started (ISO 8601, memo's `time_start`). Works with async functions: the time then runs until
 * the Promise settles. A `timeTaken` (or `timeStart`) the function returned itself is replaced.
 *
 * The function takes one object of named arguments and returns an object (anything else fails to
 * compile). Wrap it inside a logger to log the time: `memlist({ data })(timeTaken()(fn))`.
 *
 * @example
 * const simulate = timeTaken()(({ n }: { n: number }) => ({ est: n / 2 }));
 * simulate({ n: 10 }); // { est: 5, timeTaken: 0.000012 }
 * const slow = timeTaken({ digits: 2, start: true })(async ({ ms }: { ms: number }) => { await sleep(ms); return { ok: true }; });
 * await slow({ ms: 100 }); // { ok: true, timeStart: "2026-12-02T10:00:00.000Z", timeTaken: 0.1 }
 */
export function timeTaken<const O extends TimeTakenOptions = {}>(options?: O) {
  const digits = options?.digits;
  const withStart = options?.start;
  if (digits !== undefined && (!Number.isInteger(digits) || digits < 0)) throw new MemopipeError(`timeTaken: digits must be a non-negative integer, got ${String(digits)}`);
  if (withStart !== undefined && typeof withStart !== "boolean") throw new MemopipeError(`timeTaken: start must be true or false, got ${String(withStart)}`);
  const seconds = (start: number): number => {
    const s = (performance.now() - start) / 1000;
    return digits === undefined ? s : Number(s.toFixed(digits));
  };
  return <A, R>(fn: ((args: A) => R) & NamedFnCheck<"timeTaken()(fn)", A, Awaited<R>>): ((args: A) => TimedResult<R, StartOf<O>>) => {
    checkFn(fn, "timeTaken()(fn)");
    const timed = (args: A) => {
      const startedAt = withStart ? new Date().toISOString() : undefined;
      const start = performance.now();
      const result = (fn as (args: A) => unknown)(args);
      const add = (r: unknown) => {
        const out = { ...checkResult(r, "timeTaken()(fn)") };
        if (startedAt !== undefined) {
          delete out.timeStart; // replaced, and placed next to timeTaken
          out.timeStart = startedAt;
        }
        delete out.timeTaken;
        out.timeTaken = seconds(start);
        return out;
      };
      return isThenable(result) ? Promise.resolve(result).then(add) : add(result);
    };
    Object.defineProperty(timed, "name", { value: (fn as Function).name });
    return timed as (args: A) => TimedResult<R, StartOf<O>>;
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
