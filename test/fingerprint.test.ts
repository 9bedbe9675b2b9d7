/**
 * Code fingerprints (`memopipe fingerprint`, src/codegen): what counts (helpers, constants,
 * classes, module statements, package versions), what does not (comments, formatting, types,
 * unrelated code), what is reported (eval, dynamic import, process.env…), `--check`, and the
 * runtime's use of the generated file. Fixtures are copied to temporary directories before any
 * edit; the repository's fixtures are never modified.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkFingerprints, fingerprintProject, normalizedText, type FingerprintFile } from "../src/codegen/index.js";
import { stage } from "../src/index.js";
import { DirectoryStore } from "../src/runtime/cache/directory-store.js";
import { formatWhy, lastRun } from "../src/runtime/why.js";
import { tempDir } from "./helpers/temp.js";

const fixtures = path.resolve(import.meta.dirname, "fixtures");
const cli = path.resolve(import.meta.dirname, "..", "dist", "cli.js");

/** A fresh copy of a fixture project in a temporary directory. */
function copyFixture(name: string): string {
  const dir = tempDir(`memopipe-${name}-`);
  cpSync(path.join(fixtures, name), dir, { recursive: true });
  return dir;
}

/** Replaces `from` by `to` in a file of a copied fixture (and fails if `from` is not there). */
function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit: ${String(from)} not found in ${file}`);
  writeFileSync(file, next);
}

const analyse = (dir: string): Promise<FingerprintFile> =>
  fingerprintProject({ project: path.join(dir, "tsconfig.json"), write: false, reuse: false });

/** The labels whose digests differ between two runs for one stage. */
function changedParts(a: FingerprintFile, b: FingerprintFile, name: string): string[] {
  const pa = a.stages[name]!.parts;
  const pb = b.stages[name]!.parts;
  return [...new Set([...Object.keys(pa), ...Object.keys(pb)])].filter((l) => pa[l] !== pb[l]).sort();
}

describe("fingerprintProject: what a stage's fingerprint covers", () => {
  it("each stage: its function, the helpers it calls transitively, the constants and classes they use", async () => {
    const data = await analyse(path.join(fixtures, "fingerprint-basic"));
    expect(Object.keys(data.stages).sort()).toEqual(["clean", "named", "plain", "scale"]);
    expect(Object.keys(data.stages["clean"]!.parts).sort()).toEqual([
      "constant `SCALE` (src/prep.ts)",
      "helper `normalize` (src/prep.ts)",
      "helper `prepare` (src/prep.ts)",
      "helper `round` (src/prep.ts)",
      "stage function (src/pipeline.ts)",
    ]);
    expect(Object.keys(data.stages["scale"]!.parts).sort()).toEqual(["class `Scaler` (src/scaler.ts)", "stage function (src/pipeline.ts)"]);
    expect(Object.keys(data.stages["named"]!.parts).sort()).toEqual(["helper `double` (src/pipeline.ts)", "stage function (src/pipeline.ts)"]);
    expect(Object.keys(data.stages["plain"]!.parts)).toEqual(["stage function (src/pipeline.ts)"]);
    expect(Object.keys(data.stages["clean"]!.files).sort()).toEqual(["src/pipeline.ts", "src/prep.ts"]);
    expect(data.stages["clean"]!.files["src/prep.ts"]).toMatch(/^[0-9a-f]{64}$/);
    expect(data.warnings).toEqual([]);
    // the same project gives the same data (no timestamps, sorted keys when written)
    expect(await analyse(path.join(fixtures, "fingerprint-basic"))).toEqual(data);
  });

  it("comments, whitespace, semicolons, quotes, trailing commas and type annotations do not count", async () => {
    const dir = copyFixture("fingerprint-basic");
    const before = await analyse(dir);
    writeFileSync(
      path.join(dir, "src/prep.ts"),
      `// reformatted, commented, retyped
const SCALE = 10 // the scale

/** Called by the stage \`clean\`: now with a longer comment. */
export function prepare(xs: readonly number[],): number[] {
  return xs.map(
    (x) =>
      normalize(x), // one per element
  )
}

/* Called by \`prepare\`. */ function normalize(x: number) { return round(x * SCALE) }

function round(
  x: number,
): number {
  return Math.round(x) /* to the nearest */
}

