/**
 * Closures: a stage function that reads variables of the function around it, or module state
 * that a helper fills, counts that code.
 */
import { describe, expect, it } from "vitest";
import { changed, project } from "./project.js";

describe("closures", () => {
  it("a captured local of the enclosing function, and a module `let` a helper sets, count", async () => {
    const p = project({
      "src/state.ts": `export let threshold = 5;\nexport function configure(t: number) { threshold = t; }\nexport const cache = new Map<string, number>();\n`,
      "src/p.ts": `import { stage } from "memopipe";
import { threshold, configure, cache } from "./state.js";
configure(7);
cache.set("k", 1);
console.log("configured");
function makeAll() {
  const limit = 3 * 2;
  const small = stage("small", ({ xs }: { xs: number[] }) => ({ ys: xs.filter((x) => x < limit) }));
  const big = stage("big", ({ xs }: { xs: number[] }) => ({ ys: xs.filter((x) => x > threshold) }));
  const cached = stage("cached", ({ k }: { k: string }) => ({ v: cache.get(k) }));
  return { small, big, cached };
}
export const stages = makeAll();
`,
    });
    const before = await p.analyse();
    p.edit("src/p.ts", "3 * 2", "3 * 3");
    // a captured local is code of the enclosing function: the stage that reads it counts that
    // function; the two others made there read nothing of it (and are not its callers' business)
    expect(changed(before, await p.analyse())).toEqual({ small: ["helper `makeAll` (src/p.ts)"] });
    const mid = await p.analyse();
    p.edit("src/p.ts", "configure(7)", "configure(8)");
    // `big` reads `threshold`; `small` counts all of `makeAll` (it reads a local of it), which
    // reads `threshold` too: a function is one unit, so this is where precision stops
    expect(changed(mid, await p.analyse())).toEqual({ big: ["module statements (src/p.ts)"], small: ["module statements (src/p.ts)"] });
    const mid2 = await p.analyse();
    p.edit("src/p.ts", `cache.set("k", 1)`, `cache.set("k", 2)`);
    expect(changed(mid2, await p.analyse())).toEqual({ cached: ["module statements (src/p.ts)"], small: ["module statements (src/p.ts)"] });
    const mid3 = await p.analyse();
    p.edit("src/p.ts", `"configured"`, `"configured!"`);
    expect(changed(mid3, await p.analyse())).toEqual({});
  });
});
