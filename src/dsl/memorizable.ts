import { ALLOW_INGEST } from "../runtime/allow-ingest.js";
import { PipelineDefinitionError } from "../runtime/errors.js";
import type { NotIngestableParams } from "../types/builder-state.js";

/**
 * The original function behind a `memorizable` wrapper. A registered symbol, so the `memopipe`
 * command's own copy of the runtime sees through a wrapper the package's copy made (`memopipe graph`).
 */
const ORIGINAL: unique symbol = Symbol.for("memopipe.original") as never;

/**
 * A function marked by `memorizable`; `A` says whether it may ingest memory. With
 * `allowIngest: false` its parameter list carries the mark (see `AllowOf` in
 * types/builder-state.ts for why the parameters and not the function); otherwise it is `F`
 * itself, generic functions included.
 */
export type Memorizable<F, A extends boolean> = [A] extends [false]
  ? F extends (...args: infer P) => infer R
    ? (...args: NotIngestableParams<P>) => R
    : F
  : F;

/** Options of `memorizable`. */
export interface MemorizableOptions<A extends boolean> {
  /** `false`: the step's result may be stored, but it can never ingest a memory value. Default `true`. */
  readonly allowIngest?: A;
}

/**
 * Marks a step (pypely's `memorizable`). With `{ allowIngest: false }` the step may be stored but
 * never ingest: `.ingestBefore/.ingestAfter` on it fails to compile with a message that says
 * `allowIngest` (and throws `IngestNotAllowedError` for untyped callers). Steps are ingestable
 * without it; use it to forbid ingests, or to document that a function is meant to take them.
 *
 * The function is not modified (pypely sets attributes on the user's function); a marked copy is
 * returned, which calls the original and can be called directly.
 *
 * @example
 * const load = memorizable((path: string) => readFileSync(path, "utf8"), { allowIngest: false });
 * pipe<string>().step(load).store("text"); // fine
 * // pipe<string>().store("p").step(load).ingestAfter("p");  // compile error: allowIngest: false
 */
export function memorizable<F extends (...args: never[]) => unknown, A extends boolean = true>(
  f: F,
  options?: MemorizableOptions<A>,
): Memorizable<F, A> {
  if (typeof f !== "function") throw new PipelineDefinitionError(`memorizable(f) needs a function, got ${typeof f}`);
  const original = unwrapMemorizable(f as unknown as (...args: unknown[]) => unknown);
  const marked = function (this: unknown, ...args: unknown[]) {
    return original.apply(this, args);
  };
  Object.defineProperty(marked, "name", { value: original.name });
  Object.defineProperty(marked, ALLOW_INGEST, { value: options?.allowIngest ?? true });
  Object.defineProperty(marked, ORIGINAL, { value: original });
  return marked as unknown as Memorizable<F, A>;
}

/** The function a pipeline calls for `f`: the original behind a `memorizable` wrapper. */
export function unwrapMemorizable<F extends (...args: unknown[]) => unknown>(f: F): F {
  return ((f as { [ORIGINAL]?: F })[ORIGINAL] ?? f) as F;
}

/** A step's name for messages: the function's name, or what it is. */
export function describeFunction(f: Function): string {
  return f.name ? f.name : "anonymous function";
}