export function unrelated(): string { return 'not used' }
`,
    );
    edit(path.join(dir, "src/pipeline.ts"), "({ ys: prepare(xs) })", "({\n  ys: prepare(xs), // cleaned\n})");
    const after = await analyse(dir);
    for (const name of Object.keys(before.stages)) expect(after.stages[name]!.fingerprint, name).toBe(before.stages[name]!.fingerprint);
    // ...but the files did change: the runtime's staleness check (and --check) sees it
    expect(after.stages["clean"]!.files["src/prep.ts"]).not.toBe(before.stages["clean"]!.files["src/prep.ts"]);
  });

  it("editing a helper the stage reaches through another (stage → prepare → normalize → round) changes it, naming the helper", async () => {
    const dir = copyFixture("fingerprint-basic");
    const before = await analyse(dir);
    edit(path.join(dir, "src/prep.ts"), "Math.round(x)", "Math.floor(x)");
    const after = await analyse(dir);
    expect(after.stages["clean"]!.fingerprint).not.toBe(before.stages["clean"]!.fingerprint);
    expect(changedParts(before, after, "clean")).toEqual(["helper `round` (src/prep.ts)"]);
    for (const other of ["scale", "plain", "named"]) expect(after.stages[other]).toEqual(before.stages[other]);
  });

  it("a module constant used by a helper counts; an unrelated function in the same file does not", async () => {
    const dir = copyFixture("fingerprint-basic");
    const before = await analyse(dir);
    edit(path.join(dir, "src/prep.ts"), 'return "not used";', 'return "still not used";');
    const unrelated = await analyse(dir);
    expect(unrelated.stages["clean"]!.fingerprint).toBe(before.stages["clean"]!.fingerprint);
    edit(path.join(dir, "src/prep.ts"), "const SCALE = 10;", "const SCALE = 100;");
    const after = await analyse(dir);
    expect(after.stages["clean"]!.fingerprint).not.toBe(before.stages["clean"]!.fingerprint);
    expect(changedParts(before, after, "clean")).toEqual(["constant `SCALE` (src/prep.ts)"]);
  });

  it("a class method the stage uses counts (even a private one reached through this)", async () => {
    const dir = copyFixture("fingerprint-basic");
    const before = await analyse(dir);
    edit(path.join(dir, "src/scaler.ts"), "return x * this.k;", "return x * this.k * 2;");
    const after = await analyse(dir);
    expect(after.stages["scale"]!.fingerprint).not.toBe(before.stages["scale"]!.fingerprint);
    expect(changedParts(before, after, "scale")).toEqual(["class `Scaler` (src/scaler.ts)"]);
    expect(after.stages["clean"]).toEqual(before.stages["clean"]);
  });

  it("a stage function given by name counts, and so do module-level statements of the modules used", async () => {
    const dir = copyFixture("fingerprint-basic");
    const before = await analyse(dir);
    edit(path.join(dir, "src/pipeline.ts"), "return { m: n * 2 };", "return { m: n * 3 };");
    edit(path.join(dir, "src/prep.ts"), "const SCALE = 10;", "const SCALE = 10;\nglobalThis.precision = 3;");
    const after = await analyse(dir);
    expect(changedParts(before, after, "named")).toEqual(["helper `double` (src/pipeline.ts)"]);
    expect(changedParts(before, after, "clean")).toEqual(["module statements (src/prep.ts)"]);
    expect(after.stages["plain"]).not.toHaveProperty(["parts", "module statements (src/prep.ts)"]);
  });

  it("installed packages count by their version, and their package.json is listed with the files", async () => {
    const dir = copyFixture("fingerprint-basic");
    const pkg = path.join(dir, "node_modules", "fake-dep");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "fake-dep", version: "1.2.3", types: "index.d.ts", main: "index.js" }));
    writeFileSync(path.join(pkg, "index.d.ts"), "export declare function twice(x: number): number;\n");
    writeFileSync(path.join(pkg, "index.js"), "exports.twice = (x) => 2 * x;\n");
    writeFileSync(
      path.join(dir, "src/dep.ts"),
      `// @ts-nocheck\nimport { stage } from "memopipe";\nimport { twice } from "fake-dep";\nimport { readFileSync } from "node:fs";\n` +
        `export const dep = stage("dep", ({ x }: { x: number }) => ({ y: twice(x), f: typeof readFileSync }));\n`,
    );
    const before = await analyse(dir);
    expect(before.stages["dep"]!.parts).toHaveProperty(["dependency `fake-dep`"], "1.2.3");
    expect(Object.keys(before.stages["dep"]!.parts).filter((l) => l.startsWith("dependency"))).toEqual(["dependency `fake-dep`"]); // node:fs is no package
    expect(before.stages["dep"]!.files).toHaveProperty(["node_modules/fake-dep/package.json"]);
    writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "fake-dep", version: "1.3.0", types: "index.d.ts" }));
    const after = await analyse(dir);
    expect(after.stages["dep"]!.fingerprint).not.toBe(before.stages["dep"]!.fingerprint);
    // one bump, one changed part (the version is the part's value, not in its label)
    expect(changedParts(before, after, "dep")).toEqual(["dependency `fake-dep`"]);
    expect(after.stages["dep"]!.parts["dependency `fake-dep`"]).toBe("1.3.0");
  });
});

