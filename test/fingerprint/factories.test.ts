/**
 * Stage factories: what each call of the function that makes a stage passes counts for that
 * stage (and only for it), at every level of factories.
 */
import { describe, expect, it } from "vitest";
import { changed, project } from "./project.js";

describe("a stage made by a factory", () => {
  it("build(2) → build(3) changes that stage, naming the call; other stages and other factories' calls do not", async () => {
    const p = project({
      "src/factory.ts": `import { stage } from "memopipe";
export function build(k: number) {
  return stage("scaled", ({ x }: { x: number }) => ({ y: x * k }));
}
export const makeOffset = (d: number) => stage("offset", ({ x }: { x: number }) => ({ y: x + d }));
`,
      "src/p.ts": `import { build, makeOffset as offsetBy } from "./factory.js";
import { stage } from "memopipe";
export const s = build(2);
export const o = offsetBy(10);
export const plain = stage("plain", () => ({ z: 1 }));
`,
    });
    const before = await p.analyse();
    expect(Object.keys(before.stages["scaled"]!.parts).sort()).toEqual(["factory call `build` (src/p.ts)", "helper `build` (src/factory.ts)", "stage function (src/factory.ts)"]);
    p.edit("src/p.ts", "build(2)", "build(3)");
    expect(changed(before, await p.analyse())).toEqual({ scaled: ["factory call `build` (src/p.ts)"] });
    p.edit("src/p.ts", "offsetBy(10)", "offsetBy(11)"); // found through a renamed import
    expect(changed(before, await p.analyse())).toEqual({ scaled: ["factory call `build` (src/p.ts)"], offset: ["factory call `offsetBy` (src/p.ts)"] });
    expect(before.warnings).toEqual([]);
  });

  it("an argument's own code counts (a constant passed in), and every call site, in every file", async () => {
    const p = project({
      "src/factory.ts": `import { stage } from "memopipe";
export function build(k: number) { return stage("scaled", ({ x }: { x: number }) => ({ y: x * k })); }
`,
      "src/a.ts": `import { build } from "./factory.js";\nconst K = 2 + 1;\nexport const a = build(K);\n`,
      "src/b.ts": `import { build } from "./factory.js";\nexport const b = build(7);\n`,
    });
    const before = await p.analyse();
    expect(Object.keys(before.stages["scaled"]!.parts).sort()).toEqual([
      "constant `K` (src/a.ts)",
      "factory call `build` (src/a.ts)",
      "factory call `build` (src/b.ts)",
      "helper `build` (src/factory.ts)",
      "stage function (src/factory.ts)",
    ]);
    p.edit("src/a.ts", "2 + 1", "2 + 2");
    expect(changed(before, await p.analyse())).toEqual({ scaled: ["constant `K` (src/a.ts)"] });
    p.edit("src/b.ts", "build(7)", "build(8)");
    expect(changed(before, await p.analyse())).toEqual({ scaled: ["constant `K` (src/a.ts)", "factory call `build` (src/b.ts)"] });
  });

  it("a factory inside a factory: the outer calls count too; a method and an arrow factory; an IIFE", async () => {
    const p = project({
      "src/p.ts": `import { stage } from "memopipe";
function inner(k: number) { return stage("inner", ({ x }: { x: number }) => ({ y: x * k })); }
function outer(k: number) { return inner(k * 10); }
export const o = outer(2);
class Maker {
  constructor(private readonly base: number) {}
  make(d: number) { return stage("method", ({ x }: { x: number }) => ({ y: x + d + this.base })); }
}
export const m = new Maker(1).make(5);
export const i = ((d: number) => stage("iife", ({ x }: { x: number }) => ({ y: x - d })))(4);
`,
    });
    const before = await p.analyse();
    p.edit("src/p.ts", "outer(2)", "outer(3)");
    expect(changed(before, await p.analyse())).toEqual({ inner: ["factory call `outer` (src/p.ts)"] });
    p.edit("src/p.ts", "make(5)", "make(6)");
    p.edit("src/p.ts", "new Maker(1)", "new Maker(2)");
    p.edit("src/p.ts", "(4)", "(40)");
    expect(changed(before, await p.analyse())).toEqual({
      inner: ["factory call `outer` (src/p.ts)"],
      method: ["factory call `make` (src/p.ts)"],
      // the IIFE's argument is in the declaration that holds it, and in the call
      iife: ["constant `i` (src/p.ts)", "factory call (src/p.ts)"],
    });
  });

  it("stages made in a loop: the loop's data counts", async () => {
    const p = project({
      "src/p.ts": `import { stage } from "memopipe";
export const stages = [1, 2, 3].map((k) => stage("loop", ({ x }: { x: number }) => ({ y: x * k })));
`,
    });
    const before = await p.analyse();
    p.edit("src/p.ts", "[1, 2, 3]", "[1, 2, 4]");
    expect(changed(before, await p.analyse())).toEqual({ loop: ["constant `stages` (src/p.ts)"] });
  });

  it("a factory also used as a value is reported: the arguments it gets there are not fingerprinted", async () => {
    const p = project({
      "src/p.ts": `import { stage } from "memopipe";
export function build(k: number) { return stage("scaled", ({ x }: { x: number }) => ({ y: x * k })); }
export const all = [1, 2].map(build);
`,
    });
    const data = await p.analyse();
    expect(data.warnings).toEqual([
      'src/p.ts:2: `build` makes stage "scaled" but is also used as a value or never called in the project: the arguments it gets there are not fingerprinted',
    ]);
  });
});
