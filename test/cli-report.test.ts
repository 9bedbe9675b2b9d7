/**
 * `memopipe report`, and the machine faces of `why`, `cache ls` and `cache stats` (`--json`,
 * `--format md` and `$GITHUB_STEP_SUMMARY`), run as a user would (dist/cli.js). The same events
 * give the same bytes: the outputs from the imaging example's run are golden files.
 */
import { spawnSync } from "node:child_process";
import { flushEvents } from "../src/runtime/events.js";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imagingRun } from "./fixtures/imaging-run.js";
import { runReportDag } from "./fixtures/report-dag.js";
import { expectGolden } from "./helpers/golden.js";
import { outsideReferences } from "./helpers/html.js";

const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "cli.js");
const tmp = mkdtempSync(path.join(tmpdir(), "memopipe-cli-report-"));
const fixed = path.join(tmp, "fixed"); // a cache directory holding only the imaging run's events
let real = ""; // a cache directory with three real runs of a DAG
beforeAll(async () => {
  mkdirSync(path.join(fixed, ".memopipe"), { recursive: true });
  writeFileSync(path.join(fixed, ".memopipe", "events.jsonl"), imagingRun.map((e) => JSON.stringify(e)).join("\n") + "\n");
  real = path.join(tmp, "real");
  mkdirSync(real);
  await runReportDag(real);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function memopipe(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  flushEvents(); // this process\'s stage runs gather their events until the end of the turn
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  delete e.FORCE_COLOR;
  if (!("GITHUB_STEP_SUMMARY" in env)) delete e.GITHUB_STEP_SUMMARY;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd, env: e });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("why, cache ls and cache stats for machines", () => {
  it("why --json: the JSON alone on stdout, a schemaVersion, structured reasons; the same bytes as the golden file", () => {
    const r = memopipe(["why", "--json"], fixed);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, dir: ".memopipe", run: "run-4" });
    expect(doc.events.map((e: { stage: string; display: string }) => [e.stage, e.display])).toEqual([
      ["load", "hit"],
      ["denoise", "hit"],
      ["mask", "re-ran"],
      ["measure", "failed"],
    ]);
    expect(doc.events[2].reasons).toEqual([
      { kind: "helper", name: "module constant `THRESHOLD` (helpers.ts)", before: "1".repeat(64), after: "2".repeat(64), text: "module constant `THRESHOLD` (helpers.ts) changed" },
    ]);
    expectGolden("imaging-why.json", r.stdout);
    expect(memopipe(["why", "--format", "json"], fixed).stdout).toBe(r.stdout);
  });

  it("why --format md: a table and a Mermaid block, appended to $GITHUB_STEP_SUMMARY when set", () => {
    const summary = path.join(tmp, "summary.md");
    writeFileSync(summary, "earlier step\n\n");
    const r = memopipe(["why", "--format", "md"], fixed, { GITHUB_STEP_SUMMARY: summary });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("| `mask` | re-ran | 0.049 s | module constant `THRESHOLD` (helpers.ts) changed |");
    expect(r.stdout).toContain("```mermaid\nflowchart LR\n");
    expect(r.stdout).toContain("class n3 failed");
    expectGolden("imaging-why.md", r.stdout);
    expect(readFileSync(summary, "utf8")).toBe(`earlier step\n\n${r.stdout}\n`);
    // without the variable nothing is written anywhere but stdout
    expect(memopipe(["why", "--format", "md"], fixed).stdout).toBe(r.stdout);
  });

  it("cache ls and cache stats: --json with a schemaVersion, --format md tables", () => {
    const ls = JSON.parse(memopipe(["cache", "ls", "--json"], real).stdout);
    expect(ls.schemaVersion).toBe(1);
    expect(ls.entries).toHaveLength(8);
    expect(Object.keys(ls.entries[0]).sort()).toEqual(["bytes", "codec", "createdAt", "key", "outputBytes", "stage"]);
    const stats = JSON.parse(memopipe(["cache", "stats", "--json"], real).stdout);
    expect(stats).toMatchObject({ schemaVersion: 1, dir: ".memopipe", entries: 8, stages: { join: { entries: 2 }, left: { entries: 2 }, load: { entries: 2 }, right: { entries: 2 } } });
    expect(Object.keys(stats.stages)).toEqual(["join", "left", "load", "right"]);
    expect(memopipe(["cache", "stats", "--format", "md"], real).stdout).toMatch(/^### memopipe cache `\.memopipe`\n\n\| stage \| entries \| bytes \|\n[^]*\| `load` \| 2 \| \d+ \|\n[^]*\| \*\*all\*\* \| \*\*8\*\* \|/);
    expect(memopipe(["cache", "ls", "--format", "md"], real).stdout.split("\n").filter((l) => l.startsWith("| `"))).toHaveLength(8);
  });

  it("refuses two formats at once", () => {
    expect(memopipe(["why", "--json", "--format", "md"], fixed)).toMatchObject({ status: 1, stderr: "memopipe why: --json and --format md ask for two formats: give one\n" });
  });
});

describe("memopipe report", () => {
  it("writes one self-contained HTML file for the last run, or for --run", () => {
    const r = memopipe(["report"], real);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^wrote report\.html \(run r3, 4 stage runs, [\d.]+ KiB\)\n$/);
    const html = readFileSync(path.join(real, "report.html"), "utf8");
    expect(outsideReferences(html)).toEqual([]);
    expect(html).toContain("Error: join refused second");
    const out = path.join(real, "r2.html");
    expect(memopipe(["report", "--run", "r2", "--out", out], real).status).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("<title>memopipe run r2</title>");
  });

  it("--graph draws the pipeline's own graph; --records adds a sweep's table and chart", () => {
    const records = path.join(real, "results.jsonl");
    writeFileSync(records, [1, 2, 3].map((n) => JSON.stringify({ n, ms: n * 10, backend: n % 2 ? "a" : "b" })).join("\n") + "\n");
    const fixture = path.join(root, "test", "fixtures", "report-dag-module.ts");
    const r = memopipe(["report", "--graph", `${fixture}#graph`, "--records", records, "--x", "n", "--y", "ms", "--color", "backend", "--out", "sweep.html", "--title", "with a sweep"], real);
    expect(r.stderr).toMatch(/^wrote sweep\.html/);
    const html = readFileSync(path.join(real, "sweep.html"), "utf8");
    expect(html).toContain("<h2>Sweep results</h2>");
    expect(html).toContain('<td class="num">30</td>');
    expect(html).toMatch(/<div class="chart scroll"><svg/);
    expect(html).toContain('class="node mp&#45;input"'); // the described graph has the DAG's inputs node
    expect(outsideReferences(html)).toEqual([]);
  });

  it("says what is wrong in one line", () => {
    expect(memopipe(["report", "--run", "nope"], real)).toMatchObject({ status: 1, stderr: "memopipe report: no run 'nope' in .memopipe/events.jsonl\n" });
    expect(memopipe(["report", "--x", "n"], real)).toMatchObject({ status: 1, stderr: "memopipe report: a chart needs --records with both --x and --y\n" });
    expect(memopipe(["report", "--dir", "nowhere"], real).stderr).toMatch(/^memopipe report: no cache directory at nowhere/);
  });

  it("has --help with examples", () => {
    for (const args of [["report"], ["why"], ["cache", "ls"], ["cache", "stats"]]) expect(memopipe([...args, "--help"], real).stdout).toMatch(/\nExamples:\n {2}\$ memopipe /);
  });
});
