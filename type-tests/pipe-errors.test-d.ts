/**
 * Every misuse SPEC lists must fail to compile *on the offending call* with a message that names
 * the key or the parameter and says what to do.
 *
 * Each `// @ts-expect-error <fragment>` stands on the line before the offending call. TypeScript
 * (tsd's 5.9, tsc 6 and tsc 7) fails if that line has no error; `scripts/check-types.mjs` removes
 * the directives and checks that the error is on exactly that line and that its message contains
 * the fragment (and no builder internals).
 */
import { pipe, fork, memorizable } from "memopipe";

const noIngest = memorizable((x: number) => x + 1, { allowIngest: false });

// --- ingesting a key that was never stored --------------------------------------------------
pipe<number>()
  .step((x) => x * 2)
  // @ts-expect-error memory key 'doubled' was never stored in this pipeline (nothing has been stored yet); add .store('doubled')
  .ingestAfter("doubled");

pipe<number>()
  .store("input")
  .step((x) => x * 2)
  .store("doubled")
  .step((x: number, y: number) => x + y)
  // @ts-expect-error memory key 'doubel' was never stored in this pipeline (stored so far: 'input', 'doubled')
  .ingestAfter("doubel");

// ... a key stored only later in the pipeline
pipe<number>()
  .step((x: number, later: number) => x + later)
  // @ts-expect-error memory key 'later' was never stored
  .ingestAfter("later")
  .store("later");

// ... a key stored only in a sub-pipeline
const sub = pipe<number>().step((x) => x + 1).store("inner").step((x) => x * 2).build();
pipe<number>()
  .step(sub)
  .step((x: number, inner: number) => x + inner)
  // @ts-expect-error memory key 'inner' was never stored in this pipeline
  .ingestAfter("inner");

// ... a key stored only in the parent pipeline, read by a sub-pipeline built inside it
pipe<number>()
  .store("outer")
  .step(
    pipe<number>()
      .step((x: number, outer: number) => x + outer)
      // @ts-expect-error memory key 'outer' was never stored in this pipeline (nothing has been stored yet)
      .ingestAfter("outer")
      .build(),
  );

// --- wrong order: the ingests put the values where the parameter types do not fit -------------
pipe<number>()
  .step((x) => x * 2)
  .store("doubled")
  .step((x) => String(x))
  .step((d: number, s: string) => s + d)
  // @ts-expect-error the ingests put the current value (string) there
  .ingestAfter("doubled");

pipe<number>()
  .store("n")
  .step((x) => String(x))
  .step((s: string, n: number) => s + n)
  // @ts-expect-error memory key 'n' (number) would be passed as this step's parameter 1, which expects string
  .ingestBefore("n");

pipe<string>()
  .store("label")
  .step((s) => s.length)
  .store("size")
  .step((x: number, size: number, label: string) => label + (x + size))
  .ingestAfter("size")
  .ingestAfter("label");
pipe<string>()
  .store("label")
  .step((s) => s.length)
  .store("size")
  .step((x: number, size: number, label: string) => label + (x + size))
  .ingestAfter("label")
  // @ts-expect-error memory key 'label' (string) would be passed as this step's parameter 2, which expects number
  .ingestAfter("size");

// --- an ingest into a step that may not ingest (allowIngest: false) ---------------------------
pipe<number>()
  .store("k")
  .step(noIngest)
  // @ts-expect-error this step was marked memorizable(f, { allowIngest: false }), so it cannot ingest memory key 'k' (allowIngest: false)
  .ingestAfter("k");

pipe<number>()
  .store("k")
  .step(noIngest)
  // @ts-expect-error (allowIngest: false)
  .ingestBefore("k");

pipe<number>()
  .store("k")
  .fork((x) => x, (x) => x + 1)
  // @ts-expect-error fork(...) only combines its branches, so it cannot ingest memory key 'k' (allowIngest: false)
  .ingestAfter("k");

pipe<number>()
  .store("k")
  .fork((x) => x, (x) => x + 1)
  .merge((a, b) => a + b)
  // @ts-expect-error merge(h) only spreads the tuple, so it cannot ingest memory key 'k' (allowIngest: false)
  .ingestAfter("k");

// --- an ingest on a step that has no parameter left for it -------------------------------------
pipe<number>()
  .store("k")
  .step((x: number) => x + 1)
  // @ts-expect-error no parameter left for memory key 'k': this step takes 1 parameter and it is filled already
  .ingestAfter("k");

pipe<number>()
  .store("a")
  .store("b")
  .step((x: number, a: number) => x + a)
  .ingestAfter("a")
  // @ts-expect-error no parameter left for memory key 'b': this step takes 2 parameters and they are all filled already
  .ingestAfter("b");

pipe<number>()
  .store("k")
  .step(() => 1)
  // @ts-expect-error no parameter left for memory key 'k'
  .ingestBefore("k");

