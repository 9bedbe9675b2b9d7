/**
 * Stages and DAGs: valid uses with exact types, and the misuses SPEC lists, each reported on the
 * offending argument with the stage and the key named.
 */
import { stage, dag, file, pipe, type FileRef, type Stage } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

// fixed inputs leave the input type; outputs are named
const register = stage(
  "register",
  ({ img, ref }: { img: FileRef; ref: string }) => ({ affine: [1, 0, 0, 1] as number[], out: `${img.path}.${ref}` }),
  { cache: true, fixed: { ref: "mni152" } },
);
assertEqual<Equal<typeof register, Stage<"register", { img: FileRef }, { affine: number[]; out: string }>>>();
const registered = register.run({ img: file("sub-01.nii") });
assertEqual<Equal<typeof registered, Promise<{ affine: number[]; out: string }>>>();

// a tuple result named by outputs (memori's stage_outputs); async stages
const split = stage("split", async ({ s }: { s: string }) => [s.length, s.toUpperCase()] as const, { outputs: ["n", "upper"] as const });
assertEqual<Equal<Awaited<ReturnType<typeof split.run>>, { readonly n: number; readonly upper: string }>>();

// a DAG with fan-in: s3 reads s1's and s2's outputs and a DAG input
const s0 = stage("s0", ({ subject }: { subject: string }) => ({ raw: subject.length }));
const s1 = stage("s1", ({ raw }: { raw: number }) => ({ a: raw * 2 }));
const s2 = stage("s2", async ({ raw }: { raw: number }) => ({ b: `${raw}` }));
const s3 = stage("s3", ({ a, b, subject }: { a: number; b: string; subject: string }) => ({ report: `${subject}:${a}:${b}` }));
const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
const out = g.run({ subject: "sub-01" });
assertEqual<Equal<typeof out, Promise<{ report: string }>>>();

// several terminal stages: merged in order, right-most wins on a clash
const t1 = stage("t1", ({ raw }: { raw: number }) => ({ left: raw, clash: "t1" }));
const t2 = stage("t2", ({ raw }: { raw: number }) => ({ right: `${raw}`, clash: 2 }));
const both = dag().start(s0).edge(s0, t1).edge(s0, t2).run({ subject: "x" });
assertEqual<Equal<typeof both, Promise<{ left: number; right: string; clash: number }>>>();

// an output that shadows a DAG input wins over it, and so does the right-most predecessor of a fan-in
const shadow = dag<{ raw: string }>().start(s0).edge(s0, s1).run({ subject: "x", raw: "ignored" });
assertEqual<Equal<typeof shadow, Promise<{ a: number }>>>();
const c1 = stage("c1", ({ raw }: { raw: number }) => ({ clash: "text", left: raw }));
const c2 = stage("c2", ({ raw }: { raw: number }) => ({ clash: raw }));
const needsNumber = stage("needsNumber", ({ clash, left }: { clash: number; left: number }) => ({ sum: clash + left }));
const fanIn = dag().start(s0).edge(s0, c1).edge(s0, c2).edge([c1, c2], needsNumber).run({ subject: "x" });
assertEqual<Equal<typeof fanIn, Promise<{ sum: number }>>>();
// a fan-in of four stages
const w1 = stage("w1", ({ raw }: { raw: number }) => ({ p: raw }));
const w2 = stage("w2", ({ raw }: { raw: number }) => ({ q: `${raw}` }));
const w3 = stage("w3", ({ raw }: { raw: number }) => ({ r: raw > 0 }));
const w4 = stage("w4", ({ raw }: { raw: number }) => ({ s: [raw] }));
const wide = stage("wide", ({ p, q, r, s, subject }: { p: number; q: string; r: boolean; s: number[]; subject: string }) => ({ all: `${subject}${p}${q}${r}${s}` }));
const four = dag().start(s0).edge(s0, w1).edge(s0, w2).edge(s0, w3).edge(s0, w4).edge([w1, w2, w3, w4], wide).run({ subject: "x" });
assertEqual<Equal<typeof four, Promise<{ all: string }>>>();

// a stage is a pipe step
const asStep = pipe<{ raw: number }>().step(s1).step((o) => o.a).build();
assertEqual<Equal<typeof asStep, (input: { raw: number }) => Promise<number>>>();

// --- misuses ---------------------------------------------------------------------------------------
dag()
  .start(s0)
  // @ts-expect-error stage 's3' needs input 'a', which neither its predecessors ('s0') nor the DAG's inputs provide
  .edge(s0, s3);

const s5 = stage("s5", ({ raw }: { raw: string }) => ({ z: raw }));
dag()
  .start(s0)
  // @ts-expect-error stage 's5' needs input 'raw' as string, but it arrives as number
  .edge(s0, s5);

