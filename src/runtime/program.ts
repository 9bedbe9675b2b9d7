import { MemopipeError, PipelineStepError } from "./errors.js";
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
 * The interpreter: `program` as a function, without generating code (where `new Function` is
 * forbidden; compile.ts). The reference semantics, which the generated code must match.
 *
 * Kept cheap without code generation: the operations are flattened once into parallel arrays (the
 * function, the slot a store writes, how the step takes its memory), one `try` covers the run (the
 * index says which step threw), and the common argument shapes (`f(v)`, `f(v, m)`, `f(m, v)`) are
 * direct calls, not an argument array spread into the function (a 10-step pipeline ran in ~220 ns
 * with a `try`, an argument array and `op.*` lookups per step, ~60 ns this way; the generated code
 * takes ~4 ns: bench/runtime.ts).
 */
export function interpret(program: Program, trusted = false): (input: unknown) => unknown {
  const { ops, slotCount } = program;
  const n = ops.length;
  const fns: ((...args: unknown[]) => unknown)[] = new Array(n);
  /** The slot a store writes, -1 for a step. */
  const slot = new Int32Array(n).fill(-1);
  /** 0: f(v); 1: f(v, m); 2: f(m, v); 3: any other ingests (an argument array). */
  const shape = new Int8Array(n);
  /** The one slot of shapes 1 and 2. */
  const one = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (op.kind === "store") {
      slot[i] = op.slot;
      continue;
    }
    fns[i] = op.fn;
    const b = op.before.length;
    const a = op.after.length;
    if (b === 0 && a === 0) {
      shape[i] = 0;
    } else if (b === 0 && a === 1) {
      shape[i] = 1;
      one[i] = op.after[0]!;
    } else if (b === 1 && a === 0) {
      shape[i] = 2;
      one[i] = op.before[0]!;
    } else {
      shape[i] = 3;
    }
  }
  return function interpreted(input: unknown): unknown {
    const mem: unknown[] = new Array(slotCount);
    let v = input;
    let i = 0;
    try {
      for (; i < n; i++) {
        const s = slot[i]!;
        if (s >= 0) {
          mem[s] = v;
          continue;
        }
        const f = fns[i]!;
        switch (shape[i]) {
          case 0:
            v = f(v);
            break;
          case 1:
            v = f(v, mem[one[i]!]);
            break;
          case 2:
            v = f(mem[one[i]!], v);
            break;
          default:
            v = call(ops[i] as StepOp, v, mem);
        }
        if (!trusted && isThenable(v)) return continueAsync(program, i, v, mem);
      }
    } catch (error) {
      const op = ops[i] as StepOp;
      throw new PipelineStepError(op.position, op.name, error);
    }
    if (trusted && isThenable(v)) throw unexpectedPromise(program, v);
    return v;
  };
}

/**
 * The error of a `.buildSync()` pipeline whose result is a thenable (a step's type said it was
 * not): it names the last step. The thenable gets a handler, so that its rejection, which nobody
 * can await any more, is not also an unhandled rejection that stops the process.
 */
export function unexpectedPromise(program: Program, value: unknown): PipelineStepError {
  (value as PromiseLike<unknown>).then(undefined, () => {});
  const steps = program.ops.filter((op): op is StepOp => op.kind === "step");
  const last = steps[steps.length - 1];
  return new PipelineStepError(
    last?.position ?? 0,
    last?.name ?? "input",
    new MemopipeError("returned a Promise in a pipeline built with .buildSync(), which trusts the types to say no step does: use .build()"),
  );
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
