/**
 * How a function memopipe made says what it is, so `describe()` can draw it: built pipelines,
 * `fork(...)`, `merge(h)`, `to(C)`, `identity`, `flatten`, stages and DAGs carry a *part* under one
 * symbol. The builders attach it (a property on a function they make; nothing is computed until
 * `describe()` asks), and the describers in this folder read it: they never import the builders.
 *
 * The symbol is a registered one (`Symbol.for`), because the `memopipe` command bundles its own
 * copy of the runtime: a pipeline the CLI imports from a user's module was made by the package's
 * copy, and both must agree on the key.
 */
import type { Op } from "../program.js";

/** The key under which a function carries its part (a thunk, or a builder's method: computed when described). */
export const PART: unique symbol = Symbol.for("memopipe.describe") as never;

/** A stage as `describe()` sees it. */
export interface StagePart {
  readonly kind: "stage";
  readonly name: string;
  readonly fn: Function;
  readonly cacheDir: string | undefined;
  readonly cached: boolean;
  readonly inputs: readonly string[] | undefined;
  readonly outputs: readonly string[] | undefined;
  readonly fixed: readonly string[];
}

/**
 * What a described thing is. A `pipe` is its operations (runtime/program.ts) and its memory keys
 * by slot; a `dag` its stages with the indices of their predecessors.
 */
export type Part =
  | { readonly kind: "pipe"; readonly ops: readonly Op[]; readonly keys: readonly string[] }
  | { readonly kind: "fork"; readonly branches: readonly Function[] }
  | { readonly kind: "merge"; readonly fn: Function }
  | { readonly kind: "to"; readonly ctor: Function }
  | { readonly kind: "flatten" }
  | { readonly kind: "identity" }
  | StagePart
  | { readonly kind: "dag"; readonly stages: readonly { readonly stage: StagePart; readonly preds: readonly number[] }[] };

/**
 * Gives `target` (a function or an object memopipe made) its part; returns it.
 *
 * @example
 * attachPart(forked, () => ({ kind: "fork", branches }));
 */
export function attachPart<T extends object>(target: T, part: () => Part): T {
  Object.defineProperty(target, PART, { value: part, configurable: true });
  return target;
}

/**
 * The part of `value`, or `undefined` for a function of your own (or anything else).
 *
 * @example
 * partOf(pipe<number>().step(f).build())?.kind; // "pipe"
 */
export function partOf(value: unknown): Part | undefined {
  if ((typeof value !== "function" && typeof value !== "object") || value === null) return undefined;
  const thunk = (value as { [PART]?: unknown })[PART];
  // called on `value`: a builder's part is a method (`[PART]() { … }`), a function's a thunk
  return typeof thunk === "function" ? (thunk as (this: unknown) => Part).call(value) : undefined;
}
