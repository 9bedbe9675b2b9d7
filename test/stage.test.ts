import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dag, file, pipe, stage, StageOutputError, StageRunError, type FileRef } from "../src/index.js";
import { tempDir } from "./helpers/temp.js";

describe("stage", () => {
  it("runs with named inputs and outputs; fixed inputs are bound and win", async () => {
    const calls: unknown[] = [];
    const register = stage(
      "register",
      ({ img, ref }: { img: string; ref: string }) => {
        calls.push({ img, ref });
        return { out: `${img}@${ref}` };
      },
      { fixed: { ref: "mni152" } },
    );
    expect(await register.run({ img: "a.nii" })).toEqual({ out: "a.nii@mni152" });
    // plain JS trying to override a fixed input: the fixed value is used
    expect(await (register as unknown as (x: object) => Promise<unknown>)({ img: "b.nii", ref: "other" })).toEqual({ out: "b.nii@mni152" });
    expect(register.stageName).toBe("register");
  });

  it("never carries inputs from one run to the next (memori's stage_input_args leaked)", async () => {
    const seen: unknown[] = [];
    const s = stage("s", (inputs: { a?: number; b?: number }) => {
      seen.push({ ...inputs });
      return { ok: true };
    });
    await s.run({ a: 1, b: 2 });
    await s.run({ a: 5 });
    expect(seen).toEqual([{ a: 1, b: 2 }, { a: 5 }]);
  });

  it("names a tuple result with outputs, and refuses a wrong shape at run time", async () => {
    const split = stage("split", ({ s }: { s: string }) => [s.length, s.toUpperCase()] as const, { outputs: ["n", "upper"] as const });
    expect(await split.run({ s: "ab" })).toEqual({ n: 2, upper: "AB" });
    const bad = stage("bad", ((() => 42) as unknown) as (i: { x: number }) => { y: number });
    await expect(bad.run({ x: 1 })).rejects.toThrow(StageOutputError);
    await expect(bad.run({ x: 1 })).rejects.toThrow("stage 'bad' must return an object of named outputs, got number");
    const short = stage("short", ((() => [1]) as unknown) as (i: { x: number }) => readonly [number, number], { outputs: ["a", "b"] as const });
    await expect(short.run({ x: 1 })).rejects.toThrow("stage 'short' names 2 outputs (a, b) but returned 1 values");
  });

  it("refuses outputs that name an output twice (plain JavaScript)", () => {
    expect(() => (stage as (...a: unknown[]) => unknown)("twice", () => [1, 2], { outputs: ["a", "a"] })).toThrow("stage 'twice': outputs names an output twice (a, a)");
  });

  it("returns a copy: the caller's object is not shared with the stage's result", async () => {
    const kept = { list: [1] };
    const s = stage("copy", () => kept);
    const out = await s.run({});
    expect(out).toEqual(kept);
    expect(out).not.toBe(kept);
  });

  it("is a pipe step", async () => {
    const s = stage("double", ({ n }: { n: number }) => ({ doubled: n * 2 }));
    const run = pipe<{ n: number }>().step(s).step((o) => o.doubled + 1).build();
    await expect(run({ n: 20 })).resolves.toBe(41);
  });

  it("file(path) makes a FileRef", () => {
    const ref: FileRef = file("a.txt");
    expect(ref.path).toBe("a.txt");
    expect(() => file("")).toThrow();
  });
});

