/**
 * describe(): the graph of pipes (steps, store slots, ingests with their parameter, forks, merges,
 * sub-pipelines as clusters, stages as steps) and DAGs (stages, flows, fan-ins, inputs, outputs).
 */
import { describe as suite, expect, it } from "vitest";
import { dag, describe, flatten, fork, identity, memorizable, merge, MemopipeError, pipe, stage, to, type PipelineGraph } from "../../src/index.js";
import { parameterNames, returnedKeys } from "../../src/runtime/graph/function-source.js";

const ids = (g: PipelineGraph) => g.nodes.map((n) => n.id);
const edge = (g: PipelineGraph, from: string, to: string) => g.edges.filter((e) => e.from === from && e.to === to);

function double(x: number) {
  return x * 2;
}
function label(n: number, d: number) {
  return `${n}:${d}`;
}

suite("describe(pipe)", () => {
  it("draws steps in order, named after their functions, between the input and the output", () => {
    const g = describe(pipe<number>().step(double).step((x) => String(x)));
    expect(g).toMatchObject({ schemaVersion: 1, kind: "pipe", clusters: [] });
    expect(g.nodes).toEqual([
      { id: "input", kind: "input", label: "input" },
      { id: "s1", kind: "step", label: "double", position: 1, function: "double" },
      { id: "s2", kind: "step", label: "step 2", position: 2 },
      { id: "output", kind: "output", label: "output" },
    ]);
    expect(g.edges.map((e) => `${e.from}>${e.to}:${e.kind}`)).toEqual(["input>s1:flow", "s1>s2:flow", "s2>output:flow"]);
  });

  it("gives the same graph for a builder and its built pipeline, and the same ids every time", () => {
    const p = pipe<number>().step(double).store("d").step(label).ingestAfter("d");
    expect(describe(p.build())).toEqual(describe(p));
    expect(JSON.stringify(describe(p))).toBe(JSON.stringify(describe(pipe<number>().step(double).store("d").step(label).ingestAfter("d"))));
  });

  it("draws a store slot fed by the value so far, and each ingest labelled with its side and the parameter it fills", () => {
    const g = describe(
      pipe<number>()
        .store("input")
        .step(double)
        .store("doubled")
        .step((x) => String(x))
        .step((s: string, d: number) => `${s}${d}`)
        .ingestAfter("doubled")
        .step((a: number, b: number, s: string, c: number) => `${a}${b}${s}${c}`)
        .ingestBefore("input")
        .ingestBefore("doubled")
        .ingestAfter("input"),
    );
    expect(g.nodes.filter((n) => n.kind === "store")).toEqual([
      { id: "store:input", kind: "store", label: "input", key: "input" },
      { id: "store:doubled", kind: "store", label: "doubled", key: "doubled" },
    ]);
    expect(edge(g, "input", "store:input")).toEqual([{ from: "input", to: "store:input", kind: "store", label: "store" }]);
    expect(edge(g, "s1", "store:doubled")[0]!.kind).toBe("store");
    expect(edge(g, "store:doubled", "s3")).toEqual([
      { from: "store:doubled", to: "s3", kind: "ingest", label: "after: parameter 2 (d)", key: "doubled", side: "after", parameter: 2, parameterName: "d" },
    ]);
    // g(input, doubled, current, input): before, before, (current), after
    const into4 = g.edges.filter((e) => e.to === "s4" && e.kind === "ingest").map((e) => [e.key, e.side, e.parameter, e.parameterName]);
    expect(into4).toEqual([
      ["input", "before", 1, "a"],
      ["doubled", "before", 2, "b"],
      ["input", "after", 4, "c"],
    ]);
  });

  it("draws a fork's branches, the tuple element each makes, and the merge that takes them", () => {
    const g = describe(
      pipe<number>()
        .fork(double, (x) => x + 1)
        .merge(function add(a: number, b: number) {
          return a + b;
        }),
    );
    expect(ids(g)).toEqual(["input", "s1", "s1/b1", "s1/b2", "s2", "output"]);
    expect(g.nodes[1]).toMatchObject({ kind: "fork", label: "fork", position: 1 });
    expect(g.nodes[3]).toMatchObject({ kind: "step", label: "branch 2" });
    expect(g.nodes[4]).toMatchObject({ kind: "merge", label: "merge(add)", function: "add" });
    expect(edge(g, "s1/b1", "s2")).toEqual([{ from: "s1/b1", to: "s2", kind: "flow", label: "[0]", index: [0] }]);
    expect(edge(g, "s1/b2", "s2")[0]!.index).toEqual([1]);
  });

  it("draws the free combinators used as steps: fork(...), merge(h), to(C), flatten", () => {
    class Sum {
      constructor(readonly total: number) {}
    }
    const g = describe(
      pipe<number>()
        .step(fork(double, (x: number) => x + 1))
        .step(merge((a: number, b: number) => [a + b] as const))
        .step(to(Sum)),
    );
    expect(g.nodes.map((n) => `${n.id}:${n.kind}:${n.label}`)).toEqual([
      "input:input:input",
      "s1:fork:fork",
      "s1/b1:step:double",
      "s1/b2:step:branch 2",
      "s2:merge:merge",
      "s3:to:to(Sum)",
      "output:output:output",
    ]);
    expect(describe(pipe<[[number, number], number]>().step(flatten)).nodes[1]).toMatchObject({ kind: "flatten" });
  });

  it("draws nested forks, identity, flatten and to(), with nested tuple indices", () => {
    class Pair {
      constructor(
        readonly a: number,
        readonly b: string,
      ) {}
    }
    const g = describe(pipe<number>().fork(identity, fork(double, (x: number) => String(x))).flatten().step((t) => [t[0], t[2]] as const).to(Pair));
    expect(ids(g)).toEqual(["input", "s1", "s1/b1", "s1/b2", "s1/b2/b1", "s1/b2/b2", "s2", "s3", "s4", "output"]);
    expect(g.nodes.find((n) => n.id === "s1/b1")).toMatchObject({ label: "identity", function: "identity" });
    expect(g.nodes.find((n) => n.id === "s2")).toMatchObject({ kind: "flatten", label: "flatten()" });
    expect(g.nodes.find((n) => n.id === "s4")).toMatchObject({ kind: "to", label: "to(Pair)" });
    expect(g.edges.filter((e) => e.to === "s2").map((e) => e.label)).toEqual(["[0]", "[1][0]", "[1][1]"]);
  });

  it("draws a sub-pipeline as a cluster with its own memory, nested clusters inside it, and memorizable steps as their function", () => {
    const inner = pipe<number>().store("k").step(double).step((x: number, k: number) => x + k).ingestAfter("k").build();
    const middle = pipe<number>().step(inner).fork(inner, identity).merge((a: number, b: number) => a + b).build();
    const g = describe(pipe<number>().store("k").step(memorizable(middle, { allowIngest: false })).step(label).ingestAfter("k"));
    expect(g.clusters).toEqual([
      { id: "s1", label: "sub-pipeline (step 1)" },
      { id: "s1/s1", label: "sub-pipeline (step 1)", parent: "s1" },
      { id: "s1/s2/b1", label: "sub-pipeline (branch 1)", parent: "s1" },
    ]);
    expect(g.nodes.filter((n) => n.kind === "store").map((n) => [n.id, n.cluster])).toEqual([
      ["store:k", undefined],
      ["s1/s1/store:k", "s1/s1"],
      ["s1/s2/b1/store:k", "s1/s2/b1"],
    ]);
    // the outer ingest reads the outer slot, the inner ones their own
    expect(g.edges.filter((e) => e.kind === "ingest").map((e) => `${e.from}>${e.to}`)).toEqual(["s1/s1/store:k>s1/s1/s2", "s1/s2/b1/store:k>s1/s2/b1/s2", "store:k>s2"]);
    expect(edge(g, "input", "s1/s1/store:k")).toHaveLength(1); // the cluster's first operation receives the value
    expect(edge(g, "s1/s3", "s2")).toHaveLength(1);
  });

  it("draws a stage used as a step with its cache and names", () => {
    const s = stage("square", ({ n }: { n: number }) => ({ sq: n * n }), { cache: { dir: "cache-here" } });
    const g = describe(pipe<number>().step((n) => ({ n })).step(s));
    expect(g.nodes[2]).toMatchObject({
      id: "s2",
      kind: "stage",
      label: "square",
      stage: { name: "square", cached: true, cacheDir: "cache-here", inputs: ["n"], outputs: ["sq"], fixed: [] },
    });
  });

  it("refuses a function of its own with a MemopipeError naming it", () => {
    expect(() => describe(double)).toThrow(MemopipeError);
    expect(() => describe(double)).toThrow(/a function of your own \(double\)/);
    expect(() => describe(42)).toThrow(/got number/);
  });
});

