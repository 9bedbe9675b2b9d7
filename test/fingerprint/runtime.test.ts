/**
 * No step a user can forget: real processes run a real project's stages, edits happen between
 * runs, and `memopipe why` must show exactly which stages re-ran and why — with no
 * `memopipe fingerprint` in between, and with one (which must then re-run nothing). Without
 * ts-morph, a stage whose files changed since the committed fingerprints is never a hit.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collectReport } from "../../src/runtime/report/collect.js";
import { formatWhy, lastRun } from "../../src/runtime/why.js";
import { installMemopipe, memopipe, project, runScript, type TestProject } from "./project.js";

const files = {
  "src/prep.ts": `export function prepare(xs: number[]) { return xs.map(normalize); }
function normalize(x: number) { return round(x * 10); }
function round(x: number) { return Math.round(x); }
`,
  "src/factory.ts": `import { stage } from "memopipe";
export function build(k: number) {
  return stage("scaled", ({ x }: { x: number }) => ({ y: x * k }), { cache: true });
}
`,
  "src/run.ts": `import { stage } from "memopipe";
import { prepare } from "./prep.js";
import { build } from "./factory.js";
import { twice } from "fake-dep";

const clean = stage("clean", ({ xs }: { xs: number[] }) => ({ ys: prepare(xs) }), { cache: true });
const scaled = build(2);
const dep = stage("dep", ({ x }: { x: number }) => ({ y: twice(x) }), { cache: true });
const plain = stage("plain", ({ n }: { n: number }) => ({ m: n + 1 }), { cache: true });

console.log("running the stages");
const out = [await clean.run({ xs: [0.12, 0.5] }), await scaled.run({ x: 3 }), await dep.run({ x: 4 }), await plain.run({ n: 1 })];
console.log(JSON.stringify(out));
`,
};

function fakeDep(p: TestProject, version: string): void {
  const dir = path.join(p.dir, "node_modules", "fake-dep");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "fake-dep", version, type: "module", types: "index.d.ts", exports: "./index.js" }));
  writeFileSync(path.join(dir, "index.d.ts"), "export declare function twice(x: number): number;\n");
  writeFileSync(path.join(dir, "index.js"), "export const twice = (x) => 2 * x;\n");
}

function setUp(options = { tsMorph: true }): TestProject {
  const p = project({ ...files, "package.json": JSON.stringify({ name: "fp-runtime", type: "module" }) }, "memopipe-fp-run-");
  installMemopipe(p, options);
  fakeDep(p, "1.2.3");
  return p;
}

/** Runs the script; the `why` lines of that run, without timings. */
async function run(p: TestProject): Promise<string[]> {
  runScript(p, "src/run.ts");
  return formatWhy(await lastRun(path.join(p.dir, ".memopipe"))).map((l) => l.replace(/ \(\d+\.\d+ s\)$/, ""));
}

const allHits = ["hit      clean", "hit      scaled", "hit      dep", "hit      plain"];

