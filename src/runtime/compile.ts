import { PipelineStepError } from "./errors.js";
import { continueAsync, isThenable, runFrom, type Program, type StepOp } from "./program.js";

/** How a built pipeline runs: generated code (the default) or the interpreter (program.ts). */
export type CompileMode = "codegen" | "interpret";

/**
 * Turns a program into the function `.build()` returns.
 *
 * Why generate code: a pipeline of cheap steps is dominated by the cost of *running the pipeline*,
 * not the steps. The interpreter loops over operations, branches on their kind and builds argument
 * arrays; the generated function is what a person would write by hand:
 *
 * ```js
 * var f0 = fns[0], f1 = fns[1];
 * return function pipeline(input) {
 *   var v = input, i = 0, m0;
 *   try {
 *     i = 0; v = f0(v); if (thenable) return k(0, v, [m0]);
 *     m0 = v;
 *     i = 2; v = f1(v, m0); if (thenable) return k(2, v, [m0]);
 *   } catch (e) { throw w(i, e); }
 *   return v;
 * };
 * ```
 *
 * Memory slots are local variables (each call has its own: concurrent runs never share memory),
 * step functions are closure constants V8 can inline, and the first thenable hands over to the
 * interpreter's async path (`continueAsync`) with the slots packed into an array. The generated
 * source contains only numbers and fixed identifiers, never user text (keys, names), so nothing a
 * user writes can change the code. Where `new Function` is forbidden (a Content-Security-Policy
 * without `unsafe-eval`), the interpreter runs instead, with identical behaviour.
 */
export function compile(program: Program, mode: CompileMode = "codegen"): (input: unknown) => unknown {
  if (mode === "codegen") {
    const generated = tryGenerate(program);
    if (generated) return generated;
  }
  const pipeline = (input: unknown) => runFrom(program, 0, input, new Array(program.slotCount));
  return pipeline;
}

function tryGenerate(program: Program): ((input: unknown) => unknown) | undefined {
  const { ops, slotCount } = program;
  const slots = Array.from({ length: slotCount }, (_, s) => `m${s}`);
  const packed = `[${slots.join(", ")}]`;
  const fns: StepOp["fn"][] = [];
  const body: string[] = [];
  ops.forEach((op, i) => {
    if (op.kind === "store") {
      body.push(`m${op.slot} = v;`);
      return;
    }
    const f = `f${fns.length}`;
    fns.push(op.fn);
    const args = [...op.before.map((s) => `m${s}`), "v", ...op.after.map((s) => `m${s}`)].join(", ");
    body.push(
      `i = ${i}; v = ${f}(${args});`,
      `if (v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function") return k(${i}, v, ${packed});`,
    );
  });
  const source = [
    `"use strict";`,
    fns.length > 0 ? `var ${fns.map((_, j) => `f${j} = fns[${j}]`).join(", ")};` : "",
    `return function pipeline(input) {`,
    `var v = input, i = 0${slots.map((s) => `, ${s}`).join("")};`,
    `try {`,
    ...body,
    `} catch (e) { throw w(i, e); }`,
    `return v;`,
    `};`,
  ].join("\n");
  const resume = (index: number, pending: PromiseLike<unknown>, mem: unknown[]) => continueAsync(program, index, pending, mem);
  const wrap = (index: number, error: unknown) => {
    const op = ops[index] as StepOp;
    return new PipelineStepError(op.position, op.name, error);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the comment above compile()
    const factory = new Function("fns", "k", "w", source) as (
      f: typeof fns,
      k: typeof resume,
      w: typeof wrap,
    ) => (input: unknown) => unknown;
    return factory(fns, resume, wrap);
  } catch {
    return undefined;
  }
}

export { isThenable };
