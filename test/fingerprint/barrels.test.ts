/**
 * Barrels: helpers imported through `index.ts` files that re-export (`export *`, `export { a } from`,
 * renamed, nested): the helper counts where it is declared, the barrels are in the stage's files
 * (the runtime's staleness check), and re-pointing a barrel counts.
 */
import { describe, expect, it } from "vitest";
import { changed, project } from "./project.js";

const files = {
  "src/lib/math.ts": `export function double(x: number) { return x * 2; }\nexport function triple(x: number) { return x * 3; }\n`,
  "src/lib/other.ts": `export function double(x: number) { return x + x + 1; }\n`,
  "src/lib/strings.ts": `export const shout = (s: string) => s.toUpperCase();\n`,
  "src/lib/index.ts": `export * from "./math.js";\nexport { shout as loud } from "./strings.js";\n`,
  "src/index.ts": `export * from "./lib/index.js";\n`,
  "src/p.ts": `import { stage } from "memopipe";
import { double, loud } from "./index.js";
import * as lib from "./lib/index.js";
export const a = stage("a", ({ x }: { x: number }) => ({ y: double(x) }));
export const b = stage("b", ({ s }: { s: string }) => ({ t: loud(s) }));
export const c = stage("c", ({ x }: { x: number }) => ({ y: lib.triple(x) }));
`,
};

describe("helpers through barrels", () => {
  it("each stage counts the helper it reaches through two levels of `export *` and a renamed re-export, nothing else", async () => {
    const p = project(files);
    const before = await p.analyse();
    expect(Object.keys(before.stages["a"]!.parts).sort()).toEqual(["helper `double` (src/lib/math.ts)", "stage function (src/p.ts)"]);
    expect(Object.keys(before.stages["b"]!.parts).sort()).toEqual(["helper `shout` (src/lib/strings.ts)", "stage function (src/p.ts)"]);
    expect(Object.keys(before.stages["c"]!.parts).sort()).toEqual(["helper `triple` (src/lib/math.ts)", "stage function (src/p.ts)"]);
    // the barrels a name goes through are in the files the runtime checks
    expect(Object.keys(before.stages["a"]!.files).sort()).toEqual(["src/index.ts", "src/lib/index.ts", "src/lib/math.ts", "src/lib/strings.ts", "src/p.ts"]);
    p.edit("src/lib/math.ts", "x * 2", "x * 4");
    expect(changed(before, await p.analyse())).toEqual({ a: ["helper `double` (src/lib/math.ts)"] });
    p.edit("src/lib/strings.ts", "toUpperCase()", "toLocaleUpperCase()");
    expect(changed(before, await p.analyse())).toEqual({ a: ["helper `double` (src/lib/math.ts)"], b: ["helper `shout` (src/lib/strings.ts)"] });
  });

  it("re-pointing a barrel to another module counts: the stage now uses other code", async () => {
    const p = project(files);
    const before = await p.analyse();
    p.write("src/lib/index.ts", `export { triple } from "./math.js";\nexport { double } from "./other.js";\nexport { shout as loud } from "./strings.js";\n`);
    expect(changed(before, await p.analyse())).toEqual({ a: ["helper `double` (src/lib/math.ts)", "helper `double` (src/lib/other.ts)"] });
  });

  it("a barrel's own top-level code counts only when it changes state the stage uses", async () => {
    const p = project({ ...files, "src/lib/index.ts": `${files["src/lib/index.ts"]}console.log("lib loaded");\n` });
    const before = await p.analyse();
    p.edit("src/lib/index.ts", `"lib loaded"`, `"lib loaded!"`);
    expect(changed(before, await p.analyse())).toEqual({});
  });
});