describe("the runtime keeps fingerprints up to date itself (ts-morph installed)", { timeout: 240_000 }, () => {
  it("no memopipe fingerprint ever: a helper edit re-runs only the stage using it, naming the helper; then memopipe fingerprint re-runs nothing", async () => {
    const p = setUp();
    expect(await run(p)).toEqual(["ran      clean: no record", "ran      scaled: no record", "ran      dep: no record", "ran      plain: no record"]);
    expect(readdirSync(path.join(p.dir, ".memopipe", "fingerprints")).filter((f) => f.endsWith(".json")).length).toBe(2); // the state and the part sources
    expect(await run(p)).toEqual(allHits);
    p.edit("src/prep.ts", "Math.round(x)", "Math.floor(x)");
    expect(await run(p)).toEqual(["re-ran   clean: helper `round` (src/prep.ts) changed", "hit      scaled", "hit      dep", "hit      plain"]);
    // the report has the helper's old and new code (the part sources kept beside the state)
    const report = await collectReport(path.join(p.dir, ".memopipe"));
    const code = report.details.flatMap((d) => d?.code ?? []);
    expect(code).toEqual([expect.objectContaining({ name: "helper `round` (src/prep.ts)", sourceBefore: expect.stringContaining("Math.round(x)"), sourceAfter: expect.stringContaining("Math.floor(x)") })]);
    expect(await run(p)).toEqual(allHits);
    // committing the fingerprints afterwards changes nothing: the same analysis
    const fp = memopipe(p, "fingerprint");
    expect(fp.status, fp.stderr).toBe(0);
    expect(await run(p)).toEqual(allHits);
    expect(memopipe(p, "fingerprint", "--check").status).toBe(0);
  });

  it("a console.log text edit re-runs nothing; a factory argument re-runs that stage; a dependency bump is one reason with both versions", async () => {
    const p = setUp();
    await run(p);
    p.edit("src/run.ts", `"running the stages"`, `"running the stages, again"`);
    expect(await run(p)).toEqual(allHits);
    p.edit("src/run.ts", "build(2)", "build(3)");
    expect(await run(p)).toEqual(["hit      clean", "re-ran   scaled: factory call `build` (src/run.ts) changed", "hit      dep", "hit      plain"]);
    fakeDep(p, "1.3.0");
    expect(await run(p)).toEqual(["hit      clean", "hit      scaled", "re-ran   dep: dependency `fake-dep` changed (1.2.3 → 1.3.0)", "hit      plain"]);
  });

  it("a stale committed file (a helper edited after memopipe fingerprint) is brought up to date, not trusted", async () => {
    const p = setUp();
    expect(memopipe(p, "fingerprint").status).toBe(0);
    expect(await run(p)).toEqual(["ran      clean: no record", "ran      scaled: no record", "ran      dep: no record", "ran      plain: no record"]);
    p.edit("src/prep.ts", "x * 10", "x * 100");
    const r = runScript(p, "src/run.ts");
    expect(r.stderr).not.toContain("MEMOPIPE_FINGERPRINT");
    expect(formatWhy(await lastRun(path.join(p.dir, ".memopipe")))[0]).toMatch(/^re-ran {3}clean: helper `normalize` \(src\/prep\.ts\) changed/);
    expect(memopipe(p, "fingerprint", "--check").status).toBe(1); // CI still says the committed file is stale
  });
});

describe("without ts-morph", { timeout: 240_000 }, () => {
  it("a stage whose files changed since the committed fingerprints is never a hit (the file named), the others hit", async () => {
    const p = setUp({ tsMorph: false });
    expect(memopipe(p, "fingerprint").status).toBe(0); // the CLI of the repository (with ts-morph) commits the file
    expect(await run(p)).toEqual(["ran      clean: no record", "ran      scaled: no record", "ran      dep: no record", "ran      plain: no record"]);
    expect(await run(p)).toEqual(allHits);
    p.edit("src/prep.ts", "Math.round(x)", "Math.floor(x)");
    const stale =
      "uncached clean: src/prep.ts changed since memopipe.fingerprints.json was generated, and ts-morph is not installed to bring them up to date (npm install ts-morph): run memopipe fingerprint; until then this stage is neither served from nor recorded in the cache";
    const lines = async () => (await run(p)).map((l) => l.replace(p.dir + path.sep, ""));
    expect(await lines()).toEqual([stale, "hit      scaled", "hit      dep", "hit      plain"]);
    expect(await lines()).toEqual([stale, "hit      scaled", "hit      dep", "hit      plain"]); // still not served
    expect(existsSync(path.join(p.dir, ".memopipe", "fingerprints", "sources.json"))).toBe(false);
  });

  it("no committed file: one warning that says how to fix it", () => {
    const p = setUp({ tsMorph: false });
    const r = runScript(p, "src/run.ts");
    const warnings = r.stderr.split("\n").filter((l) => l.includes("MEMOPIPE_FINGERPRINT"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("MEMOPIPE_FINGERPRINT_FALLBACK");
    expect(warnings[0]).toContain("ts-morph is not installed");
    expect(warnings[0]).toContain("To fix it, install ts-morph (npm install ts-morph");
  });
});