suite("describe(dag)", () => {
  const load = stage("load", ({ path }: { path: string }) => ({ rows: [path.length] }));
  const clean = stage("clean", ({ rows }: { rows: number[] }) => ({ cleaned: rows }), { cache: true });
  const stats = stage("stats", ({ rows }: { rows: number[] }) => ({ mean: rows[0]!, rows }), { fixed: {} });
  const report = stage("report", ({ cleaned, mean, rows, title }: { cleaned: number[]; mean: number; rows: number[]; title: string }) => {
    const text = `${title}: ${mean} ${cleaned.length} ${rows.length}`;
    return { text };
  });
  const g = dag<{ title: string }>().start(load).edge(load, clean).edge(load, stats).edge([clean, stats], report);

  it("draws the inputs, every stage, the flows labelled with the names they carry, fan-ins and the outputs", () => {
    const d = g.describe();
    expect(d.kind).toBe("dag");
    expect(ids(d)).toEqual(["input", "stage:load", "stage:clean", "stage:stats", "stage:report", "output"]);
    expect(d.nodes[0]).toEqual({ id: "input", kind: "input", label: "inputs", names: ["path", "title"] });
    expect(d.nodes[2]!.stage).toEqual({ name: "clean", cached: true, cacheDir: ".memopipe", inputs: ["rows"], outputs: ["cleaned"], fixed: [] });
    expect(d.nodes[4]).toMatchObject({ fanIn: true, stage: { outputs: ["text"] } });
    expect(d.edges.map((e) => `${e.from}>${e.to}:${e.label ?? ""}`)).toEqual([
      "input>stage:load:path",
      "stage:load>stage:clean:rows",
      "stage:load>stage:stats:rows",
      // rows comes from both: the right-most predecessor (stats) wins, as at run time
      "stage:clean>stage:report:cleaned",
      "stage:stats>stage:report:mean, rows",
      "input>stage:report:title",
      "stage:report>output:text",
    ]);
    expect(describe(g)).toEqual(d);
  });

  it("draws stages whose sources do not show their names, without labels", () => {
    const opaque = stage("opaque", (inputs: { a: number }) => Object.fromEntries([["b", inputs.a]]) as { b: number });
    const next = stage("next", (i: { b: number }) => ({ c: i.b }));
    const d = dag().start(opaque).edge(opaque, next).describe();
    expect(d.nodes[0]).toEqual({ id: "input", kind: "input", label: "inputs" });
    expect(d.edges).toEqual([
      { from: "input", to: "stage:opaque", kind: "input" },
      { from: "stage:opaque", to: "stage:next", kind: "flow" },
      { from: "stage:next", to: "output", kind: "output", label: "c", names: ["c"] },
    ]);
  });

  it("keeps ids apart for stages that share a name", () => {
    const a = stage("same", ({ x }: { x: number }) => ({ y: x }));
    const b = stage("same", ({ y }: { y: number }) => ({ z: y }));
    // (the types refuse a second stage of the same name; plain JavaScript may still build one)
    expect(ids((dag().start(a) as unknown as { edge(f: unknown, t: unknown): { describe(): PipelineGraph } }).edge(a, b).describe())).toEqual(["input", "stage:same", "stage:same#2", "output"]);
  });
});

