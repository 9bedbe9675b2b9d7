import { PipelineStepError } from "./errors.js";
import { settleFork } from "./fork.js";
import { isAlwaysAsync } from "./async-steps.js";
import { programOf, writtenOf, type Program, type StepOp, type Written } from "./program.js";

/**
 * The code generator behind `compile()` (compile.ts explains why pipelines are generated and what
 * the code of a flat pipeline looks like). This file adds **sub-pipelines written out in place**.
 *
 * A built pipeline used as a step, or as a fork branch, is a function call to another generated
 * function: its own `try`, its own locals, its own exit. V8 inlines a small one, but not always
 * (its inlining budget is per caller, and a fork of three branches with one sub-pipeline ran at
 * 1.3–1.4× hand-written). So the generator writes the sub-pipeline's operations into the parent's
 * code, as a *block* over fresh locals (its memory slots `m<block>_<slot>` are the parent's locals,
 * one set per call, so concurrent runs still never share memory):
 *
 * ```js
 * b1: {                                    // .step(sub), sub = pipe().store("k").step(f).step(g).ingestAfter("k")
 *   s1: {
 *     m1_0 = v;
 *     i = 3; v = c2(v); if (T(v)) break s1;
 *     i = 4; v = c3(v, m1_0); if (T(v)) break s1;
 *     break b1;                            // the sub-pipeline finished synchronously
 *   }
 *   v = R1(i, v, m1_0); i = 2; break s;    // a step of it returned a thenable: its own continuation,
 * }                                        // then the parent's (as if the call had returned a Promise)
 * ```
 *
 * - `R1` is the sub-pipeline's asynchronous continuation, generated like the parent's `resume`.
 *   Its Promise is then what the parent's step returned: the parent's continuation awaits it.
 * - In a fork branch the block writes the branch's local (`r2_1`) instead of `v`, and a thenable
 *   becomes that branch's Promise: the other branches still start before anything is awaited.
 * - `i` names a *site*: one operation of one (possibly written-out) pipeline. A throw is wrapped
 *   once per level, innermost first, exactly as the nested calls would have wrapped it
 *   (`step 2 (pipeline) failed: PipelineStepError: step 1 (parse) failed: …`). Each continuation
 *   wraps with its own level only; the parent's wraps the rest when it awaits.
 * - A sub-pipeline that is always asynchronous (async-steps.ts) is not written out in a fork
 *   branch: its synchronous throw must become that branch's rejection while the other branches
 *   still run. As a step it is written out: its parent is always asynchronous too and rejects.
 * - Written out only up to a budget (operations per sub-pipeline, depth, total), beyond which it
 *   is called: the code size stays bounded whatever the user nests.
 */
export interface Generated {
  readonly source: string;
  readonly consts: readonly unknown[];
  /** Wraps `error` as thrown at `site`, once per level (synchronous path). */
  readonly wrapAll: (site: number, error: unknown) => unknown;
  /** Wraps `error` as thrown at `site`, at that site's own level only (continuations). */
  readonly wrapOne: (site: number, error: unknown) => unknown;
}

/** A step of one level, as its error names it. */
interface Frame {
  readonly position: number;
  readonly name: string;
}

/** Budget for written-out sub-pipelines (see above). */
const MAX_SUB_OPS = 48;
const MAX_DEPTH = 4;
const MAX_TOTAL_OPS = 400;

/** The thenable check, written out at every step (see the comment above `compile`). */
export const thenable = (x: string) =>
  `((typeof ${x} === "object" ? ${x} !== null : typeof ${x} === "function") && typeof ${x}.then === "function")`;

/** How many pipelines were generated: numbers each source (see the comment above `compile`). */
let generatedCount = 0;

/** Whether a program always returns a Promise (one of its steps always does). */
function alwaysAsyncProgram(program: Program): boolean {
  return program.ops.some((op) => op.kind === "step" && op.alwaysAsync);
}

/**
 * Generates the source of `program` (compile.ts runs it with `new Function`). `trusted`
 * (`.buildSync()`): no thenable check after the steps, so no exits and no continuations; only the
 * result is checked, once.
 */
