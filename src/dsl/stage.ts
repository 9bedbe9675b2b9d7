import type { Stage, StageInput, StageOptionsArg, StageOutput, StageResultCheck } from "../types/stage.js";
import { FileRef, type CacheStore } from "../runtime/cache/types.js";
import { MemopipeError } from "../runtime/errors.js";
import { runCached, type CacheSettings, type RunPlace } from "../runtime/stage-cache.js";
import { normalizeSource } from "../runtime/source-normalize.js";
import { attachPart, type StagePart } from "../runtime/graph/parts.js";
import { noteSite } from "./stage-site.js";

/**
 * A stage returned something other than its named outputs (plain JavaScript callers; the types
 * refuse it at compile time).
 *
 * @example
 * await stage("s", (() => 42) as any).run({}); // throws StageOutputError
 */
export class StageOutputError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_STAGE_OUTPUT";
}

/**
 * A stage's `cache` option: `true` (the directory `.memopipe` under the working directory), or
 * where and how: `dir`, `durable: true` (fsync every entry: it survives a power loss, at ~0.5 ms
 * per entry), or another `store` (a `CacheStore`, e.g. a shared one; events and the file-digest
 * cache stay in `dir`).
 *
 * @example
 * stage("train", fn, { cache: { dir: "/data/cache", durable: true } });
 */
export type CacheOption = boolean | { readonly dir?: string; readonly durable?: boolean; readonly store?: CacheStore };

function cacheSettings(option: CacheOption, hashStringPaths: boolean): CacheSettings {
  const o = typeof option === "object" ? option : {};
  return { dir: o.dir || ".memopipe", hashStringPaths, ...(o.durable ? { durable: true } : {}), ...(o.store ? { store: o.store } : {}) };
}

/** What the runtime knows of a stage. */
export interface StageSpec {
  readonly name: string;
  readonly fn: (inputs: Record<string, unknown>) => unknown;
  readonly fixed: Readonly<Record<string, unknown>>;
  readonly outputs: readonly string[] | undefined;
  readonly cache: CacheSettings | undefined;
  /** The input names the function destructures, when its source shows them (see `inputNames`). */
  readonly inputNames: readonly string[] | undefined;
}

// A registered symbol: `memopipe worker` (dist/cli.js, its own bundle) must recognise a stage made
// by the user's module through dist/index.js, another copy of this file.
const SPEC: unique symbol = Symbol.for("memopipe.stage") as never;

/** The runtime description of a stage made by `stage()`. */
export function specOf(s: unknown): StageSpec {
  const spec = (s as { [SPEC]?: StageSpec } | undefined)?.[SPEC];
  if (!spec) throw new MemopipeError(`expected a stage made by stage(name, fn), got ${typeof s}`);
  return spec;
}

/**
 * Makes a stage: a named function of named inputs, optionally memoized on disk.
 *
 * - `fn` takes one object of named inputs and returns an object of named outputs (or a tuple
 *   named by `outputs: [...] as const`).
 * - `fixed` binds inputs now: they leave the stage's input type and every run uses them.
 * - `cache: true` (or `{ dir }`) memoizes: a run with the same inputs, the same file contents and
 *   the same code returns the recorded outputs; the reason of every re-run is recorded
 *   (`memopipe why`).
 *
 * @example
 * const register = stage(
 *   "register",
 *   ({ img, ref }: { img: FileRef; ref: string }) => ({ affine: [1, 0, 0, 1], out: `${img.path}.${ref}` }),
 *   { cache: true, fixed: { ref: "mni152" } },
 * );
 * const { affine, out } = await register.run({ img: file("sub-01.nii") });
 */
export function stage<
  const Name extends string,
  In extends object,
  R,
  const Fixed extends object = {},
  const Names extends readonly string[] | undefined = undefined,
  const Cache extends CacheOption | undefined = undefined,
>(
  name: Name,
  fn: ((inputs: In) => R) & StageResultCheck<Awaited<R>, Names>,
  options?: StageOptionsArg<Name, In, StageOutput<Awaited<R>, Names>, Cache, Fixed, Names>,
): Stage<Name, StageInput<In, Fixed>, StageOutput<Awaited<R>, Names>> {
  if (typeof name !== "string" || name.length === 0) throw new MemopipeError("stage(name, fn): the name must be a non-empty string");
  if (typeof fn !== "function") throw new MemopipeError(`stage '${name}': fn must be a function, got ${typeof fn}`);
  const opts = (options ?? {}) as {
    cache?: CacheOption;
    fixed?: Record<string, unknown>;
    outputs?: readonly string[];
    hashStringPaths?: boolean;
  };
  if (opts.outputs && new Set(opts.outputs).size !== opts.outputs.length) {
    throw new MemopipeError(`stage '${name}': outputs names an output twice (${opts.outputs.join(", ")}): each name must be different`);
  }
  const spec: StageSpec = {
    name,
    fn: fn as unknown as StageSpec["fn"],
    fixed: Object.freeze({ ...(opts.fixed ?? {}) }),
    outputs: opts.outputs ? [...opts.outputs] : undefined,
    cache: opts.cache ? cacheSettings(opts.cache, opts.hashStringPaths ?? true) : undefined,
    inputNames: inputNames(fn),
  };
  const run = (inputs: unknown) => runStage(spec, inputs);
  Object.defineProperty(run, "name", { value: name });
  Object.defineProperty(run, "stageName", { value: name, enumerable: true });
  Object.defineProperty(run, "run", { value: run });
  Object.defineProperty(run, SPEC, { value: spec });
  noteSite(spec, stage); // where a DAG on BullMQ workers finds this stage again (stage-site.ts)
  attachPart(run, () => stagePart(spec));
  return run as never;
}

