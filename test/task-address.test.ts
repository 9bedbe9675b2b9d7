/**
 * `task({ module: new URL("./points.js", import.meta.url) })` in a TypeScript project run from its
 * sources, where only points.ts exists (src/runtime/runner/source-module.ts): the README's example,
 * run by tsx, on both backends, against the built package.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { typeScriptTwin } from "../src/runtime/runner/source-module.js";

const root = path.resolve(import.meta.dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "memopipe-task-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const url = (name: string) => pathToFileURL(path.join(dir, name)).href;

describe("a task addressed by its compiled name", () => {
  it("means the TypeScript file when only that exists; an existing file or a non-file URL is kept", () => {
    writeFileSync(path.join(dir, "only-ts.ts"), "export {};\n");
    writeFileSync(path.join(dir, "only-mts.mts"), "export {};\n");
    writeFileSync(path.join(dir, "both.ts"), "export {};\n");
    writeFileSync(path.join(dir, "both.js"), "export {};\n");
    expect(typeScriptTwin(url("only-ts.js"))).toBe(url("only-ts.ts"));
    expect(typeScriptTwin(url("only-mts.mjs"))).toBe(url("only-mts.mts"));
    expect(typeScriptTwin(`${url("only-ts.js")}?v=2`)).toBe(`${url("only-ts.ts")}?v=2`);
    expect(typeScriptTwin(url("both.js"))).toBe(url("both.js"));
    expect(typeScriptTwin(url("neither.js"))).toBe(url("neither.js"));
    expect(typeScriptTwin(url("only-ts.ts"))).toBe(url("only-ts.ts"));
    expect(typeScriptTwin("data:text/javascript,export{}")).toBe("data:text/javascript,export{}");
  });

  it("runs under tsx on both backends (it failed with Cannot find module …/points.js on threads)", () => {
    const project = mkdtempSync(path.join(dir, "project-"));
    writeFileSync(path.join(project, "package.json"), '{ "type": "module" }\n');
    // the project has tsx installed, as one that runs its sources with tsx does (a link: rmSync removes the link only)
    symlinkSync(path.join(root, "node_modules"), path.join(project, "node_modules"), "dir");
    writeFileSync(path.join(project, "points.ts"), "export function simulate({ n }: { n: number }): { sq: number } { return { sq: n * n }; }\n");
    writeFileSync(
      path.join(project, "main.ts"),
      `import { Runner, grid, task } from ${JSON.stringify(pathToFileURL(path.join(root, "dist", "index.js")).href)};
import type { simulate } from "./points.js";
const t = task<typeof simulate>({ module: new URL("./points.js", import.meta.url), export: "simulate" });
for (const backend of ["in-process", "threads"] as const) {
  const runner = new Runner({ backend, workers: 1, progress: false });
  console.log(backend, JSON.stringify(await runner.run(t, grid({ n: [2, 3] }))));
  await runner.close();
}
`,
    );
    const out = execFileSync(path.join(root, "node_modules", ".bin", "tsx"), ["main.ts"], { cwd: project, encoding: "utf8" });
    expect(out.trim().split("\n")).toEqual(['in-process [{"sq":4},{"sq":9}]', 'threads [{"sq":4},{"sq":9}]']);
  });
});
