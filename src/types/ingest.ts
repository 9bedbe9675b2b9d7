import type { AsyncMode } from "./async.js";
import type { Errored, IssueOf, LastStep, Lookup, NoStepReason, NotIngestable } from "./builder-state.js";
import type { Pipe } from "./builder.js";
import type { IsSingleLiteral, StoredKeysText } from "./memory.js";
import type { Assess, Verdict, Wrong } from "./step-fit.js";
import type { PipeTypeError } from "./type-error.js";

/**
 * `.ingestBefore(key)` and `.ingestAfter(key)`.
 *
 * The builder's type destructures its last step once (`Pipe` in builder.ts), so these aliases get
 * the step's pieces directly: `P` (its parameters), `Prev` (the value it receives), `B` / `A`
 * (types ingested before / after it), `BK` / `AK` (their keys, for messages) and `Allow` (`true`,
 * or why it cannot ingest). Each side has its own aliases, so no alias branches on the side.
 *
 * What an ingest accepts is checked in this order: there is a step to ingest into; it may ingest
 * (`allowIngest`); the key is a literal and was stored; the step's parameters still fit once the
 * value is added (order, count, types: `Assess`).
 *
 * Inference guard: TypeScript infers `K` from the argument only through a branch where `K`
 * appears *naked*. The error branches mention `K` only inside messages, so without the
 * never-taken `[K] extends [never] ? K` branch (a string literal is not `never`) `K` would widen
 * to `string` and the messages would read "memory key '${string}'".
 */
export type IngestBeforeArg<
  K extends string,
  Mem,
  Keys extends string,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
> = IngestArg<"Before", K, Mem, Keys, P, Prev, [...B, Lookup<Mem, K>], A, [...BK, K], AK, Allow>;

export type IngestAfterArg<
  K extends string,
  Mem,
  Keys extends string,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
> = IngestArg<"After", K, Mem, Keys, P, Prev, B, [...A, Lookup<Mem, K>], BK, [...AK, K], Allow>;

/** Both sides' check, given the layout the ingest would make (`B2`, `A2` and their keys). */
type IngestArg<
  S extends "Before" | "After",
  K extends string,
  Mem,
  Keys extends string,
  P extends readonly unknown[],
  Prev,
  B2 extends readonly unknown[],
  A2 extends readonly unknown[],
  BK2 extends readonly string[],
  AK2 extends readonly string[],
  Allow extends string | true,
> = [K] extends [never]
  ? K
  : Allow extends true
    ? IsSingleLiteral<K> extends false
      ? PipeTypeError<`ingest${S}(key): a memory key must be one string literal (one of the stored keys), so that it can be checked`>
      : K extends keyof Mem
        ? Assess<P, B2, Prev, A2, BK2, AK2, K> extends Wrong<infer M>
          ? PipeTypeError<M>
          : K
        : // written out, not through an alias, so that TypeScript prints the keys and the message
          | (keyof Mem & string)
          | PipeTypeError<`memory key '${K}' was never stored in this pipeline (${StoredKeysText<Keys>}); add .store('${K}') right after the step whose value you want, earlier in this pipeline (a sub-pipeline's or a parent's memory is not visible here)`>
    : CannotIngestArg<S, K, Exclude<Allow, true>>;

/** The step cannot ingest at all: none to ingest into, `allowIngest: false`, or already reported. */
type CannotIngestArg<S extends string, K extends string, Allow extends string> = Allow extends Errored
  ? K // the step was reported as wrong already: no second error
  : Allow extends NoStepReason
    ? PipeTypeError<`ingest${S}('${K}') must directly follow the .step(f) it feeds (it changes how that step is called); a .store(...) or the start of the pipeline cannot ingest`>
    : PipeTypeError<`${Allow}, so it cannot ingest memory key '${K}' (allowIngest: false); ${Allow extends NotIngestable
        ? "ingest into another step, or drop allowIngest: false"
        : "ingest into a .step(f) instead"}`>;

/** The builder after `.ingestBefore(key)`. */
export type AfterIngestBefore<
  K extends string,
  In,
  Cur,
  Mem,
  Keys extends string,
  Mode extends AsyncMode,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
> = AfterIngest<K, In, Cur, Mem, Keys, Mode, P, Prev, [...B, Lookup<Mem, K>], A, [...BK, K], AK, Allow>;

/** The builder after `.ingestAfter(key)`. */
export type AfterIngestAfter<
  K extends string,
  In,
  Cur,
  Mem,
  Keys extends string,
  Mode extends AsyncMode,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  Allow extends string | true,
> = AfterIngest<K, In, Cur, Mem, Keys, Mode, P, Prev, B, [...A, Lookup<Mem, K>], BK, [...AK, K], Allow>;

/**
 * Both sides' next state, given the layout the ingest makes. A step that cannot ingest keeps its
 * `Allow` (the ingest was reported, or the step was reported before), so the layout is not checked.
 */
type AfterIngest<
  K extends string,
  In,
  Cur,
  Mem,
  Keys extends string,
  Mode extends AsyncMode,
  P extends readonly unknown[],
  Prev,
  B2 extends readonly unknown[],
  A2 extends readonly unknown[],
  BK2 extends readonly string[],
  AK2 extends readonly string[],
  Allow extends string | true,
> = Allow extends true
  ? AfterVerdict<In, Cur, Mem, Keys, Mode, P, Prev, B2, A2, BK2, AK2, Assess<P, B2, Prev, A2, BK2, AK2, K>>
  : Pipe<In, Cur, Mem, Keys, Mode, LastStep<P, Prev, B2, A2, BK2, AK2, Allow>, never>;

// A wrong ingest was reported on its key: the step is marked so that later ingests are not flagged again.
type AfterVerdict<
  In,
  Cur,
  Mem,
  Keys extends string,
  Mode extends AsyncMode,
  P extends readonly unknown[],
  Prev,
  B extends readonly unknown[],
  A extends readonly unknown[],
  BK extends readonly string[],
  AK extends readonly string[],
  V extends Verdict,
> = Pipe<In, Cur, Mem, Keys, Mode, LastStep<P, Prev, B, A, BK, AK, V extends Wrong<string> ? Errored : true>, IssueOf<V>>;