describe("fingerprintProject: what it cannot follow, and how it finds stages", () => {
  it("reports eval, new Function, dynamic import, require(variable) and process.env with file:line, and non-literal stage names", async () => {
    const data = await analyse(path.join(fixtures, "fingerprint-dynamic"));
    expect(data.warnings).toEqual([
      "src/loader.ts:3: new Function(...) builds code the fingerprint cannot see (stage `risky`)",
      "src/loader.ts:4: require(...) of a computed name: the module it loads is not fingerprinted (stage `risky`)",
      "src/loader.ts:5: dynamic import(...): the module it loads is not fingerprinted (stage `risky`)",
      "src/risky.ts:6: eval(...) runs code the fingerprint cannot see (stage `risky`)",
      "src/risky.ts:8: reads process.env: environment variables are not part of the fingerprint (stage `risky`)",
      "src/risky.ts:12: stage(...) whose name is not a string literal: not fingerprinted (the run-time fallback applies)",
    ]);
  });

  it("finds stage() through a renamed or a namespace import, and ignores another function named stage", async () => {
    const data = await analyse(path.join(fixtures, "fingerprint-dynamic"));
    expect(Object.keys(data.stages).sort()).toEqual(["renamed", "risky", "via-namespace"]);
  });

  it("normalises code so formatting cannot hide a real change", () => {
    const norm = (code: string) => {
      const sf = ts.createSourceFile("x.ts", code, ts.ScriptTarget.Latest, true);
      return normalizedText(sf, sf);
    };
    expect(norm("const a = 'x';")).toBe(norm('const a = "x"'));
    expect(norm("f(a, b,)")).toBe(norm("f(a, b)"));
    expect(norm("let x: number = 1")).toBe(norm("let x: string = 1"));
    expect(norm("function f<T>(x: T, y?: number): T[] { return [x as T] }")).toBe(norm("function f(x, y?) { return [x] }"));
    expect(norm("class A<T> extends B<T> implements C { declare k: T; m(): void {} }")).toBe(norm("class A extends B { m() {} }"));
    expect(norm("const y = g<number>(x) satisfies number")).toBe(norm("const y = g(x)"));
    expect(norm("interface I { a: 1 }\nrun()")).toBe(norm("run()"));
    expect(norm("a\n(b)")).not.toBe(norm("a;\n(b)")); // one call vs two statements
    expect(norm("const t = `a  ${b}  c`")).not.toBe(norm("const t = `a ${b} c`")); // whitespace inside a template is data
    expect(norm("const r = /a  b/")).not.toBe(norm("const r = /a b/"));
    expect(norm("x = 1_000")).toBe(norm("x = 1000"));
  });
});

