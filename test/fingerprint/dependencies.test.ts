/**
 * Installed packages: a stage counts the packages it imports by version; a bump is one change,
 * named with both versions; packages other stages import do not count.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { explainCode } from "../../src/runtime/code-fingerprint.js";
import { reasonText } from "../../src/runtime/events.js";
import { changed, project, type TestProject } from "./project.js";

function install(p: TestProject, name: string, version: string): void {
  const dir = path.join(p.dir, "node_modules", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version, types: "index.d.ts", main: "index.js" }));
  writeFileSync(path.join(dir, "index.d.ts"), "export declare function twice(x: number): number;\n");
  writeFileSync(path.join(dir, "index.js"), "exports.twice = (x) => 2 * x;\n");
}

describe("dependencies", () => {
  it("one bump is one change, with both versions in the reason; a stage that does not import it is untouched", async () => {
    const p = project({
      "src/p.ts": `import { stage } from "memopipe";
import { twice } from "fake-dep";
import { twice as again } from "other-dep";
export const a = stage("a", ({ x }: { x: number }) => ({ y: twice(x) }));
export const b = stage("b", ({ x }: { x: number }) => ({ y: again(x) }));
`,
    });
    install(p, "fake-dep", "1.2.3");
    install(p, "other-dep", "0.1.0");
    const before = await p.analyse();
    expect(before.stages["a"]!.parts["dependency `fake-dep`"]).toBe("1.2.3");
    expect(before.stages["a"]!.parts).not.toHaveProperty(["dependency `other-dep`"]);
    install(p, "fake-dep", "1.3.0");
    const after = await p.analyse();
    expect(changed(before, after)).toEqual({ a: ["dependency `fake-dep`"] });
    const reasons = explainCode({ source: "codegen", ...before.stages["a"]! }, { source: "codegen", ...after.stages["a"]! });
    expect(reasons).toEqual([{ kind: "dependency", name: "fake-dep", before: "1.2.3", after: "1.3.0" }]);
    expect(reasons.map(reasonText)).toEqual(["dependency `fake-dep` changed (1.2.3 → 1.3.0)"]);
  });

  it("a record from the first generator (the version in the label) compares as one change too", () => {
    const old = { fingerprint: "x", source: "codegen" as const, parts: { "stage function (src/p.ts)": "s", "dependency `fake-dep`@1.2.3": "d1" } };
    const now = { fingerprint: "y", source: "codegen" as const, parts: { "stage function (src/p.ts)": "s", "dependency `fake-dep`": "1.3.0" } };
    expect(explainCode(old, now).map(reasonText)).toEqual(["dependency `fake-dep` changed (1.2.3 → 1.3.0)"]);
  });
});