/** A stage as `describe()` sees it (runtime/graph/parts.ts). */
export function stagePart(spec: StageSpec): StagePart {
  return {
    kind: "stage",
    name: spec.name,
    fn: spec.fn,
    cached: spec.cache !== undefined,
    cacheDir: spec.cache?.dir,
    inputs: spec.inputNames,
    outputs: spec.outputs,
    fixed: Object.keys(spec.fixed),
  };
}

/**
 * Runs a stage once (`place`: where it sits in a DAG run, for its event; `store`: another store than the stage's own, for a cached stage). The inputs are copied (never kept between runs: memori accumulated them), the
 * fixed inputs are applied last, and the result is checked and named.
 */
export function runStage(spec: StageSpec, inputs: unknown, place?: RunPlace, store?: CacheStore): Promise<Record<string, unknown>> {
  // Not an `async` function: it hands back runCached's promise itself (an async function returning
  // a promise adopts it, two more microtask turns per cached run); a throw still reaches the caller
  // as a rejection, never synchronously.
  try {
    if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) {
      throw new MemopipeError(`stage '${spec.name}' takes one object of named inputs, got ${Array.isArray(inputs) ? "an array" : typeof inputs}`);
    }
    const merged: Record<string, unknown> = { ...(inputs as Record<string, unknown>), ...spec.fixed };
    const call = async (args: Record<string, unknown>) => nameOutputs(spec, await spec.fn({ ...args }));
    if (!spec.cache) return call(merged);
    // `store`: the bullmq Runner's, on the caller (a hit) and on a worker (a job) alike
    return runCached(spec.name, spec.fn, merged, store ? { ...spec.cache, store } : spec.cache, call, place);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs an uncached stage on `own`, an inputs object made for this call alone (the fixed inputs are
 * written into it, and the function receives it): the named outputs, synchronously when the
 * function returned a value, or a Promise of them when it returned one. What `dag().run` calls, so
 * that a synchronous stage costs no promise; `runStage` is the general entry.
 *
 * @example
 * const out = runUncached(specOf(double), { x: 2 }); // { y: 4 }, not a Promise
 */
export function runUncached(spec: StageSpec, own: Record<string, unknown>): Record<string, unknown> | Promise<Record<string, unknown>> {
  const fixed = spec.fixed;
  for (const k in fixed) own[k] = fixed[k];
  const result = spec.fn(own);
  if (isThenable(result)) return Promise.resolve(result).then((r) => nameOutputs(spec, r));
  return nameOutputs(spec, result);
}

// What `await` adopts: any object or function with a callable `then`.
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

function nameOutputs(spec: StageSpec, result: unknown): Record<string, unknown> {
  if (spec.outputs) {
    if (!Array.isArray(result) || result.length !== spec.outputs.length) {
      throw new StageOutputError(
        `stage '${spec.name}' names ${spec.outputs.length} outputs (${spec.outputs.join(", ")}) but returned ${
          Array.isArray(result) ? `${result.length} values` : typeof result
        }`,
      );
    }
    return Object.fromEntries(spec.outputs.map((n, i) => [n, result[i]]));
  }
  if (result === null || typeof result !== "object" || Array.isArray(result)) {
    throw new StageOutputError(
      `stage '${spec.name}' must return an object of named outputs, got ${Array.isArray(result) ? "an array (name its elements with outputs: [...])" : result === null ? "null" : typeof result}`,
    );
  }
  return { ...(result as Record<string, unknown>) };
}

/**
 * The input names a stage function destructures, read from its source: `({ img, ref }) => …`,
 * `async function f({ a, b: renamed = 1 }) {…}`. Used by `dag()` to give a stage only the inputs
 * it reads (so an unrelated DAG input does not change its cache key). `undefined` when the source
 * does not show a destructured first parameter: the stage then receives everything available.
 */
export function inputNames(fn: Function): string[] | undefined {
  // Comments removed first (compiled TypeScript keeps them: `({ a, // first\n b })`).
  const source = normalizeSource(Function.prototype.toString.call(fn));
  const m = /^(?:async\s*)?(?:function\b[^(]*)?\(\s*\{([^{}()[\]"'`]*)\}\s*(?::[^)]*)?\)/.exec(source);
  if (!m) return undefined; // not a plain `({ a, b })` pattern (nested, defaults with calls, quoted keys…)
  const names: string[] = [];
  for (const part of m[1]!.split(",")) {
    if (!part.trim()) continue;
    // `a`, `a = 1`, `a: renamed`, `a: renamed = 1`; anything else (a rest element, a computed or
    // quoted key) means the names cannot be read safely: the stage then gets every input.
    const name = /^\s*([A-Za-z_$][\w$]*)\s*(?:[:=][^,]*)?$/.exec(part)?.[1];
    if (!name) return undefined;
    names.push(name);
  }
  return names;
}

/**
 * Names a file input: its *contents* (not only its path) are part of a cached stage's key, and a
 * change of contents re-runs the stage.
 *
 * @example
 * await register.run({ img: file("data/sub-01.nii") });
 */
export function file(path: string): FileRef {
  if (typeof path !== "string" || path.length === 0) throw new MemopipeError("file(path): the path must be a non-empty string");
  return new FileRef(path);
}