describe("memopipe fingerprint: the file, --check, reuse", () => {
  it("--check passes right after generation and fails after an edit, naming the stale stage and why", async () => {
    const dir = copyFixture("fingerprint-basic");
    const project = path.join(dir, "tsconfig.json");
    const file = path.join(dir, "memopipe.fingerprints.json");
    expect((await checkFingerprints({ project })).missing).toBe(true);
    await fingerprintProject({ project });
    const written = readFileSync(file, "utf8");
    expect(JSON.parse(written)).toMatchObject({ format: 1, warnings: [] });
    expect(written).toBe(`${JSON.stringify(JSON.parse(written), null, 2)}\n`);
    expect(Object.keys(JSON.parse(written) as object)).toEqual(["format", "generator", "inputs", "stages", "warnings"]); // sorted
    expect(await checkFingerprints({ project })).toMatchObject({ ok: true, stale: [] });
    await fingerprintProject({ project, reuse: false });
    expect(readFileSync(file, "utf8")).toBe(written); // deterministic

    edit(path.join(dir, "src/prep.ts"), "Math.round(x)", "Math.ceil(x)");
    const check = await checkFingerprints({ project });
    expect(check.ok).toBe(false);
    expect(check.stale).toEqual([{ stage: "clean", reasons: ["helper `round` (src/prep.ts) changed"] }]);
    await fingerprintProject({ project });
    expect((await checkFingerprints({ project })).ok).toBe(true);

    // a comment-only edit leaves the fingerprint, but the runtime would distrust the file: stale too
    edit(path.join(dir, "src/scaler.ts"), "export class Scaler {", "// a comment\nexport class Scaler {");
    expect((await checkFingerprints({ project })).stale).toEqual([
      { stage: "scale", reasons: ["src/scaler.ts changed (fingerprint unchanged: regenerate so the runtime trusts it)"] },
    ]);
  });

  it("reuses the file when no input changed, and re-analyses when one did or a new file appeared", async () => {
    const dir = copyFixture("fingerprint-basic");
    const project = path.join(dir, "tsconfig.json");
    const file = path.join(dir, "memopipe.fingerprints.json");
    await fingerprintProject({ project });
    // mark the file: a reused file keeps the mark, a recomputed one loses it
    const marked = JSON.parse(readFileSync(file, "utf8")) as FingerprintFile & { stages: Record<string, { fingerprint: string }> };
    marked.stages["plain"]!.fingerprint = "mark";
    writeFileSync(file, JSON.stringify(marked));
    expect((await fingerprintProject({ project, write: false })).stages["plain"]!.fingerprint).toBe("mark");
    writeFileSync(path.join(dir, "src/extra.ts"), `import { stage } from "memopipe";\nexport const extra = stage("extra", () => ({ a: 1 }));\n`);
    const data = await fingerprintProject({ project, write: false });
    expect(data.stages["plain"]!.fingerprint).not.toBe("mark");
    expect(Object.keys(data.stages)).toContain("extra");
  });

  it("the built CLI: fingerprint writes, --check exits 0, then 1 after an edit with the stage named", () => {
    expect(existsSync(cli), "dist/cli.js: run npm run build first").toBe(true);
    const dir = copyFixture("fingerprint-basic");
    const project = path.join(dir, "tsconfig.json");
    const env = { ...process.env, NO_COLOR: "1" };
    execFileSync(process.execPath, [cli, "fingerprint", "--project", project], { encoding: "utf8", env });
    const ok = spawnSync(process.execPath, [cli, "fingerprint", "--check", "--project", project], { encoding: "utf8", env });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("up to date (4 stages)");
    edit(path.join(dir, "src/scaler.ts"), "return x * this.k;", "return x + this.k;");
    const stale = spawnSync(process.execPath, [cli, "fingerprint", "--check", "--project", project], { encoding: "utf8", env });
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain("is stale: run memopipe fingerprint");
    expect(stale.stderr).toContain("scale: class `Scaler` (src/scaler.ts) changed");
    const dynamic = spawnSync(process.execPath, [cli, "fingerprint", "--project", path.join(copyFixture("fingerprint-dynamic"), "tsconfig.json")], { encoding: "utf8", env });
    expect(dynamic.status).toBe(0);
    expect(dynamic.stderr).toContain("warning: src/risky.ts:6: eval(...)");
    // the library entry never loads ts-morph (TypeScript would end up in users' bundles): only the CLI, lazily
    for (const entry of ["index.js", "index.cjs", "cli.js"]) {
      expect(readFileSync(path.join(path.dirname(cli), entry), "utf8"), entry).not.toMatch(/from "ts-morph"|require\("ts-morph"\)/);
    }
  });
});