// --- an ingest with no step to modify ---------------------------------------------------------
pipe<number>()
  .store("k")
  // @ts-expect-error ingestAfter('k') must directly follow the .step(f) it feeds
  .ingestAfter("k");

// --- a step whose input type does not accept the previous output ------------------------------
pipe<number>()
  .step((x) => x * 2)
  // @ts-expect-error this step's parameter 1 expects string, but the current value (the previous step's result) is number
  .step((s: string) => s.toUpperCase());

pipe<{ id: number }>()
  // @ts-expect-error this step's parameter 1 expects { name: string }, but the current value (the previous step's result) is { id: number } (it lacks property 'name')
  .step((user: { name: string }) => user.name);

pipe<number>()
  .step(async (x) => x * 2)
  // @ts-expect-error this step's parameter 1 expects Promise<number>, but the current value (the previous step's result) is number (steps receive the awaited value of an async step)
  .step((p: Promise<number>) => p);

// A step that needs a memory value the chain never gives it: the next call says so.
pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error the step before cannot run yet: this step's parameter 2 (number) gets no value: pass a stored value to it with .ingestAfter(key) or .ingestBefore(key)
  .build();

pipe<string>()
  .store("k")
  .step((n: number, s: string) => s.repeat(n))
  // @ts-expect-error the step before cannot run yet: the current value (string) does not fit this step's parameter 1 (number) yet: fill the parameters before the current value with .ingestBefore(key)
  .step((s: string) => s);

// --- merge with a function whose parameters do not fit the tuple ------------------------------
pipe<number>()
  .fork((x) => x, (x) => String(x))
  // @ts-expect-error merge(h)'s parameter 2 expects number, but element 2 of the tuple is string
  .merge((a: number, b: number) => a + b);

pipe<number>()
  .fork((x) => x, (x) => String(x))
  // @ts-expect-error merge(h) takes 1 parameter but the tuple has 2 elements: every element must have a parameter
  .merge((a: number) => a);

pipe<number>()
  .fork((x) => x, (x) => String(x))
  // @ts-expect-error merge(h) has more parameters than the tuple has elements: its parameter 3 (boolean) gets no value (the tuple has 2 elements)
  .merge((a: number, b: string, c: boolean) => a + b + c);

pipe<number>()
  .step((x) => x + 1)
  // @ts-expect-error merge(h) spreads a tuple (what fork returns) into its parameters, but the current value is number, not a tuple
  .merge((a: number) => a);

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
pipe<number>()
  .fork((x) => x, (x) => String(x))
  // @ts-expect-error to(Ctor)'s parameter 2 expects number, but element 2 of the tuple is string
  .to(Point);

// --- a fork branch that does not accept the current value --------------------------------------
pipe<number>()
  // @ts-expect-error Type 'number' is not assignable to type 'string'
  .fork((x) => x, (s: string) => s);

// --- storing a key twice, or a key the types cannot follow -------------------------------------
pipe<number>()
  .store("k")
  .step((x) => x + 1)
  // @ts-expect-error memory key 'k' is already stored in this pipeline (stored so far: 'k'): a key is stored once per pipeline, so pick another name
  .store("k");

declare const dynamicKey: string;
pipe<number>()
  // @ts-expect-error a memory key must be one string literal
  .store(dynamicKey);

// --- calling the built pipeline with the wrong input ---------------------------------------------
const run = pipe<number>().step((x) => x + 1).build();
// @ts-expect-error Argument of type 'string' is not assignable to parameter of type 'number'
run("1");

// --- the free fork: branches must agree on the input ---------------------------------------------
// @ts-expect-error Type 'number' is not assignable to type 'string'
fork((x: number) => x, (s: string) => s);

// --- reported on the offending branch of a free fork, each on its own line ---------------------
fork(
  (x: number) => x,
  // @ts-expect-error Type 'number' is not assignable to type 'string'
  (s: string) => s,
  (x: number) => x > 0,
);

// --- pipe() without a type argument cannot store its input before the first step -------------
pipe()
  // @ts-expect-error pipe() without a type argument learns its input type from the first step, so the input cannot be stored before it: write pipe<Input>().store(key)
  .store("input");

// --- a wrong ingest is reported once: the next ingest into the same step is not flagged again --
pipe<number>()
  .store("n")
  .step((x) => `${x}`)
  .store("s")
  .step((x) => x.length > 0)
  .step((s: string, n: number, cur: boolean) => s + n + cur)
  // @ts-expect-error memory key 'n' (number) would be passed as this step's parameter 1, which expects string: ingest a key of that type, or check the order
  .ingestBefore("n")
  .ingestBefore("s");

// --- a key the types cannot follow ----------------------------------------------------------------
declare const someKey: string;
pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error ingestAfter(key): a memory key must be one string literal (one of the stored keys)
  .ingestAfter(someKey);

