/**
 * The run report: what it gathers from a real cache (collectReport), and the HTML it writes
 * (renderReport): self-contained (no outside reference, a CSP), small, the same bytes for the same
 * data, every re-run with its reasons and details.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectReport, renderReport, type ReportData } from "../../src/index.js";
import { diffText } from "../../src/runtime/report/diff.js";
import { renderTimeline } from "../../src/runtime/report/timeline.js";
import { imagingPipeline } from "../../examples/imaging/pipeline.js";
import { describe as describeGraph } from "../../src/index.js";
import { imagingRun } from "../fixtures/imaging-run.js";
import { runReportDag } from "../fixtures/report-dag.js";
import { expectGolden } from "../helpers/golden.js";
import { outsideReferences } from "../helpers/html.js";

let dir = "";
let scan = "";
const cacheDir = () => path.join(dir, ".memopipe");
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "memopipe-report-"));
  ({ scan } = await runReportDag(dir));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("collectReport", () => {
  it("gathers the run's events, the graph coloured by them, the cache per stage and what changed", async () => {
    const data = await collectReport(cacheDir(), { run: "r2" });
    expect(data.run).toBe("r2");
    expect(data.events.map((e) => [e.stage, e.status])).toEqual([
      ["load", "ran"],
      ["left", "ran"],
      ["right", "ran"],
      ["join", "ran"],
    ]);
    expect(data.graph.nodes.map((n) => [n.label, n.run?.status])).toEqual([
      ["load", "re-ran"],
      ["left", "re-ran"],
      ["right", "re-ran"],
      ["join", "re-ran"],
    ]);
    expect(Object.keys(data.cache)).toEqual(["join", "left", "load", "right"]);
    expect(data.cache.load).toMatchObject({ entries: 2 });
    const load = data.details[0]!;
    expect(load.files).toEqual([
      expect.objectContaining({ path: scan, sizeBefore: 5, sizeAfter: 8, now: { size: 8, mtime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } }),
    ]);
    expect(load.files[0]!.before).toMatch(/^[0-9a-f]{64}$/);
    const join = data.details[3]!;
    // the label's values come from the two entries' records
    expect(join.inputs.find((i) => i.name === "label")).toMatchObject({ before: { value: "first" }, after: { value: "second" } });
    expect(join.inputs.find((i) => i.name === "high")).toMatchObject({ before: { value: 3 }, after: { value: 40 } });
  });

  it("the last run by default; a failed stage with its error", async () => {
    const data = await collectReport(cacheDir());
    expect(data.run).toBe("r3");
    expect(data.events.map((e) => [e.stage, e.status])).toEqual([
      ["load", "hit"],
      ["left", "hit"],
      ["right", "hit"],
      ["join", "failed"],
    ]);
    expect(data.events[3]!.error).toBe("Error: join refused second");
    expect(data.graph.nodes.find((n) => n.label === "join")!.run).toMatchObject({ status: "failed", error: "Error: join refused second" });
  });

  it("uses the pipeline's own graph when given", async () => {
    const graph = describeGraph(imagingPipeline(".memopipe", "."));
    const data = await collectReport(cacheDir(), { graph });
    expect(data.graphSource).toBe("describe");
    // its stages that are not in this run (this cache's DAG has a `load` too) are drawn as not run
    expect(data.graph.nodes.filter((n) => n.kind === "stage").map((n) => [n.label, n.run?.status])).toEqual([
      ["load", "hit"],
      ["denoise", "not-run"],
      ["mask", "not-run"],
      ["measure", "not-run"],
    ]);
  });
});

describe("renderReport", () => {
  it("writes one self-contained page: a CSP that forbids outside loads, no outside reference, no script, small", async () => {
    const html = await renderReport(await collectReport(cacheDir(), { run: "r2" }));
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="default-src 'none'; /);
    expect(outsideReferences(html)).toEqual([]);
    expect(html).not.toMatch(/<script|<iframe|<object|<embed|<link\b|\son[a-z]+=/i);
    expect(Buffer.byteLength(html)).toBeLessThan(100_000);
    expect(html).toContain('<svg class="timeline"');
    expect(html.match(/class="node mp&#45;stage/g)).toHaveLength(4); // the graph, one node per stage
    // every re-ran row says why, and links to its details
    const rows = [...html.matchAll(/<tr class="mp-row mp-re-ran"[^]*?<\/tr>/g)].map((m) => m[0]);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(/<td class="reasons">.*<li>.+<\/li>.*<a href="#run-\d">details<\/a>/);
    expect(html).toContain(`file <code>${scan}</code>`);
    expect(html).toContain("<pre>&quot;<del>first</del><ins>second</ins>&quot;\n</pre>");
  });

  it("gives the same bytes for the same data", async () => {
    const data = await collectReport(cacheDir(), { run: "r2" });
    expect(await renderReport(data)).toBe(await renderReport(data));
  });

  it("escapes every name: a stage called <script> stays text", async () => {
    const data = await collectReport(cacheDir(), { run: "r2" });
    const evil = "<script>alert(1)</script>\u202e";
    const renamed: ReportData = { ...data, events: data.events.map((e, i) => (i === 0 ? { ...e, stage: evil } : e)) };
    const html = await renderReport(renamed);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;\\u{202e}");
  });

  it("still writes the page when the graph cannot be drawn, saying why", async () => {
    const data = await collectReport(cacheDir(), { run: "r2" });
    const html = await renderReport(data, { graphSvg: async () => { throw new Error("install @viz-js/viz to use SVG graphs"); } });
    expect(html).toContain('<p class="note">The graph could not be drawn: install @viz-js/viz to use SVG graphs</p>');
  });

  it("the imaging example's run after the helper edit, byte for byte (golden)", async () => {
    const cache = mkdtempSync(path.join(tmpdir(), "memopipe-report-golden-"));
    try {
      writeFileSync(path.join(cache, "events.jsonl"), imagingRun.map((e) => JSON.stringify(e)).join("\n") + "\n");
      const graph = describeGraph(imagingPipeline(".memopipe", "."));
      const data = await collectReport(cache, { graph });
      const html = await renderReport({ ...data, dir: ".memopipe" }, { title: "imaging, after the helper edit" });
      expect(outsideReferences(html)).toEqual([]);
      expectGolden("imaging-report.html", html);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe("the timeline", () => {
  it("gives overlapping bars to stages that ran together, and a hit at least 4 px", () => {
    const { svg, peak, wallMs } = renderTimeline(imagingRun);
    expect(peak).toBe(2); // denoise and mask
    expect(wallMs).toBe(84);
    const bars = [...svg.matchAll(/<rect class="bar mp-([a-z-]+)" data-stage="([^"]+)"[^>]* x="([\d.]+)"[^>]* width="([\d.]+)"/g)].map((m) => ({ status: m[1], stage: m[2], x: Number(m[3]), w: Number(m[4]) }));
    expect(bars.map((b) => b.stage)).toEqual(["load", "denoise", "mask", "measure"]);
    const [, denoise, mask] = bars;
    expect(denoise!.x < mask!.x + mask!.w && mask!.x < denoise!.x + denoise!.w).toBe(true);
    expect(Math.min(...bars.map((b) => b.w))).toBeGreaterThanOrEqual(4);
  });
});

describe("diffText", () => {
  it("diffs by tokens and by lines", () => {
    expect(diffText("export const THRESHOLD = 0.5;", "export const THRESHOLD = 0.6;", "tokens")).toEqual([
      { op: "same", text: "export const THRESHOLD = 0." },
      { op: "del", text: "5" },
      { op: "add", text: "6" },
      { op: "same", text: ";" },
    ]);
    expect(diffText("a\nb\nc\n", "a\nc\nd\n", "lines")).toEqual([
      { op: "same", text: "a\n" },
      { op: "del", text: "b\n" },
      { op: "same", text: "c\n" },
      { op: "add", text: "d\n" },
    ]);
  });
});
