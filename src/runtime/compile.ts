import { alwaysAsync } from "./async-steps.js";
import { PipelineStepError } from "./errors.js";
import { isThenable, runFrom, type Program, type StepOp } from "./program.js";

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
 * async function resume(i, v, m0) {          // the rest of the run, once a step returned a Promise
 *   try {
 *     v = await v;
 *     switch (i) {
 *       case 0: m0 = v; i = 2; v = f1(v, m0); if (t(v)) v = await v;
 *       case 2:
 *     }
 *   } catch (e) { throw w(i, e); }
 *   return v;
 * }
 * return function pipeline(input) {
 *   var v = input, i = 0, m0;
 *   try {
 *     s: {
 *       i = 0; v = f0(v); if (t(v)) break s;
 *       m0 = v;
 *       i = 2; v = f1(v, m0); if (t(v)) break s;
 *       return v;
 *     }
 *   } catch (e) { throw w(i, e); }
 *   return resume(i, v, m0);
 * };
 * ```
 *
 * - Memory slots are local variables: each call has its own, so concurrent runs never share memory.
 * - Step functions are closure constants that V8 can inline. Every step leaves through one shared
 *   exit (`break s`) when it returned a thenable, which keeps the function's bytecode small enough
 *   for V8 to inline the whole pipeline into its caller (an exit per step doubled its size and
 *   cost ~40% per call: see bench/runtime.ts).
 * - The async continuation is generated too: a fall-through `switch` enters it right after the
 *   step whose Promise it awaits, and it awaits only what is a thenable.
 * - `i` is the position of the running operation, so a throw or a rejection is wrapped once, as a
 *   `PipelineStepError` naming that step.
 *
 * The generated source contains only numbers and fixed identifiers, never user text (keys, names),
 * so nothing a user writes can change the code. Where `new Function` is forbidden (a
 * Content-Security-Policy without `unsafe-eval`), the interpreter (program.ts) runs instead, with
 * identical behaviour; the tests run every case on both.
 */
export function compile(program: Program, mode: CompileMode = "codegen"): (input: unknown) => unknown {
  const generated = mode === "codegen" ? tryGenerate(program) : undefined;
  const run = generated ?? ((input: unknown) => runFrom(program, 0, input, new Array(program.slotCount)));
  return program.ops.some((op) => op.kind === "step" && op.alwaysAsync) ? alwaysAsync(run) : run;
}

function tryGenerate(program: Program): ((input: unknown) => unknown) | undefined {
  const { ops, slotCount } = program;
  const slots = Array.from({ length: slotCount }, (_, s) => `m${s}`);
  const fns: StepOp["fn"][] = [];
  const sync: string[] = [];
  const resume: string[] = [];
  ops.forEach((op, i) => {
    if (op.kind === "store") {
      sync.push(`m${op.slot} = v;`);
      resume.push(`m${op.slot} = v;`);
      return;
    }
    const f = `f${fns.length}`;
    fns.push(op.fn);
    const args = [...op.before.map((s) => `m${s}`), "v", ...op.after.map((s) => `m${s}`)].join(", ");
    sync.push(`i = ${i}; v = ${f}(${args}); if (t(v)) break s;`);
    resume.push(`i = ${i}; v = ${f}(${args}); if (t(v)) v = await v;`, `case ${i}:`);
  });
  // In `resume`, the ops before the first step can never run (it is entered after a step).
  const firstCase = resume.findIndex((line) => line.startsWith("case "));
  const slotParams = slots.map((s) => `, ${s}`).join("");
  const source = [
    `"use strict";`,
    fns.length > 0 ? `var ${fns.map((_, j) => `f${j} = fns[${j}]`).join(", ")};` : "",
    `async function resume(i, v${slotParams}) {`,
    `try {`,
    `v = await v;`,
    `switch (i) {`,
    ...(firstCase < 0 ? [] : resume.slice(firstCase)),
    `}`,
    `} catch (e) { throw w(i, e); }`,
    `return v;`,
    `}`,
    `return function pipeline(input) {`,
    `var v = input, i = 0${slotParams};`,
    `try {`,
    `s: {`,
    ...sync,
    `return v;`,
    `}`,
    `} catch (e) { throw w(i, e); }`,
    `return resume(i, v${slotParams});`,
    `};`,
  ].join("\n");
  const wrap = (index: number, error: unknown) => {
    const op = ops[index] as StepOp;
    return new PipelineStepError(op.position, op.name, error);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the comment above compile()
    const factory = new Function("fns", "t", "w", source) as (
      f: typeof fns,
      t: typeof isThenable,
      w: typeof wrap,
    ) => (input: unknown) => unknown;
    return factory(fns, isThenable, wrap);
  } catch {
    return undefined;
  }
}
