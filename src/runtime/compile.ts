import { ASYNC_PIPELINE, alwaysAsync, isAlwaysAsync } from "./async-steps.js";
import { PipelineStepError } from "./errors.js";
import { defineShape, isNested, markResult, settleFork } from "./fork.js";
import { runFrom, type Program, type StepOp } from "./program.js";

/** How a built pipeline runs: generated code (the default) or the interpreter (program.ts). */
export type CompileMode = "codegen" | "interpret";

/**
 * Turns a program into the function `.build()` returns.
 *
 * Why generate code: a pipeline of cheap steps is dominated by the cost of *running the pipeline*,
 * not the steps. The interpreter loops over operations, branches on their kind and builds argument
 * arrays; the generated function is what a person would write by hand. For
 * `pipe<number>().step(f).store("k").step(g).ingestAfter("k").fork(a, b).merge(h)`:
 *
 * ```js
 * "use strict"; // memopipe pipeline #7
 * var c0 = consts[0], c1 = consts[1], …;
 * async function resume(i, v, m0) {          // the rest of the run, once a step returned a Promise
 *   try {
 *     v = await v;
 *     switch (i) {
 *       case 0: m0 = v; i = 2; v = c1(v, m0); if (T(v)) v = await v;
 *       case 2: i = 3; v = c2(v); if (T(v)) v = await v;     // the fork, as a function
 *       case 3: …
 *     }
 *   } catch (e) { throw w(i, e); }
 *   return v;
 * }
 * return function pipeline(input) {
 *   var v = input, i = 0, m0, r3_0, r3_1;
 *   try {
 *     s: {
 *       i = 0; v = c0(v); if (T(v)) break s;
 *       m0 = v;
 *       i = 2; v = c1(v, m0); if (T(v)) break s;
 *       i = 3; r3_0 = c3(v); r3_1 = c4(v);                     // fork(a, b): one local per branch
 *       if (T(r3_0) || T(r3_1)) { v = c5([r3_0, r3_1]); break s; }
 *       i = 4; v = c6(r3_0, r3_1); if (T(v)) break s;          // merge(h): h(a, b), no tuple at all
 *       return v;
 *     }
 *   } catch (e) { throw w(i, e); }
 *   return resume(i, v, m0);
 * };
 * ```
 *
 * (`T(x)` stands for the thenable check, which is written out in full at every step.)
 *
 * - Memory slots are local variables: each call has its own, so concurrent runs never share memory.
 * - Step functions are closure constants that V8 can inline. Every step leaves through one shared
 *   exit (`break s`) when it returned a thenable, which keeps the function's bytecode small enough
 *   for V8 to inline the whole pipeline into its caller (an exit per step doubled its size and
 *   cost ~40% per call: see bench/runtime.ts).
 * - The thenable check is written out at every step rather than called as one shared function:
 *   V8 keeps type feedback per code location, so a shared check sees the results of every step of
 *   every pipeline, goes megamorphic, and its `.then` lookup on an object costs a hash-table probe
 *   each time (30 steps on object values ran at 1.9× hand-written; written out, each check sees
 *   one kind of value and costs about nothing).
 * - Forks are written out: each branch's result goes into a local; a `merge(h)` or `to(C)` right
 *   after the fork is called with those locals (no tuple at all), and otherwise the tuple is a
 *   plain array literal (fork.ts says how `flatten` still knows fork tuples from other arrays).
 * - The async continuation is generated too: a fall-through `switch` enters it right after the
 *   step whose Promise it awaits, and it awaits only what is a thenable.
 * - `i` is the position of the running operation, so a throw or a rejection is wrapped once, as a
 *   `PipelineStepError` naming that step.
 * - Each source carries its own number (`// memopipe pipeline #7`): V8 caches the compiled code
 *   of `new Function` by source text *with its type feedback*, so two pipelines of the same shape
 *   would otherwise share one feedback vector and make each other's call sites megamorphic (the
 *   benchmark's batch loops ran 2.5× slower that way).
 *
 * The generated source contains only numbers and fixed identifiers, never user text (keys, names),
 * so nothing a user writes can change the code. Where `new Function` is forbidden (a
 * Content-Security-Policy without `unsafe-eval`), the interpreter (program.ts) runs instead, with
 * identical behaviour; the tests run every case on both.
 */
