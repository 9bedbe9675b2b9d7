import type { ErrorRecord } from "../../types/sweep.js";

/**
 * The `{ name, message }` of a thrown value. An `Error` gives its own; anything else thrown (a
 * string, a number) is reported as an `Error` whose message is the value as text.
 *
 * @example
 * errorInfo(new RangeError("too big")); // { name: "RangeError", message: "too big" }
 * errorInfo("oops");                    // { name: "Error", message: "oops" }
 */
export function errorInfo(thrown: unknown): { name: string; message: string } {
  if (thrown !== null && typeof thrown === "object") {
    const { name, message } = thrown as { name?: unknown; message?: unknown };
    if (typeof message === "string") return { name: typeof name === "string" && name ? name : "Error", message };
  }
  if (thrown !== null && typeof thrown === "object") {
    try {
      return { name: "Error", message: JSON.stringify(thrown) };
    } catch {
      // fall through: a cyclic object
    }
  }
  return { name: "Error", message: String(thrown) };
}

/**
 * The error record of a failed point: its named arguments, then `error` (an `error` argument is
 * replaced).
 *
 * @example
 * errorRecord({ n: 3 }, new Error("bad")); // { n: 3, error: { name: "Error", message: "bad" } }
 */
export function errorRecord<Args>(args: Args, thrown: unknown): ErrorRecord<Args> {
  const base = args !== null && typeof args === "object" ? args : {};
  return { ...base, error: errorInfo(thrown) } as ErrorRecord<Args>;
}

/**
 * Whether a value is a thenable (a Promise or a Promise-like).
 *
 * @example
 * isThenable(Promise.resolve(1)); // true
 * isThenable({ then: 1 });        // false
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}
