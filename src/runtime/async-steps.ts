/**
 * Which steps are *always* asynchronous, so that a pipeline containing one always returns a
 * Promise, even when an earlier, synchronous step throws.
 *
 * A pipeline runs synchronously until a step returns a thenable, so a throw before that point
 * would otherwise escape synchronously from a function whose type says it returns a Promise
 * (`run(x).catch(...)` would not catch it). Where the runtime can *see* that a step always
 * returns a Promise (an `async function`, or a built pipeline that itself contains one), the
 * built function turns such a throw into a rejected Promise. A plain function that returns a
 * Promise cannot be recognised without calling it; a throw before it is thrown as it is.
 */
export const ASYNC_PIPELINE: unique symbol = Symbol.for("memopipe.asyncPipeline");

/** Whether `f` always returns a Promise: an `async function`, or an always-async built pipeline. */
export function isAlwaysAsync(f: unknown): boolean {
  if (typeof f !== "function") return false;
  return (
    (f as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === "AsyncFunction" ||
    (f as { [ASYNC_PIPELINE]?: unknown })[ASYNC_PIPELINE] === true
  );
}

/** Wraps a built pipeline so that it rejects instead of throwing, and marks it always-async. */
export function alwaysAsync(run: (input: unknown) => unknown): (input: unknown) => unknown {
  const pipeline = (input: unknown) => {
    try {
      return run(input);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  Object.defineProperty(pipeline, ASYNC_PIPELINE, { value: true });
  return pipeline;
}