export function compile(program: Program, mode: CompileMode = "codegen"): (input: unknown) => unknown {
  const generated = mode === "codegen" ? tryGenerate(program) : undefined;
  const interpreted = (input: unknown) => runFrom(program, 0, input, new Array(program.slotCount));
  const run = generated ?? interpreted;
  const inner = program.ops.some((op) => op.kind === "step" && op.alwaysAsync) ? alwaysAsync(run) : run;
  const output = program.output;
  // The built pipeline tells other pipelines its result's shape (fork.ts). A result with nested
  // fork tuples carries its shape when it leaves memopipe (for the free `flatten`); inside another
  // pipeline, which knows the shape, the unmarked variant runs.
  if (!isNested(output)) return defineShape(inner, () => output);
  const marked = (input: unknown) => markResult(inner(input), output);
  if (isAlwaysAsync(inner)) Object.defineProperty(marked, ASYNC_PIPELINE, { value: true });
  return defineShape(marked, () => output, inner);
}

/** How many pipelines were generated: numbers each source (see the comment above `compile`). */
let generated = 0;

/** The thenable check, written out at every step (see the comment above `compile`). */
const thenable = (x: string) => `((typeof ${x} === "object" ? ${x} !== null : typeof ${x} === "function") && typeof ${x}.then === "function")`;

function tryGenerate(program: Program): ((input: unknown) => unknown) | undefined {
  const { ops, slotCount } = program;
  const slots = Array.from({ length: slotCount }, (_, s) => `m${s}`);
  // Every function the generated code calls is a closure constant c0, c1, … (never user text).
  const consts: unknown[] = [];
  const names = new Map<unknown, string>();
  const ref = (value: unknown) => {
    let name = names.get(value);
    if (name === undefined) names.set(value, (name = `c${consts.push(value) - 1}`));
    return name;
  };
  const temps: string[] = [];
  const sync: string[] = [];
  const resume: string[] = [];
  /** The async continuation calls every step as a function (it is not the hot path). */
  const resumeStep = (op: StepOp, i: number, args = "v") => {
    resume.push(`i = ${i}; v = ${ref(op.fn)}(${args}); if (${thenable("v")}) v = await v;`, `case ${i}:`);
  };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === "store") {
      sync.push(`m${op.slot} = v;`);
      resume.push(`m${op.slot} = v;`);
      continue;
    }
    const args = [...op.before.map((s) => `m${s}`), "v", ...op.after.map((s) => `m${s}`)].join(", ");
    resumeStep(op, i, args);
    const inline = op.inline;
    if (inline?.kind !== "fork") {
      sync.push(`i = ${i}; v = ${ref(op.fn)}(${args}); if (${thenable("v")}) break s;`);
      continue;
    }
    // A fork: each branch's result in a local; the tuple is made only if the next step needs it.
    const rs = inline.branches.map((_, j) => `r${i}_${j}`);
    temps.push(...rs);
    sync.push(`i = ${i}; ${inline.branches.map((branch, j) => `${rs[j]} = ${ref(branch)}(v);`).join(" ")}`);
    sync.push(`if (${rs.map(thenable).join(" || ")}) { v = ${ref(settleFork)}([${rs.join(", ")}]); break s; }`);
    const next = ops[i + 1];
    const fused = next?.kind === "step" ? next.inline : undefined;
    if (fused?.kind === "merge" || fused?.kind === "to") {
      // merge(h) / to(C) right after the fork: the branch results are its arguments, no tuple.
      const call = fused.kind === "merge" ? `${ref(fused.fn)}(${rs.join(", ")})` : `new ${ref(fused.ctor)}(${rs.join(", ")})`;
      sync.push(`i = ${i + 1}; v = ${call}; if (${thenable("v")}) break s;`);
    } else {
      sync.push(`v = [${rs.join(", ")}];`);
      continue;
    }
    resumeStep(next as StepOp, i + 1);
    i++;
  }
  // In `resume`, the ops before the first step can never run (it is entered after a step).
  const firstCase = resume.findIndex((line) => line.startsWith("case "));
  const slotParams = slots.map((s) => `, ${s}`).join("");
  const source = [
    `"use strict"; // memopipe pipeline #${++generated}`,
    consts.length > 0 ? `var ${consts.map((_, j) => `c${j} = consts[${j}]`).join(", ")};` : "",
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
    `var v = input, i = 0${slotParams}${temps.map((t) => `, ${t}`).join("")};`,
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
    const factory = new Function("consts", "w", source) as (c: typeof consts, w: typeof wrap) => (input: unknown) => unknown;
    return factory(consts, wrap);
  } catch {
    return undefined;
  }
}