describe("dag", () => {
  it("runs in dependency order with fan-in (right-most wins) and returns the terminal outputs", async () => {
    const order: string[] = [];
    const s0 = stage("s0", ({ subject }: { subject: string }) => (order.push("s0"), { raw: subject.length, clash: "s0" }));
    const s1 = stage("s1", async ({ raw }: { raw: number }) => {
      await new Promise((r) => setTimeout(r, 20));
      order.push("s1");
      return { a: raw * 2, clash: "s1" };
    });
    const s2 = stage("s2", ({ raw }: { raw: number }) => (order.push("s2"), { b: `${raw}`, clash: "s2" }));
    const s3 = stage("s3", ({ a, b, clash, subject }: { a: number; b: string; clash: string; subject: string }) => {
      order.push("s3");
      return { report: `${subject}:${a}:${b}:${clash}` };
    });
    const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
    const out = await g.run({ subject: "sub-01" });
    expect(out).toEqual({ report: "sub-01:12:6:s2" }); // s2 is right-most in [s1, s2]
    expect(order[0]).toBe("s0");
    expect(order.at(-1)).toBe("s3");
    // s1 and s2 are independent: s2 finished while s1 was still waiting (not list order)
    expect(order.indexOf("s2")).toBeLessThan(order.indexOf("s1"));
  });

  it("merges several terminal stages in the order they were added", async () => {
    const s0 = stage("t0", ({ x }: { x: number }) => ({ x1: x + 1 }));
    const a = stage("ta", ({ x1 }: { x1: number }) => ({ fromA: x1, shared: "a" }));
    const b = stage("tb", ({ x1 }: { x1: number }) => ({ fromB: x1 * 10, shared: "b" }));
    const out = await dag().start(s0).edge(s0, a).edge(s0, b).run({ x: 1 });
    expect(out).toEqual({ fromA: 2, fromB: 20, shared: "b" });
  });

  it("gives each stage only the inputs it destructures", async () => {
    const seen: string[][] = [];
    const s0 = stage("p0", ({ x }: { x: number; unrelated?: string }) => ({ y: x }));
    const s1 = stage("p1", (inputs: { y: number }) => (seen.push(Object.keys(inputs).sort()), { z: inputs.y }));
    const s2 = stage("p2", ({ y }: { y: number }) => ({ w: y }));
    const spy = stage("p3", ({ z, w }: { z: number; w: number }) => {
      seen.push(["z", "w"]);
      return { total: z + w };
    });
    await dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], spy).run({ x: 3 });
    // p1 does not destructure: it receives everything available (the DAG inputs and y)
    expect(seen[0]).toEqual(["x", "y"]);
  });

  it("reads destructured input names through comments, and gives everything when it cannot read them", async () => {
    const s0 = stage("c0", ({ n }: { n: number }) => ({ a: n, c: n * 3, "my-key": 5 }));
    const commented = stage("c1", new Function("return ({\n  a, // first input\n  /* and */ c,\n}) => ({ sum: a + c })")() as (i: { a: number; c: number }) => { sum: number });
    expect(await dag().start(s0).edge(s0, commented).run({ n: 1 })).toEqual({ sum: 4 });
    const quoted = stage("c2", new Function("return ({ 'my-key': k }) => ({ k })")() as (i: { "my-key": number }) => { k: number });
    expect(await dag().start(s0).edge(s0, quoted).run({ n: 1 })).toEqual({ k: 5 });
  });

  it("reports a failing stage by name, with its cause", async () => {
    const s0 = stage("ok", ({ x }: { x: number }) => ({ y: x }));
    const boom = new Error("disk full");
    const s1 = stage("writer", (): { done: boolean } => {
      throw boom;
    });
    const err = await dag().start(s0).edge(s0, s1).run({ x: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageRunError);
    expect((err as StageRunError).stage).toBe("writer");
    expect((err as StageRunError).cause).toBe(boom);
  });

  it("refuses edges that the types refuse, for untyped callers", () => {
    const s0 = stage("u0", ({ x }: { x: number }) => ({ y: x }));
    const s1 = stage("u1", ({ y }: { y: number }) => ({ z: y }));
    const loose = dag() as any;
    expect(() => loose.edge(s0, s1)).toThrow("call .start(stage) before .edge(...)");
    expect(() => loose.start(s0).edge(s1, s0)).toThrow("stage 'u1' is not in this DAG yet");
    expect(() => loose.start(s0).edge(s0, s1).edge(s0, s1)).toThrow("stage 'u1' is in this DAG already");
  });
});

export const tmp = () => tempDir("memopipe-stage-");
export { readFileSync, writeFileSync };
