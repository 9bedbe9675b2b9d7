import type { EmptyMemory } from "../types/memory.js";
import type { InferInput, NoStep } from "../types/builder-state.js";
import type { Pipe } from "../types/builder.js";
import { ALLOW_INGEST } from "../runtime/allow-ingest.js";
import { compile, type CompileMode } from "../runtime/compile.js";
import {
  DuplicateMemoryKeyError,
  IngestNotAllowedError,
  PipelineDefinitionError,
  UnknownMemoryKeyError,
} from "../runtime/errors.js";
import { flatShape, flattenTuple, requireTuple, runFork, shapeOf, unmarked, type Shape } from "../runtime/fork.js";
import { isAlwaysAsync } from "../runtime/async-steps.js";
import type { Op, StepOp } from "../runtime/program.js";
import { attachPart, PART, type Part } from "../runtime/graph/parts.js";
import { describeFunction, unwrapMemorizable } from "./memorizable.js";

type AnyFn = (...args: unknown[]) => unknown;

/**
 * The run-time builder behind the `Pipe` types. Immutable: every method returns a new builder, so
 * a partial chain can be reused (`const base = pipe<number>().step(f); base.step(g); base.step(h)`).
 *
 * It repeats, at run time, every check the types make that plain JavaScript could skip (unknown
 * key, duplicate key, ingest without a step or into a step that may not ingest), so a mistake the
 * types did not see is an exported error naming the key, thrown while the pipeline is put
 * together, never a silent `undefined` when it runs.
 */
class PipeImpl {
  constructor(
    private readonly ops: readonly Op[],
    /** Memory key → slot number, in store order. */
    private readonly keys: ReadonlyMap<string, number>,
    /** Whether the last operation is a step that `.ingestBefore/.ingestAfter` may modify. */
    private readonly lastStep: { readonly allow: true | string } | undefined,
    private readonly steps: number,
    /** The shape of the current value (runtime/fork.ts): which parts are fork tuples, for flatten. */
    private readonly shape: Shape,
  ) {}

  private add(op: Omit<StepOp, "position" | "before" | "after" | "kind">, allow: true | string, shape: Shape): PipeImpl {
    const step: StepOp = { kind: "step", before: [], after: [], position: this.steps + 1, ...op };
    return new PipeImpl([...this.ops, step], this.keys, { allow }, this.steps + 1, shape);
  }

  step(f: unknown): PipeImpl {
    if (typeof f !== "function") {
      throw new PipelineDefinitionError(`step ${this.steps + 1} must be a function, got ${describeValue(f)}`);
    }
    const allow = (f as { [ALLOW_INGEST]?: boolean })[ALLOW_INGEST] === false ? "this step was marked memorizable(f, { allowIngest: false })" : true;
    const fn = unwrapMemorizable(f as AnyFn);
    return this.add({ fn: unmarked(fn), name: describeFunction(f as AnyFn), alwaysAsync: isAlwaysAsync(fn) }, allow, shapeOf(fn, this.shape));
  }

  store(key: unknown): PipeImpl {
    if (typeof key !== "string") throw new PipelineDefinitionError(`a memory key must be a string, got ${describeValue(key)}`);
    if (this.keys.has(key)) throw new DuplicateMemoryKeyError(key);
    const keys = new Map(this.keys).set(key, this.keys.size);
    return new PipeImpl([...this.ops, { kind: "store", slot: this.keys.size }], keys, undefined, this.steps, this.shape);
  }

  ingestBefore(key: unknown): PipeImpl {
    return this.ingest(key, "before");
  }

  ingestAfter(key: unknown): PipeImpl {
    return this.ingest(key, "after");
  }

  private ingest(key: unknown, side: "before" | "after"): PipeImpl {
    const method = side === "before" ? "ingestBefore" : "ingestAfter";
    if (typeof key !== "string") throw new PipelineDefinitionError(`${method}: a memory key must be a string, got ${describeValue(key)}`);
    const last = this.ops.at(-1);
    if (!this.lastStep || last?.kind !== "step") {
      throw new PipelineDefinitionError(`${method}('${key}') must directly follow the .step(f) it feeds; a .store(...) or the start of the pipeline cannot ingest`);
    }
    if (this.lastStep.allow !== true) throw new IngestNotAllowedError(key, this.lastStep.allow);
    const slot = this.keys.get(key);
    if (slot === undefined) throw new UnknownMemoryKeyError(key, [...this.keys.keys()]);
    const op: StepOp =
      side === "before" ? { ...last, before: [...last.before, slot] } : { ...last, after: [...last.after, slot] };
    return new PipeImpl([...this.ops.slice(0, -1), op], this.keys, this.lastStep, this.steps, this.shape);
  }

