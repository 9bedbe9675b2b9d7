/**
 * The runtime's incremental refresh (src/codegen/refresh.ts) gives what the full analysis gives,
 * after every kind of edit, while fingerprinting again only the stages an edit can affect.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { refreshFingerprints, stateFromFile } from "../../src/codegen/refresh.js";
import { readState, restamped, statePath, unchanged, writeState, type FingerprintState } from "../../src/codegen/state.js";
import { fingerprintProject } from "../../src/codegen/index.js";
import { project } from "./project.js";

const files = {
  "src/prep.ts": `export function prepare(xs: number[]) { return xs.map(normalize); }\nfunction normalize(x: number) { return Math.round(x * 10); }\n`,
  "src/factory.ts": `import { stage } from "memopipe";\nexport function build(k: number) { return stage("scaled", ({ x }: { x: number }) => ({ y: x * k })); }\n`,
  "src/lib/index.ts": `export * from "./strings.js";\n`,
  "src/lib/strings.ts": `export const shout = (s: string) => s.toUpperCase();\n`,
  "src/run.ts": `import { stage } from "memopipe";
import { prepare } from "./prep.js";
import { build } from "./factory.js";
import { shout } from "./lib/index.js";
export const clean = stage("clean", ({ xs }: { xs: number[] }) => ({ ys: prepare(xs) }));
export const scaled = build(2);
export const loud = stage("loud", ({ s }: { s: string }) => ({ t: shout(s) }));
export const plain = stage("plain", ({ n }: { n: number }) => ({ m: n + 1 }));
console.log("run");
`,
};

describe("refreshFingerprints", () => {
  it("after each edit: the same stages as a full analysis, only the affected ones analysed again", async () => {
    const p = project(files);
    const tsconfig = path.join(p.dir, "tsconfig.json");
    const full = async () => (await fingerprintProject({ project: tsconfig, write: false, reuse: false })).stages;
    let state: FingerprintState = refreshFingerprints({ tsconfig }).state;
    expect(state.data.stages).toEqual(await full());
    const step = async (edit: () => void, expected: { mode: string; analysed: string[]; changed: string[] }) => {
      edit();
      const r = refreshFingerprints({ tsconfig, previous: state });
      expect({ mode: r.mode, analysed: r.analysed, changed: r.changed }).toEqual(expected);
      expect(r.state.data.stages).toEqual(await full());
      state = r.state;
    };
    await step(() => {}, { mode: "unchanged", analysed: [], changed: [] });
    await step(() => p.edit("src/prep.ts", "x * 10", "x * 20"), { mode: "incremental", analysed: ["clean"], changed: ["src/prep.ts"] });
    await step(() => p.edit("src/run.ts", "build(2)", "build(3)"), { mode: "incremental", analysed: ["clean", "loud", "plain", "scaled"], changed: ["src/run.ts"] });
    await step(() => p.edit("src/lib/strings.ts", "toUpperCase", "toLocaleUpperCase"), { mode: "incremental", analysed: ["loud"], changed: ["src/lib/strings.ts"] });
    // a new file with a new stage, and a new call of the factory in it
    await step(
      () => p.write("src/more.ts", `import { stage } from "memopipe";\nimport { build } from "./factory.js";\nexport const extra = stage("extra", () => ({ a: 1 }));\nexport const again = build(5);\n`),
      { mode: "incremental", analysed: ["extra", "scaled"], changed: ["src/more.ts"] },
    );
    // the file removed: its stage is gone, the factory's call with it
    await step(() => rmSync(path.join(p.dir, "src/more.ts")), { mode: "incremental", analysed: ["extra", "scaled"], changed: ["src/more.ts"] });
    // a barrel re-pointed
    await step(
      () => {
        p.write("src/lib/other.ts", `export const shout = (s: string) => s + "!";\n`);
        p.write("src/lib/index.ts", `export * from "./other.js";\n`);
      },
      { mode: "incremental", analysed: ["loud"], changed: ["src/lib/index.ts", "src/lib/other.ts"] },
    );
    // the tsconfig: everything
    await step(() => p.edit("tsconfig.json", `"strict": false`, `"strict": true`), { mode: "full", analysed: ["clean", "loud", "plain", "scaled"], changed: ["tsconfig.json"] });
  });

  it("starts from the committed file: nothing changed since it was generated → nothing analysed", async () => {
    const p = project(files);
    const tsconfig = path.join(p.dir, "tsconfig.json");
    const data = await fingerprintProject({ project: tsconfig });
    const previous = stateFromFile(data, path.join(p.dir, "memopipe.fingerprints.json"), tsconfig);
    expect(refreshFingerprints({ tsconfig, previous })).toMatchObject({ mode: "unchanged", analysed: [] });
    p.edit("src/prep.ts", "x * 10", "x * 30");
    expect(refreshFingerprints({ tsconfig, previous })).toMatchObject({ mode: "incremental", analysed: ["clean"], changed: ["src/prep.ts"] });
  });

  it("the state: a stat check when nothing changed; a touched file or a new log file in the root re-hash, not re-analyse", () => {
    const p = project(files);
    const tsconfig = path.join(p.dir, "tsconfig.json");
    const file = statePath(path.join(p.dir, ".memopipe"), tsconfig);
    writeState(file, refreshFingerprints({ tsconfig }).state);
    const state = readState(file)!;
    expect(unchanged(state)).toBe(true);
    p.write("src/prep.ts", p.read("src/prep.ts")); // same bytes, new mtime
    p.write("notes.txt", "a log");
    expect(unchanged(state)).toBe(false);
    const again = restamped(state);
    expect(again?.data).toEqual(state.data);
    expect(unchanged(again!)).toBe(true);
    p.edit("src/prep.ts", "x * 10", "x * 11");
    expect(restamped(again!)).toBeUndefined();
    p.edit("src/prep.ts", "x * 11", "x * 10");
    p.write("src/new.ts", "export const n = 1;\n"); // a new source file: the listing changed
    expect(restamped(again!)).toBeUndefined();
  });
});