// the shadowed DAG input does not arrive: the predecessor's output does
const wantsText = stage("wantsText", ({ raw }: { raw: string }) => ({ t: raw }));
dag<{ raw: string }>()
  .start(s0)
  // @ts-expect-error stage 'wantsText' needs input 'raw' as string, but it arrives as number
  .edge(s0, wantsText);

// in a fan-in the right-most predecessor wins: [c2, c1] gives c1's clash, a string
dag()
  .start(s0)
  .edge(s0, c1)
  .edge(s0, c2)
  // @ts-expect-error stage 'needsNumber' needs input 'clash' as number, but it arrives as string
  .edge([c2, c1], needsNumber);

// a fan-in of four that lacks an input
const wider = stage("wider", ({ p, t }: { p: number; t: string }) => ({ pt: `${p}${t}` }));
dag()
  .start(s0)
  .edge(s0, w1)
  .edge(s0, w2)
  .edge(s0, w3)
  .edge(s0, w4)
  // @ts-expect-error stage 'wider' needs input 't', which neither its predecessors ('w1', 'w2', 'w3', 'w4') nor the DAG's inputs provide
  .edge([w1, w2, w3, w4], wider);

dag()
  .start(s0)
  // @ts-expect-error stage 's1' is not in this DAG yet: add it with .start(…) or as the target of an earlier .edge(…, stage)
  .edge(s1, s3);

dag()
  .start(s0)
  .edge(s0, s1)
  // @ts-expect-error stage 's1' is in this DAG already: give a stage all its predecessors in one .edge([a, b], stage)
  .edge(s0, s1);

// run without an input the stage needs
// @ts-expect-error Property 'img' is missing
register.run({});

// a cached stage whose input cannot be recorded: the error is on `cache: true`, naming stage and value
stage("callbacks", ({ onDone }: { onDone: () => void }) => ({ ok: true }), {
  // @ts-expect-error stage 'callbacks' cannot be cached: inputs.onDone cannot be recorded (a function, a symbol or a Promise)
  cache: true,
});

// ... or an output
stage("handles", ({ n }: { n: number }) => ({ close: () => n }), {
  // @ts-expect-error stage 'handles' cannot be cached: outputs.close cannot be recorded
  cache: true,
});

// the same stage uncached is fine
stage("uncached", ({ onDone }: { onDone: () => void }) => ({ ok: true }), { cache: false });

// a stage returns an object of named outputs
// @ts-expect-error a stage returns an object of named outputs, but this one returns number
stage("answer", ({ x }: { x: number }) => x + 1);

// outputs names the elements of a tuple: the counts must agree
// @ts-expect-error the stage returns 2 values but outputs names 3
stage("pair", ({ x }: { x: number }) => [x, x] as const, { outputs: ["a", "b", "c"] as const });

// unrecordable values hidden in a union or behind an optional property are caught too
stage("optionalCallback", ({ cb }: { cb?: () => void }) => ({ v: 1 }), {
  // @ts-expect-error stage 'optionalCallback' cannot be cached: inputs.cb cannot be recorded
  cache: true,
});
stage("unionSymbol", ({ s }: { s: string | symbol }) => ({ v: 1 }), {
  // @ts-expect-error stage 'unionSymbol' cannot be cached: inputs.s cannot be recorded
  cache: true,
});
stage("maybeFunction", ({ x }: { x: number }) => ({ f: x > 0 ? () => 1 : 0 }), {
  // @ts-expect-error stage 'maybeFunction' cannot be cached: outputs.f cannot be recorded
  cache: true,
});

// fixed must name inputs of the stage, with values of their types
stage("fixWrongType", ({ a, ref }: { a: number; ref: string }) => ({ v: a + ref }), {
  // @ts-expect-error stage 'fixWrongType': fixed input 'ref' must be string, got 3
  fixed: { ref: 3 },
});
stage("fixUnknown", ({ a }: { a: number }) => ({ v: a }), {
  // @ts-expect-error stage 'fixUnknown' has no input 'nope' to fix (its inputs: 'a')
  fixed: { nope: 3 },
});

// outputs names a tuple's elements: an array of any length does not qualify
// @ts-expect-error outputs names 2 values, but the stage returns an array of any length: return a tuple
stage("arr", ({ x }: { x: number }) => [x, x], { outputs: ["a", "b"] as const });

// a result that is an object only sometimes is not named outputs
// @ts-expect-error a stage returns an object of named outputs, but this one returns { a: number } | undefined
stage("maybe", ({ x }: { x: number }) => (x > 0 ? { a: 1 } : undefined));

// outputs names must differ
// @ts-expect-error outputs names an output twice
stage("twice", ({ x }: { x: number }) => [x, x] as const, { outputs: ["a", "a"] as const });