describe("the runtime uses the generated fingerprints ($MEMOPIPE_FINGERPRINTS)", () => {
  const saved = process.env["MEMOPIPE_FINGERPRINTS"];
  afterEach(() => {
    if (saved === undefined) delete process.env["MEMOPIPE_FINGERPRINTS"];
    else process.env["MEMOPIPE_FINGERPRINTS"] = saved;
    vi.restoreAllMocks();
  });
  const cacheDir = () => tempDir("memopipe-fp-cache-");
  const clean = (dir: string) => stage("clean", ({ xs }: { xs: number[] }) => ({ ys: xs.map((x) => Math.round(x * 10)) }), { cache: { dir } });

  it("records source 'codegen' with the parts; a helper edit re-runs the stage and says which helper", async () => {
    const a = copyFixture("fingerprint-basic");
    const b = copyFixture("fingerprint-basic");
    edit(path.join(b, "src/prep.ts"), "Math.round(x)", "Math.trunc(x)");
    const fa = await fingerprintProject({ project: path.join(a, "tsconfig.json") });
    await fingerprintProject({ project: path.join(b, "tsconfig.json") });
    const dir = cacheDir();

    process.env["MEMOPIPE_FINGERPRINTS"] = path.join(a, "memopipe.fingerprints.json");
    await clean(dir).run({ xs: [0.12] });
    const record = await new DirectoryStore(dir).latest("clean");
    expect(record?.code).toEqual({ fingerprint: fa.stages["clean"]!.fingerprint, source: "codegen", parts: fa.stages["clean"]!.parts });
    await clean(dir).run({ xs: [0.12] }); // a hit

    process.env["MEMOPIPE_FINGERPRINTS"] = path.join(b, "memopipe.fingerprints.json");
    await clean(dir).run({ xs: [0.12] });
    const why = formatWhy(await lastRun(dir)).map((l) => l.replace(/ \(\d+\.\d+ s\)$/, ""));
    expect(why).toEqual(["ran      clean: no record", "hit      clean", "re-ran   clean: helper `round` (src/prep.ts) changed"]);
  });

  it("a stale file it cannot refresh (refresh off, as without ts-morph): the stage is never a hit nor recorded, one warning names the file", async () => {
    const dir = copyFixture("fingerprint-basic");
    await fingerprintProject({ project: path.join(dir, "tsconfig.json") });
    edit(path.join(dir, "src/prep.ts"), "const SCALE = 10;", "const SCALE = 11;");
    process.env["MEMOPIPE_FINGERPRINTS"] = path.join(dir, "memopipe.fingerprints.json");
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const cache = cacheDir();
    await clean(cache).run({ xs: [1] });
    await clean(cache).run({ xs: [1] });
    const stale = warn.mock.calls.filter(([, o]) => (o as { code?: string } | undefined)?.code === "MEMOPIPE_FINGERPRINT_STALE");
    expect(stale).toHaveLength(1);
    expect(String(stale[0]![0])).toMatch(/src\/prep\.ts changed since .*memopipe\.fingerprints\.json was generated.*run memopipe fingerprint/);
    expect(await new DirectoryStore(cache).latest("clean")).toBeUndefined();
    const why = formatWhy(await lastRun(cache)).map((l) => l.replace(/ \(\d+\.\d+ s\)$/, "").replace(/:.*/, ""));
    expect(why).toEqual(["uncached clean", "uncached clean"]);
  });

  it("keeps stages that are wired together in one module independent", async () => {
    const dir = copyFixture("fingerprint-wired");
    const before = await analyse(dir);
    expect(Object.keys(before.stages["a1"]!.parts).sort()).toEqual(["helper `normalize` (src/single.ts)", "stage function (src/single.ts)"]);
    expect(Object.keys(before.stages["b1"]!.parts).sort()).toEqual(["helper `sum` (src/single.ts)", "stage function (src/single.ts)"]);
    edit(path.join(dir, "src/single.ts"), '?? "1"', '?? "2"');
    edit(path.join(dir, "src/single.ts"), "run({ xs: [1, 2, 3] })", "run({ xs: [4, 5] })");
    const after = await analyse(dir);
    expect(changedParts(before, after, "a1")).toEqual([]);
    expect(changedParts(before, after, "b1")).toEqual([]);
    expect(changedParts(before, after, "c1")).toEqual(["constant `threshold` (src/single.ts)"]);
  });
});
