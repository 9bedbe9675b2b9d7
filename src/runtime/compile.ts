import { ASYNC_PIPELINE, alwaysAsync, isAlwaysAsync } from "./async-steps.js";
import { defineShape, isNested, markResult } from "./fork.js";
import { generate } from "./generate.js";
import { PROGRAM, interpret, unexpectedPromise, type Program } from "./program.js";

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
 * - A built pipeline used as a step or a fork branch is written out in place too, as a block over
 *   its own locals, with its own continuation (generate.ts, which writes all of this source).
 * - The async continuation is generated too: a fall-through `switch` enters it right after the
 *   step whose Promise it awaits, and it awaits only what is a thenable.
 * - `i` is the site of the running operation, so a throw or a rejection is wrapped once per level, as a
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
export function compile(program: Program, mode: CompileMode = "codegen", trusted = false): (input: unknown) => unknown {
  const generated = mode === "codegen" ? tryGenerate(program, trusted) : undefined;
  const interpreted = interpret(program, trusted);
  const run = generated ?? interpreted;
  const inner = program.ops.some((op) => op.kind === "step" && op.alwaysAsync) ? alwaysAsync(run) : run;
  // What other pipelines call: they may write its operations out in place instead (generate.ts).
  Object.defineProperty(inner, PROGRAM, { value: program });
  const output = program.output;
  // The built pipeline tells other pipelines its result's shape (fork.ts). A result with nested
  // fork tuples carries its shape when it leaves memopipe (for the free `flatten`); inside another
  // pipeline, which knows the shape, the unmarked variant runs.
  if (!isNested(output)) return defineShape(inner, () => output);
  const marked = (input: unknown) => markResult(inner(input), output);
  if (isAlwaysAsync(inner)) Object.defineProperty(marked, ASYNC_PIPELINE, { value: true });
  return defineShape(marked, () => output, inner);
}

function tryGenerate(program: Program, trusted: boolean): ((input: unknown) => unknown) | undefined {
  const { source, consts, wrapAll, wrapOne } = generate(program, trusted);
  const unexpected = (value: unknown) => unexpectedPromise(program, value);
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the comment above compile()
    const factory = new Function("consts", "w", "w1", "u", source) as (
      c: typeof consts,
      w: typeof wrapAll,
      w1: typeof wrapOne,
      u: typeof unexpected,
    ) => (input: unknown) => unknown;
    return factory(consts, wrapAll, wrapOne, unexpected);
  } catch {
    return undefined;
  }
}