// --- precise reasons for objects and tuples --------------------------------------------------------
pipe<{ id: number; name: number }>()
  // @ts-expect-error (property 'name' is number there, the parameter wants string)
  .step((user: { id: number; name: string }) => user.name);

pipe<number>()
  .fork((x) => x, (x) => `${x}`)
  // @ts-expect-error (element 2 is string, the parameter wants number)
  .step((pair: readonly [number, number]) => pair[0] + pair[1]);

// --- a step taking any object does not accept a number ----------------------------------------------
pipe<number>()
  // @ts-expect-error this step's parameter 1 expects object, but the current value (the previous step's result) is number
  .step((o: object) => Object.keys(o));

// --- generic steps are checked too --------------------------------------------------------------------
pipe<number>()
  // @ts-expect-error this step's parameter 1 expects readonly unknown[], but the current value (the previous step's result) is number
  .step(<T,>(xs: readonly T[]) => xs.length);

// --- a key must be exactly one literal: a union or a template pattern cannot be checked -----------
declare const eitherKey: "a" | "b";
declare const patternKey: `key-${string}`;
pipe<number>()
  // @ts-expect-error a memory key must be one string literal such as .store('model'): a key of type string, a union or a template type cannot be checked
  .store(eitherKey);
pipe<number>()
  // @ts-expect-error a memory key must be one string literal
  .store(patternKey);

// --- pipe() without a type argument: the first fork's branches must agree on the input ------------
pipe().fork(
  (x: number) => x.toFixed(),
  // @ts-expect-error Type 'number' is not assignable to type 'string'
  (x: string) => x.toUpperCase(),
);

// --- pipe() without a type argument has no tuple to merge before its first step ---------------------
pipe()
  // @ts-expect-error merge(h) spreads a tuple, but pipe() without a type argument has no value before its first step: write pipe<[A, B]>()
  .merge((a: number, b: number) => a + b);

// --- what differs, written out: readonly, classes, unions --------------------------------------------
// fork's results are readonly tuples: a step taking a mutable one is told so
pipe<number>()
  .fork((x) => x, (x) => `${x}`)
  // @ts-expect-error this step's parameter 1 expects [number, string], but the current value (the previous step's result) is readonly [number, string] (it is readonly, the parameter is not: make the parameter readonly)
  .step((pair: [number, string]) => pair[0]);

pipe<readonly number[]>()
  // @ts-expect-error this step's parameter 1 expects number[], but the current value (the previous step's result) is readonly number[] (it is readonly, the parameter is not: make the parameter readonly)
  .step((xs: number[]) => xs.length);

// two classes alike but for a private member
class Celsius {
  protected readonly unit = "C";
  constructor(readonly value: number) {}
}
class Fahrenheit {
  protected readonly unit = "F";
  constructor(readonly value: number) {}
}
pipe<Celsius>()
  // @ts-expect-error this step's parameter 1 expects { readonly value: number }, but the current value (the previous step's result) is { readonly value: number } (their public properties fit: a private or protected member differs, as between two classes)
  .step((t: Fahrenheit) => t.value);

// the standard classes by name
pipe<Date>()
  // @ts-expect-error this step's parameter 1 expects Map<string, number>, but the current value (the previous step's result) is Date (it lacks properties
  .step((m: Map<string, number>) => m.size);

// unions written out, undefined last
pipe<string | undefined>()
  // @ts-expect-error this step's parameter 1 expects string, but the current value (the previous step's result) is string | undefined: make the step accept it
  .step((s: string) => s.length);

pipe<number>()
  // @ts-expect-error this step's parameter 1 expects string | undefined, but the current value (the previous step's result) is number
  .step((s: string | undefined) => s);

pipe<{ id: number; tags: readonly string[] }>()
  // @ts-expect-error this step's parameter 1 expects { id: string }, but the current value (the previous step's result) is { id: number; tags: readonly string[] } (property 'id' is number there, the parameter wants string)
  .step((row: { id: string }) => row.id);

// --- one error for one mistake: an unannotated lambda after an incomplete step gets no TS7006 --------
pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error the step before cannot run yet: this step's parameter 2 (number) gets no value
  .step((y) => y)
  .build();

pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error the step before cannot run yet: this step's parameter 2 (number) gets no value
  .fork((y) => y, (z) => z);

pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error the step before cannot run yet: this step's parameter 2 (number) gets no value
  .merge((y) => y);

// --- .buildSync() on a pipeline whose types do not prove every step synchronous -------------------
pipe<number>()
  .step(async (x) => x + 1)
  // @ts-expect-error buildSync() needs every step synchronous, and a step here may return a Promise: use .build()
  .buildSync();

pipe<number>()
  .step((x) => (x > 0 ? Promise.resolve(x) : x))
  // @ts-expect-error buildSync() needs every step synchronous
  .buildSync();

pipe<number>()
  .store("k")
  .step((x: number, k: number) => x + k)
  // @ts-expect-error the step before cannot run yet: this step's parameter 2 (number) gets no value
  .buildSync();
