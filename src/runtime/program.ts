import { PipelineStepError } from "./errors.js";
import type { Shape } from "./fork.js";

/**
 * A pipeline as the runtime sees it: a flat list of operations over numbered memory slots.
 *
 * The builder resolves every memory key to a slot number while the pipeline is put together, so
 * running it never looks a key up by name (no shared table of names either: pypely's process-wide
 * key registry and its attribute-name collisions cannot happen here), and a slot is always written
 * before it is read (the builder refuses an ingest of a key not stored yet).
 */
export type Op = StepOp | StoreOp;

/** Calls `fn(...slots[before], current, ...slots[after])`; the result becomes the current value. */
export interface StepOp {
  readonly kind: "step";
  readonly fn: (...args: unknown[]) => unknown;
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** 1-based position among the pipeline's steps, for error messages. */
  readonly position: number;
  readonly name: string;
  /** Whether the step always returns a Promise (async-steps.ts). */
  readonly alwaysAsync: boolean;
  /**
   * What the step is, when it is one of the combinators: the code generator then writes it out
   * in place (compile.ts) instead of calling `fn`. `fn` has the same behaviour and is what the
   * interpreter calls.
   */
  readonly inline?: Inline;
}

/**
 * A combinator step the code generator writes out in place: `fork(...branches)` (the branch
 * results go into locals; the tuple is made only when a later step needs it), `merge(h)`
 * (`h(...tuple)`), `to(C)` (`new C(...tuple)`) and `flatten()` (with the shape of its input when
 * the build knows it: fork.ts).
 */
export type Inline =
  | { readonly kind: "fork"; readonly branches: readonly ((input: unknown) => unknown)[] }
  | { readonly kind: "merge"; readonly fn: (...args: unknown[]) => unknown }
  | { readonly kind: "to"; readonly ctor: new (...args: unknown[]) => unknown }
  | { readonly kind: "flatten"; readonly shape: Shape };

/** Keeps the current value in a slot. */
export interface StoreOp {
  readonly kind: "store";
  readonly slot: number;
}

export interface Program {
  readonly ops: readonly Op[];
  readonly slotCount: number;
  /** The shape of the result (fork.ts): a result with nested fork tuples is marked when it leaves. */
  readonly output: Shape;
}

/**
 * The program of a built pipeline, on the function other pipelines call (compile.ts): the code
 * generator writes a sub-pipeline's operations out in place instead of calling it (generate.ts).
 */
export const PROGRAM: unique symbol = Symbol("memopipe.program");

/** The program behind `fn` when it is a built pipeline, else `undefined`. */
export function programOf(fn: unknown): Program | undefined {
  return typeof fn === "function" ? (fn as { [PROGRAM]?: Program })[PROGRAM] : undefined;
}

/**
 * What a combinator made by the free functions (`fork(...)`, `merge(h)`, `to(C)`, `identity`:
 * dsl/combinators.ts) is, on the function a pipeline calls: the code generator writes it out in
 * place when it is a step or a fork branch, as it does for the builder's own methods.
 */
export const WRITTEN: unique symbol = Symbol("memopipe.written");

/** A free combinator, as the code generator writes it out. */
export type Written = Inline | { readonly kind: "identity" };

/** What `fn` is when it is one of the free combinators, else `undefined`. */
export function writtenOf(fn: unknown): Written | undefined {
  return typeof fn === "function" ? (fn as { [WRITTEN]?: Written })[WRITTEN] : undefined;
}

/** Whether a step returned something to await (a Promise or any other thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function call(op: StepOp, current: unknown, mem: unknown[]): unknown {
  if (op.before.length === 0 && op.after.length === 0) return op.fn(current);
  const args: unknown[] = [];
  for (const s of op.before) args.push(mem[s]);
  args.push(current);
  for (const s of op.after) args.push(mem[s]);
  return op.fn(...args);
}

/**
 * Runs `program` from operation `start` with current value `value`: synchronously until a step
 * returns a thenable, then asynchronously (`continueAsync`). So the result is a Promise exactly
 * when some step returned one, which is what the types declare.
 *
 * This interpreter is the reference semantics. `compile.ts` generates specialised code with the
 * same behaviour for speed and falls back to this where code generation is not allowed.
 */
export function runFrom(program: Program, start: number, value: unknown, mem: unknown[]): unknown {
  const { ops } = program;
  let current = value;
  for (let i = start; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === "store") {
      mem[op.slot] = current;
      continue;
    }
    let result: unknown;
    try {
      result = call(op, current, mem);
    } catch (error) {
      throw new PipelineStepError(op.position, op.name, error);
    }
    if (isThenable(result)) return continueAsync(program, i, result, mem);
    current = result;
  }
  return current;
}

/**
 * Awaits the thenable that operation `index` returned, then runs the remaining operations,
 * awaiting every step's result that is a thenable. A rejection is wrapped like a throw, naming
 * the step (`at` is the running step's index).
 */
export async function continueAsync(program: Program, index: number, pending: PromiseLike<unknown>, mem: unknown[]): Promise<unknown> {
  const { ops } = program;
  let at = index;
  try {
    let current = await pending;
    for (let i = index + 1; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.kind === "store") {
        mem[op.slot] = current;
        continue;
      }
      at = i;
      const result = call(op, current, mem);
      current = isThenable(result) ? await result : result;
    }
    return current;
  } catch (error) {
    const op = ops[at] as StepOp;
    throw new PipelineStepError(op.position, op.name, error);
  }
}