export function generate(program: Program, trusted = false): Generated {
  const consts: unknown[] = [];
  const names = new Map<unknown, string>();
  const ref = (value: unknown) => {
    let name = names.get(value);
    if (name === undefined) names.set(value, (name = `c${consts.push(value) - 1}`));
    return name;
  };
  /** Per site, the frames of its levels, innermost first. */
  const sites: Frame[][] = [];
  const locals: string[] = [];
  const continuations: string[] = [];
  let blocks = 0;
  let total = program.ops.length;

  const inlinable = (fn: unknown, depth: number, inBranch: boolean): Program | undefined => {
    const sub = programOf(fn);
    if (sub === undefined || depth >= MAX_DEPTH || sub.ops.length > MAX_SUB_OPS || total + sub.ops.length > MAX_TOTAL_OPS) return undefined;
    if (inBranch && alwaysAsyncProgram(sub)) return undefined;
    total += sub.ops.length;
    return sub;
  };

  /**
   * Emits the synchronous code of `prog`: the current value in `cur` (its input on entry, its
   * result at the end), memory in `slots`. A thenable leaves through `exit` with `cur` holding it
   * and `i` a site of `prog`. Also generates `prog`'s continuation, named `resumeName`.
   */
  /** The thenable check after a step, with its exit; nothing in a trusted build. */
  const check = (x: string, exit: string) => (trusted ? "" : ` if (${thenable(x)}) ${exit}`);
  const emit = (prog: Program, cur: string, slots: readonly string[], exit: string, outer: readonly Frame[], depth: number, resumeName: string): string[] => {
    const sync: string[] = [];
    const resume: string[] = [];
    const ops = prog.ops;
    const newSite = (op: StepOp) => sites.push([{ position: op.position, name: op.name }, ...outer]) - 1;
    const resumeStep = (op: StepOp, site: number, args: string) =>
      resume.push(`i = ${site}; v = ${ref(op.fn)}(${args}); if (${thenable("v")}) v = await v;`, `case ${site}:`);
    /** A sub-pipeline written out as a block: its result in `target` (from `input`); a thenable runs `onThenable`. */
    const block = (sub: Program, site: number, frame: Frame, input: string, target: string, onThenable: (pending: string) => string) => {
      const n = ++blocks;
      const subSlots = Array.from({ length: sub.slotCount }, (_, s) => `m${n}_${s}`);
      locals.push(...subSlots);
      if (input !== target) sync.push(`${target} = ${input};`);
      const hasStep = !trusted && sub.ops.some((op) => op.kind === "step");
      const inner = emit(sub, target, subSlots, `break s${n};`, [frame, ...outer], depth + 1, `R${n}`);
      if (!hasStep) {
        sync.push(...inner);
        return;
      }
      const args = subSlots.map((s) => `, ${s}`).join("");
      sync.push(`b${n}: {`, `s${n}: {`, ...inner, `break b${n};`, `}`, `${target} = R${n}(i, ${target}${args}); i = ${site}; ${onThenable(target)}`, `}`);
    };
    /**
     * One fork branch: `fn` on `input`, its result in `target`. Written out when it is `identity`,
     * a sub-pipeline or a free `fork(...)` (a nested tuple: a Promise of it when one of its own
     * branches returned a thenable, as `runFork` does); a call otherwise. `i` is the fork's site
     * again afterwards. Always-async ones stay calls (see the comment at the top).
     */
    const branch = (fn: unknown, input: string, target: string, site: number, frame: Frame) => {
      const written = writtenOf(fn);
      if (written?.kind === "identity") {
        sync.push(`${target} = ${input};`);
        return;
      }
      if (written?.kind === "fork" && !isAlwaysAsync(fn)) {
        const n = ++blocks;
        const rs = written.branches.map((_, j) => `t${n}_${j}`);
        locals.push(...rs);
        written.branches.forEach((b, j) => branch(b, input, rs[j]!, site, frame));
        if (trusted) sync.push(`${target} = [${rs.join(", ")}];`);
        else sync.push(`if (${rs.map(thenable).join(" || ")}) ${target} = ${ref(settleFork)}([${rs.join(", ")}]); else ${target} = [${rs.join(", ")}];`);
        return;
      }
      const sub = inlinable(fn, depth, true);
      if (sub) {
        block(sub, site, frame, input, target, () => "");
        sync.push(`i = ${site};`);
        return;
      }
      sync.push(`${target} = ${ref(fn)}(${input});`);
    };
    /** The combinator a step is, when the generator writes it out: the builder's own, or a free one (without ingests). */
    const writtenStep = (op: StepOp): Written | undefined =>
      op.inline ?? (op.before.length === 0 && op.after.length === 0 ? writtenOf(op.fn) : undefined);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.kind === "store") {
        sync.push(`${slots[op.slot]} = ${cur};`);
        resume.push(`${slots[op.slot]} = v;`);
        continue;
      }
      const site = newSite(op);
      const frame = sites[site]![0]!;
      const argsOf = (x: string) => [...op.before.map((s) => slots[s]), x, ...op.after.map((s) => slots[s])].join(", ");
      resumeStep(op, site, argsOf("v"));
      const written = writtenStep(op);
      if (written?.kind !== "fork") {
        const sub = op.before.length === 0 && op.after.length === 0 ? inlinable(op.fn, depth, false) : undefined;
        if (sub) block(sub, site, frame, cur, cur, () => exit);
        else if (written?.kind === "identity") continue;
        else sync.push(`i = ${site}; ${cur} = ${ref(op.fn)}(${argsOf(cur)});${check(cur, exit)}`);
        continue;
      }
      // A fork: each branch's result in a local; the tuple is made only if the next step needs it.
      const rs = written.branches.map((_, j) => `r${site}_${j}`);
      locals.push(...rs);
      sync.push(`i = ${site};`);
      written.branches.forEach((b, j) => branch(b, cur, rs[j]!, site, frame));
      if (!trusted) sync.push(`if (${rs.map(thenable).join(" || ")}) { ${cur} = ${ref(settleFork)}([${rs.join(", ")}]); ${exit} }`);
      const next = ops[i + 1];
      const fused = next?.kind === "step" ? writtenStep(next) : undefined;
      if (fused?.kind === "merge" || fused?.kind === "to") {
        // merge(h) / to(C) right after the fork: the branch results are its arguments, no tuple.
        const nextSite = newSite(next as StepOp);
        const call = fused.kind === "merge" ? `${ref(fused.fn)}(${rs.join(", ")})` : `new ${ref(fused.ctor)}(${rs.join(", ")})`;
        sync.push(`i = ${nextSite}; ${cur} = ${call};${check(cur, exit)}`);
        resumeStep(next as StepOp, nextSite, "v");
        i++;
      } else {
        sync.push(`${cur} = [${rs.join(", ")}];`);
      }
    }
    // In a continuation, the ops before the first step can never run (it is entered after a step).
    const firstCase = resume.findIndex((line) => line.startsWith("case "));
    if (firstCase >= 0 && !trusted) {
      const params = slots.map((s) => `, ${s}`).join("");
      continuations.push(
        [`async function ${resumeName}(i, v${params}) {`, `try {`, `v = await v;`, `switch (i) {`, ...resume.slice(firstCase), `}`, `} catch (e) { throw w1(i, e); }`, `return v;`, `}`].join("\n"),
      );
    }
    return sync;
  };

  const rootSlots = Array.from({ length: program.slotCount }, (_, s) => `m${s}`);
  const sync = emit(program, "v", rootSlots, "break s;", [], 0, "resume");
  const slotParams = rootSlots.map((s) => `, ${s}`).join("");
  const source = [
    `"use strict"; // memopipe pipeline #${++generatedCount}`,
    consts.length > 0 ? `var ${consts.map((_, j) => `c${j} = consts[${j}]`).join(", ")};` : "",
    ...continuations,
    continuations.some((c) => c.startsWith("async function resume(")) ? "" : "function resume(i, v) { return v; }",
    `return function pipeline(input) {`,
    `var v = input, i = 0${slotParams}${locals.map((t) => `, ${t}`).join("")};`,
    `try {`,
    `s: {`,
    ...sync,
    trusted ? "" : `return v;`,
    `}`,
    `} catch (e) { throw w(i, e); }`,
    trusted ? `if (${thenable("v")}) throw u(v);` : "",
    trusted ? "return v;" : `return resume(i, v${slotParams});`,
    `};`,
  ].join("\n");
  const wrapAll = (site: number, error: unknown) => {
    let wrapped = error;
    for (const frame of sites[site] ?? []) wrapped = new PipelineStepError(frame.position, frame.name, wrapped);
    return wrapped;
  };
  const wrapOne = (site: number, error: unknown) => {
    const frame = sites[site]![0]!;
    return new PipelineStepError(frame.position, frame.name, error);
  };
  return { source, consts, wrapAll, wrapOne };
}