  fork(...branches: unknown[]): PipeImpl {
    if (branches.length === 0) throw new PipelineDefinitionError("fork(...) needs at least one branch");
    branches.forEach((b, i) => {
      if (typeof b !== "function") throw new PipelineDefinitionError(`fork branch ${i + 1} must be a function, got ${describeValue(b)}`);
    });
    const originals = (branches as AnyFn[]).map(unwrapMemorizable);
    const fns = originals.map(unmarked);
    const fork = (input: unknown) => runFork(fns, input);
    const name = `fork(${(branches as AnyFn[]).map(describeFunction).join(", ")})`;
    const shape = originals.map((b) => shapeOf(b, this.shape));
    return this.add({ fn: fork, name, alwaysAsync: originals.some(isAlwaysAsync), inline: { kind: "fork", branches: fns } }, "fork(...) only combines its branches", shape);
  }

  merge(h: unknown): PipeImpl {
    if (typeof h !== "function") throw new PipelineDefinitionError(`merge(h) needs a function, got ${describeValue(h)}`);
    const fn = unwrapMemorizable(h as AnyFn);
    const merge = (tuple: unknown) => fn(...requireTuple(tuple, "merge(h)"));
    const name = `merge(${describeFunction(h as AnyFn)})`;
    return this.add({ fn: merge, name, alwaysAsync: isAlwaysAsync(fn), inline: { kind: "merge", fn } }, "merge(h) only spreads the tuple", null);
  }

  to(ctor: unknown): PipeImpl {
    if (typeof ctor !== "function") throw new PipelineDefinitionError(`to(Ctor) needs a class, got ${describeValue(ctor)}`);
    const C = ctor as new (...args: unknown[]) => unknown;
    const to = (tuple: unknown) => new C(...requireTuple(tuple, "to(Ctor)"));
    return this.add({ fn: to, name: `to(${C.name || "anonymous class"})`, alwaysAsync: false, inline: { kind: "to", ctor: C } }, "to(Ctor) only spreads the tuple", null);
  }

  flatten(): PipeImpl {
    // The shape of the tuple is known here when forks made it (runtime/fork.ts).
    const shape = this.shape;
    const flatten = (tuple: unknown) => flattenTuple(tuple, shape);
    return this.add({ fn: flatten, name: "flatten()", alwaysAsync: false, inline: { kind: "flatten", shape } }, "flatten() only reshapes the tuple", flatShape(shape));
  }

  build(mode?: CompileMode, trusted = false): (input: unknown) => unknown {
    const built = compile({ ops: this.ops, slotCount: this.keys.size, output: this.shape }, mode, trusted);
    // what `describe()` draws (runtime/graph): on the function, and on the variant other pipelines call
    const part = () => this[PART]();
    attachPart(built, part);
    if (unmarked(built) !== built) attachPart(unmarked(built), part);
    return built;
  }

  /**
   * `.build()` without a thenable check after each step (the types proved every step synchronous:
   * types/builder.ts). What plain JavaScript could still get wrong is refused here: a step that
   * always returns a Promise (an `async function`, or a fork branch or sub-pipeline with one).
   */
  buildSync(mode?: CompileMode): (input: unknown) => unknown {
    const async = this.ops.find((op): op is StepOp => op.kind === "step" && op.alwaysAsync);
    if (async) {
      throw new PipelineDefinitionError(`buildSync(): step ${async.position} (${async.name}) always returns a Promise; use .build()`);
    }
    return this.build(mode, true);
  }

  /** The pipeline as `describe()` sees it: its operations and its memory keys by slot. */
  [PART](): Part {
    return { kind: "pipe", ops: this.ops, keys: [...this.keys.keys()] };
  }

  run(input: unknown): unknown {
    return this.build()(input);
  }
}


function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/**
 * Starts a typed pipeline.
 *
 * `pipe<In>()` takes an input of type `In`; `pipe()` without a type argument takes the type of
 * its first step's parameter. Chain `.step(f)`, `.store(key)`, `.ingestBefore(key)` /
 * `.ingestAfter(key)`, `.fork(...)`, `.merge(h)`, `.to(Ctor)`, `.flatten()`, then `.build()` for a
 * plain function or `.run(input)` to run once.
 *
 * @example
 * const run = pipe<number>()
 *   .step((x) => x * 2)
 *   .store("doubled")
 *   .step((x) => String(x))
 *   .step((s: string, d: number) => s + d).ingestAfter("doubled")
 *   .build(); // (input: number) => string
 * run(21); // "4242"
 */
export function pipe<In = InferInput>(): Pipe<In, In, EmptyMemory, "", "sync", NoStep, never> {
  return new PipeImpl([], new Map(), undefined, 0, null) as never;
}
