/**
 * A script that defines its stages and runs them: its other top-level code (logging, a sweep, the
 * DAG run) is not the stages' code; a top-level statement that changes state a stage reads is.
 */
import { describe, expect, it } from "vitest";
import { changed, project } from "./project.js";

const script = `import { stage, dag, task, Runner, grid } from "memopipe";
import { scaleBy } from "./helpers.js";

const registry: number[] = [];
let offset = 1;
const factor = 3;

const load = stage("load", ({ n }: { n: number }) => ({ xs: Array.from({ length: n }, (_, i) => i + offset) }));
const scale = stage("scale", ({ xs }: { xs: number[] }) => ({ ys: scaleBy(xs, factor) }));
const count = stage("count", ({ ys }: { ys: number[] }) => ({ total: ys.length + registry.length }));

export const sweepTask = task("sweep", ({ lr }: { lr: number }) => ({ loss: lr * 2 }));

console.log("starting the pipeline");
registry.push(1);
const out = await dag().start(load).edge(load, scale).edge(scale, count).run({ n: 3 });
console.log("result", out);
await new Runner().run(grid({ lr: [0.1, 0.2] }), sweepTask);
console.log(\`done in \${process.uptime()} s\`);
`;

const helpers = `export function scaleBy(xs: number[], k: number) { return xs.map((x) => x * k); }
export function unused() { return "unused"; }
`;

describe("a script that defines and runs its stages", () => {
  it("a console.log text, the DAG run, a sweep task and its run do not count; no warning", async () => {
    const p = project({ "src/run.ts": script, "src/helpers.ts": helpers });
    const before = await p.analyse();
    expect(Object.keys(before.stages).sort()).toEqual(["count", "load", "scale"]);
    expect(Object.keys(before.stages["scale"]!.parts).sort()).toEqual(["constant `factor` (src/run.ts)", "helper `scaleBy` (src/helpers.ts)", "stage function (src/run.ts)"]);
    p.edit("src/run.ts", `console.log("starting the pipeline")`, `console.log("starting the pipeline, now with another text")`);
    p.edit("src/run.ts", `console.log("result", out)`, `console.log("the result:", JSON.stringify(out))`);
    p.edit("src/run.ts", "lr * 2", "lr * 3"); // the sweep task's own code
    p.edit("src/run.ts", "grid({ lr: [0.1, 0.2] })", "grid({ lr: [0.1, 0.2, 0.3] })"); // what the sweep runs over
    p.edit("src/run.ts", ".run({ n: 3 })", ".run({ n: 4 })"); // the DAG's inputs (they are in the key, not the code)
    p.edit("src/helpers.ts", `"unused"`, `"still unused"`);
    expect(changed(before, await p.analyse())).toEqual({});
  });

  it("a top-level statement that changes state a stage reads counts for that stage only", async () => {
    const p = project({ "src/run.ts": script, "src/helpers.ts": helpers });
    const before = await p.analyse();
    expect(Object.keys(before.stages["count"]!.parts).sort()).toEqual(["constant `registry` (src/run.ts)", "module statements (src/run.ts)", "stage function (src/run.ts)"]);
    p.edit("src/run.ts", "registry.push(1);", "registry.push(1, 2);");
    expect(changed(before, await p.analyse())).toEqual({ count: ["module statements (src/run.ts)"] });
  });

  it("an assignment to a module variable counts for the stages that read it, with the variable", async () => {
    const p = project({ "src/run.ts": script.replace(`console.log("starting the pipeline");`, `console.log("starting the pipeline");\noffset = 2;`), "src/helpers.ts": helpers });
    const before = await p.analyse();
    p.edit("src/run.ts", "offset = 2;", "offset = 5;");
    expect(changed(before, await p.analyse())).toEqual({ load: ["module statements (src/run.ts)"] });
    p.edit("src/run.ts", "let offset = 1;", "let offset = 0;");
    expect(changed(before, await p.analyse())).toEqual({ load: ["module statements (src/run.ts)", "variable `offset` (src/run.ts)"] });
  });

  it("a statement that writes global state counts for every stage of the modules it runs in, also through a function it calls", async () => {
    const p = project({
      "src/run.ts": script,
      "src/helpers.ts": `${helpers}function setup() { (globalThis as any).precision = 3; }\nsetup();\n`,
    });
    const before = await p.analyse();
    p.edit("src/helpers.ts", "precision = 3", "precision = 4");
    // only `scale` loads helpers.ts
    expect(changed(before, await p.analyse())).toEqual({ scale: ["helper `setup` (src/helpers.ts)"] });
    p.edit("src/helpers.ts", "setup();", "setup();\nsetup();");
    expect(changed(before, await p.analyse())).toEqual({ scale: ["helper `setup` (src/helpers.ts)", "module statements (src/helpers.ts)"] });
  });

  it("a side-effect import counts, and so does what the imported module does to global state", async () => {
    const p = project({
      "src/setup.ts": `(globalThis as any).mode = "fast";\nconsole.log("setup loaded");\n`,
      "src/p.ts": `import "./setup.js";\nimport { stage } from "memopipe";\nexport const a = stage("a", () => ({ m: (globalThis as any).mode }));\n`,
    });
    const before = await p.analyse();
    expect(Object.keys(before.stages["a"]!.parts).sort()).toEqual(["module statements (src/p.ts)", "module statements (src/setup.ts)", "stage function (src/p.ts)"]);
    p.edit("src/setup.ts", `"setup loaded"`, `"setup loaded!"`);
    expect(changed(before, await p.analyse())).toEqual({});
    p.edit("src/setup.ts", `"fast"`, `"slow"`);
    expect(changed(before, await p.analyse())).toEqual({ a: ["module statements (src/setup.ts)"] });
  });

  it("another stage in the same module is not part of a stage's code", async () => {
    const p = project({ "src/run.ts": script, "src/helpers.ts": helpers });
    const before = await p.analyse();
    p.edit("src/run.ts", "ys.length + registry.length", "ys.length + registry.length + 1");
    expect(changed(before, await p.analyse())).toEqual({ count: ["stage function (src/run.ts)"] });
  });
});
