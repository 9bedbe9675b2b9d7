/**
 * Run-time errors. The types catch these mistakes at compile time; these classes are for what the
 * types cannot see (plain JavaScript callers, `any`, casts). Every one is exported, so callers can
 * `instanceof`-check them, every one has a stable `code` (`MEMOPIPE_…`, listed in the README), and
 * every message names the key or the step and says what to do.
 *
 * ## Adding an error class
 * One line for its code, and nothing else:
 * ```ts
 * export class QueueClosedError extends MemopipeError {
 *   static override readonly code: string = "MEMOPIPE_QUEUE_CLOSED";
 * }
 * ```
 * then add a row to the errors table in the README. A code is never reused or renamed once released.
 *
 * ## Why `instanceof` needs help here
 * The package ships two builds (dist/index.js for `import`, dist/index.cjs for `require`), and a
 * process can load both: an ESM app using a CJS tool that uses memopipe, or a worker loading the
 * other build. Each build has its own copy of every class, so a plain `instanceof` is false for an
 * error thrown by the other copy (the "dual package hazard"). So every error carries a brand under
 * the registry symbol `Symbol.for("memopipe.error")` (the same symbol in every copy, every realm):
 * the list of the codes of its class and of each ancestor, most derived first. Each class's
 * `static [Symbol.hasInstance]` (defined once here and inherited: `this` is the class tested) is
 * true when that list holds the class's own code. So `e instanceof UnknownMemoryKeyError` is true
 * for an error thrown by either build, and false for every other class, across builds too.
 * A user's subclass that declares no code of its own gets the ordinary prototype check, so it never
 * claims its parent's instances.
 */

/** The registry symbol under which every memopipe error carries its codes (see above). */
const BRAND = Symbol.for("memopipe.error");

/** The codes of `ctor` and its ancestors up to MemopipeError, most derived first. */
function codesOf(ctor: Function): readonly string[] {
  const codes: string[] = [];
  for (let c: unknown = ctor; typeof c === "function"; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, "code")) codes.push((c as unknown as { code: string }).code);
    if (c === MemopipeError) break;
  }
  return Object.freeze(codes);
}

/** The codes a value is branded with, or undefined when it is no memopipe error (of any build). */
function brandOf(value: unknown): readonly string[] | undefined {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return undefined;
  const codes = (value as Record<symbol, unknown>)[BRAND];
  return Array.isArray(codes) ? codes : undefined;
}

/**
 * Base class of every error memopipe throws. `code` is stable (`MEMOPIPE_ERROR` for this class,
 * a more specific one for each subclass); `instanceof` works whichever build (ESM or CJS) threw it.
 *
 * @example
 * try { run(1); } catch (e) {
 *   if (e instanceof MemopipeError) console.error(e.code, e.message);
 * }
 */
export class MemopipeError extends Error {
  /** The code of this class's errors; each subclass declares its own (one line). */
  static readonly code: string = "MEMOPIPE_ERROR";
  /** A stable identifier of the kind of error, e.g. `MEMOPIPE_UNKNOWN_KEY` (as Node's `err.code`). */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof MemopipeError).code;
    // Not enumerable: it stays out of JSON.stringify, util.inspect and structuredClone.
    Object.defineProperty(this, BRAND, { value: codesOf(new.target) });
  }

  /** True for an error of this class (or a subclass) from any copy of memopipe: see the file's top comment. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!Object.hasOwn(this, "code")) return false;
    return brandOf(value)?.includes(this.code) ?? false;
  }
}

/**
 * A pipeline was put together wrongly: a step that is not a function, an ingest with no step to
 * modify, a key that is not a string.
 *
 * @example
 * pipe().step(42 as any); // throws PipelineDefinitionError: step 1 must be a function, got number
 */
export class PipelineDefinitionError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_PIPELINE_DEFINITION";
}

/**
 * An ingest names a memory key that was never stored in this pipeline.
 *
 * @example
 * pipe<number>().step((x) => x).ingestAfter("nope" as any); // throws UnknownMemoryKeyError
 */
export class UnknownMemoryKeyError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_UNKNOWN_KEY";
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
  static override readonly code: string = "MEMOPIPE_DUPLICATE_KEY";
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
  static override readonly code: string = "MEMOPIPE_INGEST_NOT_ALLOWED";
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
  static override readonly code: string = "MEMOPIPE_NOT_A_TUPLE";
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
  static override readonly code: string = "MEMOPIPE_STEP_FAILED";
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
  static override readonly code: string = "MEMOPIPE_UNRECORDABLE_VALUE";
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
export class CacheCorruptionError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_CACHE_CORRUPT";
}

/**
 * The cache could not record something (a full disk, a read-only or foreign-owned directory, a
 * planted symbolic link, an I/O error). Stages never fail for it: the computed value is returned and
 * one warning names the stage and the path; the store's own callers (tools, tests) see this error.
 *
 * @example
 * try { await store.put("s", key, entry); } catch (e) { if (e instanceof CacheWriteError) console.warn(e.path, e.errno); }
 */
export class CacheWriteError extends MemopipeError {
  static override readonly code: string = "MEMOPIPE_CACHE_WRITE";
  constructor(
    message: string,
    /** The path that could not be written. */
    readonly path: string,
    /** The system error code (`ENOSPC`, `EACCES`, `EROFS`, `ELOOP`…), when there is one. */
    readonly errno?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
