/**
 * Run-time errors. The types catch these mistakes at compile time; these classes are for what the
 * types cannot see (plain JavaScript callers, `any`, casts). Every one is exported, so callers can
 * `instanceof`-check them, and every message names the key or the step and says what to do.
 */

/**
 * Base class of every error memopipe throws.
 *
 * @example
 * try { run(1); } catch (e) { if (e instanceof MemopipeError) console.error(e.message); }
 */
export class MemopipeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A pipeline was put together wrongly: a step that is not a function, an ingest with no step to
 * modify, a key that is not a string.
 *
 * @example
 * pipe().step(42 as any); // throws PipelineDefinitionError: step 1 must be a function, got number
 */
export class PipelineDefinitionError extends MemopipeError {}

/**
 * An ingest names a memory key that was never stored in this pipeline.
 *
 * @example
 * pipe<number>().step((x) => x).ingestAfter("nope" as any); // throws UnknownMemoryKeyError
 */
export class UnknownMemoryKeyError extends MemopipeError {
  constructor(
    /** The key that was asked for. */
    readonly key: string,
    /** The keys stored so far in this pipeline. */
    readonly storedKeys: readonly string[],
  ) {
    super(
      `memory key '${key}' was never stored in this pipeline (${
        storedKeys.length === 0 ? "nothing has been stored yet" : `stored so far: ${storedKeys.map((k) => `'${k}'`).join(", ")}`
      }); add .store('${key}') right after the step whose value you want, earlier in this pipeline`,
    );
  }
}

/**
 * A key was stored twice in one pipeline.
 *
 * @example
 * pipe<number>().store("x").store("x" as any); // throws DuplicateMemoryKeyError
 */
export class DuplicateMemoryKeyError extends MemopipeError {
  constructor(readonly key: string) {
    super(`memory key '${key}' is already stored in this pipeline: a key is stored once per pipeline, so pick another name`);
  }
}

/**
 * An ingest into a step that may not ingest: one made with `memorizable(f, { allowIngest: false })`,
 * or a fork / merge / to / flatten.
 *
 * @example
 * pipe<number>().store("k").step(memorizable((x: number) => x, { allowIngest: false })).ingestAfter("k" as any);
 */
export class IngestNotAllowedError extends MemopipeError {
  constructor(
    readonly key: string,
    readonly step: string,
  ) {
    super(
      `${step}, so it cannot ingest memory key '${key}' (allowIngest: false); ${
        step.includes("memorizable") ? "ingest into another step, or drop allowIngest: false" : "ingest into a .step(f) instead"
      }`,
    );
  }
}

/**
 * `merge`, `to` or `flatten` was given something that is not a tuple (an array).
 *
 * @example
 * merge((a: number, b: number) => a + b)(5 as any); // throws NotATupleError
 */
export class NotATupleError extends MemopipeError {
  constructor(
    readonly operation: string,
    readonly value: unknown,
  ) {
    super(`${operation} needs a tuple (what fork returns), got ${value === null ? "null" : typeof value}`);
  }
}

/**
 * A step threw (or its Promise rejected). The original error is `cause`; `step` is the 1-based
 * position of the step in its pipeline and `stepName` its function's name (or a description).
 *
 * @example
 * try { await run(input); } catch (e) { if (e instanceof PipelineStepError) console.log(e.step, e.cause); }
 */
export class PipelineStepError extends MemopipeError {
  constructor(
    readonly step: number,
    readonly stepName: string,
    cause: unknown,
  ) {
    super(`step ${step} (${stepName}) failed: ${describe(cause)}`, { cause });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
  try {
    return `non-Error thrown: ${String(error)}`;
  } catch {
    return "non-Error thrown";
  }
}

/**
 * A cached stage got an input or produced an output that cannot be recorded (a function, a
 * symbol, a class instance the codecs cannot rebuild…). Nothing is written; the next run works.
 *
 * @example
 * await stage("s", ({ f }: { f: () => void }) => ({}), { cache: true }).run({ f: () => {} } as any); // throws UnrecordableValueError
 */
export class UnrecordableValueError extends MemopipeError {
  constructor(
    /** Where the value is, e.g. `inputs.options.callback`. */
    readonly path: string,
    /** What it is, e.g. `function`. */
    readonly kind: string,
    /** The stage, when known. */
    readonly stage?: string,
  ) {
    super(`${stage ? `stage '${stage}': ` : ""}${path} is a ${kind}, which cannot be recorded in the cache; pass plain data (or turn cache off for this stage)`);
  }
}

/** A cache entry failed verification (truncated or edited record, outputs whose digest changed). */
export class CacheCorruptionError extends MemopipeError {}
