/**
 * `dag()`'s run: where each stage sits in its events (graph id, predecessors), and that the DAG
 * costs a pipe-only program nothing (a bundler drops it).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, stop } from "esbuild";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dag, describe as describeGraph, lastRun, stage, StageRunError } from "../src/index.js";
import { graphFromEvents } from "../src/runtime/report/events-graph.js";
import { tempDir } from "./helpers/temp.js";

afterEach(() => {
  delete process.env.MEMOPIPE_RUN_ID;
});

describe("a DAG run's events", () => {
  function diamond(dir: string) {
    const cache = { dir };
    const a = stage("a", ({ x }: { x: number }) => ({ y: x + 1 }), { cache });
    const b = stage("b", ({ y }: { y: number }) => ({ l: y * 2 }), { cache });
    const c = stage("c", ({ y }: { y: number }) => ({ r: y * 3 }), { cache });
    const d = stage("d", ({ l, r }: { l: number; r: number }) => ({ sum: l + r }), { cache });
    return dag().start(a).edge(a, b).edge(a, c).edge([b, c], d);
  }

  it("carry the run's graph id and each stage's predecessors, on a miss and on a hit", async () => {
    const dir = tempDir("memopipe-dag-");
    const g = diamond(dir);
    process.env.MEMOPIPE_RUN_ID = "first";
    expect(await g.run({ x: 1 })).toEqual({ sum: 10 });
    const first = (await lastRun(dir)).events;
    expect(first.map((e) => [e.stage, e.status, e.predecessors])).toEqual([
      ["a", "ran", []],
      ["b", "ran", ["a"]],
      ["c", "ran", ["a"]],
      ["d", "ran", ["b", "c"]],
    ]);
    const id = first[0]!.graph;
    expect(id).toMatch(/^a#\d{4}-\d\d-\d\dT[\d:.]+Z#\d+$/);
    expect(first.every((e) => e.graph === id)).toBe(true);

    // the same DAG again: every stage a hit, a new run of the graph
    process.env.MEMOPIPE_RUN_ID = "second";
    expect(await g.run({ x: 1 })).toEqual({ sum: 10 });
    const second = (await lastRun(dir)).events;
    expect(second.map((e) => [e.stage, e.status, e.predecessors])).toEqual([
      ["a", "hit", []],
      ["b", "hit", ["a"]],
      ["c", "hit", ["a"]],
      ["d", "hit", ["b", "c"]],
    ]);
    expect(new Set(second.map((e) => e.graph)).size).toBe(1);
    expect(second[0]!.graph).not.toBe(id);

    // what the report draws from them: the DAG's edges
    const drawn = graphFromEvents(second);
    const label = (id: string) => drawn.nodes.find((n) => n.id === id)!.label;
    expect(drawn.edges.map((e) => `${label(e.from)}->${label(e.to)}`).sort()).toEqual(["a->b", "a->c", "b->d", "c->d"]);
  });

  it("name no predecessor that did not run: a failed stage's dependents record nothing", async () => {
    const dir = tempDir("memopipe-dag-");
    const cache = { dir };
    const a = stage("fa", ({ x }: { x: number }) => ({ y: x }), { cache });
    const b = stage("fb", ({ y }: { y: number }): { z: number } => {
      throw new Error(`no ${y}`);
    }, { cache });
    const c = stage("fc", ({ z }: { z: number }) => ({ w: z }), { cache });
    process.env.MEMOPIPE_RUN_ID = "failing";
    await expect(dag().start(a).edge(a, b).edge(b, c).run({ x: 1 })).rejects.toThrow("stage 'fb' failed: no 1");
    const events = (await lastRun(dir)).events;
    expect(events.map((e) => [e.stage, e.status, e.predecessors])).toEqual([
      ["fa", "ran", []],
      ["fb", "failed", ["fa"]],
    ]);
    expect(events[0]!.graph).toBe(events[1]!.graph);
  });
});

describe("the scheduler", () => {
  const tick = () => new Promise<void>((r) => setTimeout(r, 1));

  it("runs independent async stages at the same time", async () => {
    // b cannot finish before c has started, and c not before b has: only concurrent runs end
    let release!: () => void;
    const cStarted = new Promise<void>((r) => (release = r));
    const a = stage("ca", ({ x }: { x: number }) => ({ y: x }));
    const b = stage("cb", async ({ y }: { y: number }) => {
      await Promise.race([cStarted, new Promise((_, no) => setTimeout(() => no(new Error("c never started while b ran")), 2000))]);
      return { l: y };
    });
    const c = stage("cc", async ({ y }: { y: number }) => {
      release();
      await tick();
      return { r: y * 2 };
    });
    const d = stage("cd", ({ l, r }: { l: number; r: number }) => ({ sum: l + r }));
    expect(await dag().start(a).edge(a, b).edge(a, c).edge([b, c], d).run({ x: 5 })).toEqual({ sum: 15 });
  });

  it("does not run the dependents of a failed stage, runs the rest, and reports the failure added first", async () => {
    const ran: string[] = [];
    const mark = <T>(name: string, v: T) => (ran.push(name), v);
    const a = stage("ea", ({ x }: { x: number }) => mark("ea", { y: x }));
    // eb is added before ec but fails later in time: eb's error is the one reported
    const b = stage("eb", async ({ y }: { y: number }): Promise<{ l: number }> => {
      await tick();
      await tick();
      throw new Error(`eb broke on ${y}`);
    });
    const c = stage("ec", ({ y }: { y: number }): { r: number } => {
      throw new RangeError(`ec broke on ${y}`);
    });
    const afterB = stage("eb2", ({ l }: { l: number }) => mark("eb2", { l2: l }));
    const afterC = stage("ec2", ({ r }: { r: number }) => mark("ec2", { r2: r }));
    const both = stage("ebc", ({ l2, r2 }: { l2: number; r2: number }) => mark("ebc", { s: l2 + r2 }));
    const side = stage("eside", async ({ y }: { y: number }) => (await tick(), mark("eside", { side: y })));
    const g = dag().start(a).edge(a, b).edge(a, c).edge(b, afterB).edge(c, afterC).edge([afterB, afterC], both).edge(a, side);
    const err = await g.run({ x: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageRunError);
    expect((err as StageRunError).stage).toBe("eb");
    expect(((err as StageRunError).cause as Error).message).toBe("eb broke on 1");
    expect(ran.sort()).toEqual(["ea", "eside"]); // the independent branch ran; nothing after eb or ec did
  });

  it("runs a chain of 10,000 synchronous stages, and mixes synchronous, async and thenable stages", async () => {
    const n = 10_000;
    const inc = Array.from({ length: n }, (_, i) => stage(`inc${i}`, ({ v }: { v: number }) => ({ v: v + 1 })));
    let g: any = dag().start(inc[0]!);
    for (let i = 1; i < n; i++) g = g.edge(inc[i - 1], inc[i]);
    expect(await g.run({ v: 0 })).toEqual({ v: n });

    const s0 = stage("m0", ({ v }: { v: number }) => ({ a: v + 1 }));
    const s1 = stage("m1", async ({ a }: { a: number }) => ({ b: a * 2 }));
    // a thenable that is not a Promise is adopted, as `await` does
    const s2 = stage("m2", (({ b }: { b: number }) => ({ then: (ok: (v: unknown) => void) => ok({ c: b + 1 }) })) as unknown as (i: { b: number }) => { c: number });
    const s3 = stage("m3", ({ a, c }: { a: number; c: number }) => ({ d: `${a}:${c}` }));
    expect(await dag().start(s0).edge(s0, s1).edge(s1, s2).edge([s0, s2], s3).run({ v: 1 })).toEqual({ d: "2:5" });
  });

  it("gives every stage its own inputs object, and applies fixed inputs last", async () => {
    const a = stage("oa", ({ x }: { x: number }) => ({ y: x, z: 1 }));
    const greedy = stage("ob", (inputs: { y: number; z: number }) => {
      (inputs as { y: number }).y = 100; // a stage that writes into its inputs
      return { w: inputs.y + inputs.z };
    });
    const fixed = stage("oc", ({ y, z }: { y: number; z: number }) => ({ v: y + z }), { fixed: { z: 10 } });
    expect(await dag().start(a).edge(a, greedy).edge(a, fixed).run({ x: 2 })).toEqual({ w: 101, v: 12 });
  });

  it("extends one prefix two ways: each DAG has its own stages", async () => {
    const a = stage("pa", ({ x }: { x: number }) => ({ y: x + 1 }));
    const b = stage("pb", ({ y }: { y: number }) => ({ b: y * 2 }));
    const c = stage("pc", ({ y }: { y: number }) => ({ c: y * 3 }));
    const d = stage("pd", ({ b }: { b: number }) => ({ d: b }));
    const base = dag().start(a);
    const withB = base.edge(a, b);
    const withC = base.edge(a, c); // from the older builder: a copy, not an append into withB
    expect(await withB.run({ x: 1 })).toEqual({ b: 4 });
    expect(await withC.run({ x: 1 })).toEqual({ c: 6 });
    expect(await withB.edge(b, d).run({ x: 1 })).toEqual({ d: 4 });
    expect(() => (withC as any).edge(b, d)).toThrow("stage 'pb' is not in this DAG yet");
    expect(() => (withB as any).edge(a, b)).toThrow("stage 'pb' is in this DAG already");
    expect(() => (withC as any).edge(a, b)).not.toThrow(); // pb is in withB, not in withC
    expect(describeGraph(withC).nodes.map((n) => n.label)).toEqual(["inputs", "pa", "pc", "outputs"]);
    expect(await base.run({ x: 1 })).toEqual({ y: 2 });
  });
});

describe("an esbuild bundle of a program that only builds pipes", () => {
  afterAll(() => stop());
  it("drops the DAG: its class and its describe hooks are not in the bundle", async () => {
    const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
    const esm = path.join(root, "dist", "index.js");
    const only = async (name: string) => {
      const result = await build({
        stdin: { contents: `import { ${name} } from ${JSON.stringify(esm)};\nconsole.log(${name});\n`, resolveDir: root, loader: "js" },
        bundle: true,
        platform: "node",
        format: "esm",
        write: false,
        logLevel: "silent",
      });
      return result.outputFiles[0]!.text;
    };
    // "this DAG has its start stage already" is a message of the DAG class only
    expect(await only("pipe")).not.toContain("this DAG has its start stage already");
    expect(await only("dag")).toContain("this DAG has its start stage already"); // the check can fail
  });
});
