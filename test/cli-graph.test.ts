/**
 * `memopipe graph`, run as a user would (the built dist/cli.js): the examples' modules drawn in
 * every format, byte-identical to the golden files; `--run` colouring from a cache directory; the
 * mistakes, each one line.
 */
import { spawnSync } from "node:child_process";
import { flushEvents } from "../src/runtime/events.js";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { imagingRun } from "./fixtures/imaging-run.js";

const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "cli.js");
const golden = (name: string) => readFileSync(path.join(root, "test", "golden", name), "utf8");
const tmp = mkdtempSync(path.join(tmpdir(), "memopipe-cli-graph-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function memopipe(args: readonly string[], cwd = root) {
  flushEvents(); // this process\'s stage runs gather their events until the end of the turn
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("memopipe graph", () => {
  it("draws the examples' modules (TypeScript, through tsx) byte-identical to the golden files", () => {
    expect(memopipe(["graph", "examples/imaging/pipeline.ts#imagingPipeline"]).stdout).toBe(golden("imaging.mmd"));
    expect(memopipe(["graph", "examples/imaging/pipeline.ts", "--format", "dot"]).stdout).toBe(golden("imaging.dot"));
    expect(memopipe(["graph", "examples/mnist-training.ts#train", "--json"]).stdout).toBe(golden("mnist.json"));
    expect(memopipe(["graph", "examples/mnist-training.ts#train"]).stdout).toBe(golden("mnist.mmd"));
  });

  it("--json prints the JSON alone on stdout, with its schemaVersion", () => {
    const r = memopipe(["graph", "examples/imaging/pipeline.ts", "--json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ schemaVersion: 1, kind: "dag" });
  });

  it("writes SVG and a self-contained HTML page, the format taken from --out", () => {
    const svg = path.join(tmp, "dag.svg");
    const html = path.join(tmp, "dag.html");
    const a = memopipe(["graph", "examples/imaging/pipeline.ts", "--out", svg]);
    expect(a.stdout).toBe("");
    expect(a.stderr).toMatch(/^wrote .*dag\.svg \(svg, 6 nodes\)\n$/);
    expect(readFileSync(svg, "utf8")).toMatch(/^<svg[\s\S]*class="node mp&#45;stage"[\s\S]*<\/svg>\n$/);
    memopipe(["graph", "examples/imaging/pipeline.ts", "--out", html]);
    const page = readFileSync(html, "utf8");
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(page).toContain("<svg");
  });

  it("--run colours the stages by the last run (or a named one) of their cache directory", () => {
    const project = path.join(tmp, "project");
    mkdirSync(path.join(project, ".memopipe"), { recursive: true });
    writeFileSync(path.join(project, "package.json"), `{ "type": "module" }\n`);
    const older = imagingRun.map((e) => ({ ...e, run: "run-3", status: "hit", reasons: [] }));
    writeFileSync(path.join(project, ".memopipe", "events.jsonl"), [...older, ...imagingRun].map((e) => JSON.stringify(e)).join("\n") + "\n");
    const ts = path.join(project, "pipeline.ts");
    writeFileSync(ts, `export { imagingPipeline } from ${JSON.stringify(path.join(root, "examples/imaging/pipeline.ts"))};\n`);
    expect(memopipe(["graph", "pipeline.ts", "--run"], project).stdout).toBe(golden("imaging-run.mmd"));
    expect(memopipe(["graph", "pipeline.ts", "--run", "--format", "dot"], project).stdout).toBe(golden("imaging-run.dot"));
    const third = JSON.parse(memopipe(["graph", "pipeline.ts", "--run", "run-3", "--json"], project).stdout);
    expect(third.run).toBe("run-3");
    expect(third.nodes.filter((n: { run?: unknown }) => n.run).map((n: { run: { status: string } }) => n.run.status)).toEqual(["hit", "hit", "hit", "hit"]);
    expect(memopipe(["graph", "pipeline.ts", "--run", "run-9"], project)).toMatchObject({ status: 1, stderr: "memopipe graph: no run 'run-9' in .memopipe/events.jsonl\n" });
  });

  it("says what is wrong in one line", () => {
    const cases: [string[], RegExp][] = [
      [["graph", "nope.ts"], /^memopipe graph: nope\.ts does not exist\n$/],
      [["graph", "examples/imaging/pipeline.ts#nope"], /^memopipe graph: examples\/imaging\/pipeline\.ts has no export 'nope' \(its exports: imagingPipeline\)\n$/],
      [["graph", "examples/imaging/helpers.ts"], /^memopipe graph: examples\/imaging\/helpers\.ts exports no pipeline, DAG or stage \(its exports: .*\): name the one to draw/],
      [["graph", "examples/imaging/helpers.ts#smooth"], /^memopipe graph: .*#smooth is a function; called with no arguments to get the pipeline, it threw: /],
      [["graph", "examples/imaging/pipeline.ts", "--format", "png"], /^memopipe: option '--format <format>' argument 'png' is invalid\. Allowed choices are mermaid, dot, svg, json, html\.\n$/],
    ];
    for (const [args, message] of cases) {
      const r = memopipe(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("has --help with examples", () => {
    expect(memopipe(["graph", "--help"]).stdout).toMatch(/\nExamples:\n {2}\$ memopipe graph /);
  });
});
