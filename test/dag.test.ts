/**
 * `dag()`'s run: where each stage sits in its events (graph id, predecessors), and that the DAG
 * costs a pipe-only program nothing (a bundler drops it).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, stop } from "esbuild";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dag, lastRun, stage } from "../src/index.js";
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
