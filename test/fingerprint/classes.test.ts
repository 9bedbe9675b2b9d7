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
export const viaArray = stage("via-array", ({ models }: { models: Model[] }) => ({ ys: models.map((m) => m.predict(1)) }));
export const viaPromise = stage("via-promise", async ({ load }: { load: () => Promise<Model> }) => ({ y: (await load()).predict(1) }));
`,
};

describe("classes", () => {
  it("a method edit (a private one, a base class's) re-runs the stages that use the class, naming it", async () => {
    const p = project(files);
    const before = await p.analyse();
    expect(Object.keys(before.stages["via-instance"]!.parts).sort()).toEqual(["class `Base` (src/model.ts)", "class `Model` (src/model.ts)", "stage function (src/p.ts)"]);
    // reached only through the default library's types (an array's element, an awaited Promise)
    for (const name of ["via-array", "via-promise"]) expect(before.stages[name]!.parts, name).toHaveProperty(["class `Model` (src/model.ts)"]);
    p.edit("src/model.ts", "Math.round(x)", "Math.floor(x)");
    const m = ["class `Model` (src/model.ts)"];
    const all = { "via-new": m, "via-static": m, "via-instance": m, "via-array": m, "via-promise": m };
    expect(changed(before, await p.analyse())).toEqual(all);
    const mid = await p.analyse();
    p.edit("src/model.ts", "x * 10", "x * 100");
    const b = ["class `Base` (src/model.ts)"];
    expect(changed(mid, await p.analyse())).toEqual({ "via-new": b, "via-static": b, "via-instance": b, "via-array": b, "via-promise": b });
  });

  it("another class in the same file, a static field assigned elsewhere only where the stage loads it", async () => {
    const p = project(files);
    const before = await p.analyse();
    p.edit("src/model.ts", `return "go"`, `return "went"`);
    expect(changed(before, await p.analyse())).toEqual({});
    // a top-level statement that changes the class's state counts for the stages using it
    p.edit("src/p.ts", `export const none`, `Model.defaultBias = 3;\nexport const none`);
    const after = await p.analyse();
    const ms = ["module statements (src/p.ts)"];
    expect(changed(before, after)).toEqual({ "via-new": ms, "via-static": ms, "via-instance": ms, "via-array": ms, "via-promise": ms });
  });
});
