/**
 * Classes: a class the stage uses counts whole (its methods, fields, static members, base class),
 * whether reached by `new`, a static call, or a method call on an instance it is given; another
 * class in the same file does not.
 */
import { describe, expect, it } from "vitest";
import { changed, project } from "./project.js";

const files = {
  "src/model.ts": `export class Base { scale(x: number) { return x * 10; } }
export class Model extends Base {
  static defaultBias = 1;
  constructor(private readonly bias = Model.defaultBias) { super(); }
  predict(x: number) { return this.scale(x) + this.bias + this.#round(x); }
  #round(x: number) { return Math.round(x); }
  static fromJson(s: string) { return new Model(JSON.parse(s).bias); }
}
export class Unrelated { go() { return "go"; } }
`,
  "src/p.ts": `import { stage } from "memopipe";
import { Model } from "./model.js";
export const viaNew = stage("via-new", ({ x }: { x: number }) => ({ y: new Model(2).predict(x) }));
export const viaStatic = stage("via-static", ({ s }: { s: string }) => ({ m: Model.fromJson(s) }));
export const viaInstance = stage("via-instance", ({ model, x }: { model: Model; x: number }) => ({ y: model.predict(x) }));
export const none = stage("none", ({ x }: { x: number }) => ({ y: x }));
`,
};

describe("classes", () => {
  it("a method edit (a private one, a base class's) re-runs the stages that use the class, naming it", async () => {
    const p = project(files);
    const before = await p.analyse();
    expect(Object.keys(before.stages["via-instance"]!.parts).sort()).toEqual(["class `Base` (src/model.ts)", "class `Model` (src/model.ts)", "stage function (src/p.ts)"]);
    p.edit("src/model.ts", "Math.round(x)", "Math.floor(x)");
    const all = { "via-new": ["class `Model` (src/model.ts)"], "via-static": ["class `Model` (src/model.ts)"], "via-instance": ["class `Model` (src/model.ts)"] };
    expect(changed(before, await p.analyse())).toEqual(all);
    const mid = await p.analyse();
    p.edit("src/model.ts", "x * 10", "x * 100");
    expect(changed(mid, await p.analyse())).toEqual({ "via-new": ["class `Base` (src/model.ts)"], "via-static": ["class `Base` (src/model.ts)"], "via-instance": ["class `Base` (src/model.ts)"] });
  });

  it("another class in the same file, a static field assigned elsewhere only where the stage loads it", async () => {
    const p = project(files);
    const before = await p.analyse();
    p.edit("src/model.ts", `return "go"`, `return "went"`);
    expect(changed(before, await p.analyse())).toEqual({});
    // a top-level statement that changes the class's state counts for the stages using it
    p.edit("src/p.ts", `export const none`, `Model.defaultBias = 3;\nexport const none`);
    const after = await p.analyse();
    expect(changed(before, after)).toEqual({
      "via-new": ["module statements (src/p.ts)"],
      "via-static": ["module statements (src/p.ts)"],
      "via-instance": ["module statements (src/p.ts)"],
    });
  });
});