suite("function sources", () => {
  it("reads parameter names, undefined where destructured", () => {
    expect(parameterNames((s: string, d: number) => s + d)).toEqual(["s", "d"]);
    expect(parameterNames(async (x: number) => x)).toEqual(["x"]);
    expect(parameterNames(function named(a: number, { b }: { b: number }, ...rest: number[]) {
      return a + b + rest.length;
    })).toEqual(["a", undefined, "rest"]);
    expect(parameterNames((a = "x,)", b = [1, 2]) => a + b)).toEqual(["a", "b"]);
  });

  it("reads the keys of a returned object literal, undefined where they cannot be read plainly", () => {
    expect(returnedKeys(({ x }: { x: number }) => ({ doubled: x * 2, x, "quoted key": `}${x}{` }))).toEqual(["doubled", "x", "quoted key"]);
    expect(returnedKeys(function f(n: number) {
      if (n > 1) {
        return { inner: 1 }; // not at the top level of the body
      }
      const g = () => ({ nested: 2 });
      return { a: g(), b: { deep: 1 } };
    })).toEqual(["a", "b"]);
    expect(returnedKeys(async ({ p }: { p: string }) => ({ out: await Promise.resolve(p) }))).toEqual(["out"]);
    expect(returnedKeys((x: number) => x)).toBeUndefined();
    expect(returnedKeys((o: object) => ({ ...o, a: 1 }))).toBeUndefined();
    expect(returnedKeys((k: string) => ({ [k]: 1 }))).toBeUndefined();
    expect(returnedKeys(Math.max)).toBeUndefined();
  });
});
