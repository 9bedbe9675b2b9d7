/**
 * The report as a person sees it: opened from disk in a real headless Chromium (Debian's
 * `chromium`, driven by playwright-core), with JavaScript on and off. No request leaves the page,
 * nothing is logged as an error (a CSP violation would be), the graph has one node per stage, every
 * re-ran row shows a reason, stages that ran at the same time have overlapping bars, hits are
 * visible. And the imaging example's own report (the script `npm run example` runs, in a temp
 * directory), after its helper edit. Screenshots go to test-artifacts/report/ (git-ignored) for a
 * person to look at.
 *
 * Without Chromium (`/usr/bin/chromium`, or `$MEMOPIPE_CHROMIUM`) these tests say so and skip;
 * under `CI=true` they fail instead, because CI installs it (`.ci/run`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectReport, describe as describeGraph, renderReport } from "../../src/index.js";
import { imagingPipeline } from "../../examples/imaging/pipeline.js";
import { imagingRun } from "../fixtures/imaging-run.js";
import { runReportDag } from "../fixtures/report-dag.js";

const CHROMIUM = process.env.MEMOPIPE_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const artifacts = path.resolve(import.meta.dirname, "..", "..", "test-artifacts", "report");
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (process.env.CI === "true") {
    it("has Chromium to open the report in", () => {
      throw new Error(`no Chromium at ${CHROMIUM}: CI installs it (apt-get install -y chromium in .ci/run), or set MEMOPIPE_CHROMIUM`);
    });
  } else {
    console.warn(`report browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set MEMOPIPE_CHROMIUM)`);
  }
}

describe.skipIf(!haveChromium)("the report in a real browser", () => {
  let dir = "";
  let browser: Browser;
  const pages: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "memopipe-browser-"));
    await runReportDag(dir);
    const cacheDir = path.join(dir, ".memopipe");
    for (const run of ["r1", "r2", "r3"]) {
      pages[run] = path.join(dir, `report-${run}.html`);
      writeFileSync(pages[run]!, await renderReport(await collectReport(cacheDir, { run })));
    }
    // the imaging example's run after its helper edit (the fixed events of the golden report)
    const imagingCache = path.join(dir, "imaging-cache");
    mkdirSync(imagingCache);
    writeFileSync(path.join(imagingCache, "events.jsonl"), imagingRun.map((e) => JSON.stringify(e)).join("\n") + "\n");
    pages.imaging = path.join(dir, "report-imaging.html");
    const data = await collectReport(imagingCache, { graph: describeGraph(imagingPipeline(".memopipe", ".")) });
    writeFileSync(pages.imaging, await renderReport(data, { title: "imaging, after the helper edit" }));
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    mkdirSync(artifacts, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a report; returns the page with every request and every console error it made. */
  async function open(name: string, options: { javaScriptEnabled?: boolean } = {}) {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1200, height: 900 }, ...options });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const url = pathToFileURL(pages[name]!).href;
    await page.goto(url, { waitUntil: "load" });
    return { page, context, requests, errors, url };
  }

  it.each(["r2", "r3", "imaging"])("%s: no outside request, no console error, one graph node per stage", async (name) => {
    const { page, context, requests, errors, url } = await open(name);
    try {
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
      const stages = await page.locator("#stages tr.mp-row").evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute("data-stage")))]);
      const nodes = await page.locator("#graph svg g.node.mp-stage text").allTextContents();
      const names = nodes.filter((t) => !/^(hit|re-ran|ran|failed|not run|uncached)/.test(t));
      expect(names.sort()).toEqual([...stages].sort());
      await page.screenshot({ path: path.join(artifacts, `report-${name}.png`), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it("every re-ran row shows a reason; a failed row shows its error", async () => {
    for (const name of ["r2", "r3", "imaging"]) {
      const { page, context } = await open(name);
      try {
        const rows = page.locator("tr.mp-row.mp-re-ran");
        const n = await rows.count();
        if (name !== "r3") expect(n, name).toBeGreaterThan(0);
        for (let i = 0; i < n; i++) {
          const reason = rows.nth(i).locator("td.reasons li").first();
          await expect.poll(() => reason.isVisible()).toBe(true);
          expect((await reason.textContent())!.trim().length).toBeGreaterThan(3);
        }
        const failed = page.locator("tr.mp-row.mp-failed td.reasons .error");
        if (name !== "r2") expect(await failed.first().textContent()).toMatch(/Error: /);
      } finally {
        await context.close();
      }
    }
  });

  it("stages that ran at the same time have overlapping bars; hits are visible bars", async () => {
    const { page, context } = await open("r2");
    try {
      const box = async (stage: string) => (await page.locator(`#timeline rect.bar[data-stage="${stage}"]`).boundingBox())!;
      const left = await box("left");
      const right = await box("right");
      expect(left.x < right.x + right.width && right.x < left.x + left.width).toBe(true);
      expect(await page.locator("#timeline polyline.concurrency").getAttribute("data-peak")).toBe("2");
    } finally {
      await context.close();
    }
    const hits = await open("r3");
    try {
      const bars = hits.page.locator("#timeline rect.bar.mp-hit");
      expect(await bars.count()).toBe(3);
      for (const b of await bars.all()) {
        const bb = (await b.boundingBox())!;
        expect(bb.width).toBeGreaterThanOrEqual(3);
        expect(bb.height).toBeGreaterThanOrEqual(8);
      }
    } finally {
      await hits.context.close();
    }
  });

  it("reads the same with JavaScript off: the graph, the timeline, the reasons and the diffs are all there", async () => {
    const { page, context, requests, errors, url } = await open("imaging", { javaScriptEnabled: false });
    try {
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
      expect(await page.locator("#graph svg g.node.mp-stage").count()).toBe(4);
      expect(await page.locator("#timeline rect.bar").count()).toBe(4);
      await expect.poll(() => page.locator("#reruns article").first().isVisible()).toBe(true);
      expect(await page.locator("#reruns").textContent()).toContain("module constant `THRESHOLD` (helpers.ts) changed");
      await page.screenshot({ path: path.join(artifacts, "report-imaging-no-js.png"), fullPage: true });
    } finally {
      await context.close();
    }
  });
});

describe.skipIf(!haveChromium)("the imaging example's own report, after its helper edit", () => {
  let work = "";
  let browser: Browser;
  afterAll(async () => {
    await browser?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("npm run example's imaging script writes graph.svg and report.html; the report shows the helper that changed", async () => {
    work = mkdtempSync(path.join(tmpdir(), "memopipe-example-report-"));
    const root = path.resolve(import.meta.dirname, "..", "..");
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(root, "examples", "imaging-pipeline.ts")], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, MEMOPIPE_EXAMPLE_WORK: work },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(out).toContain("run 4 (a helper changed)");
    expect(readFileSync(path.join(work, "graph.svg"), "utf8")).toMatch(/^<svg[\s\S]*class="node mp&#45;stage"/);
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    const url = pathToFileURL(path.join(work, "report.html")).href;
    await page.goto(url);
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    const statuses = await page.locator("#stages tr.mp-row").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-stage"), r.className]));
    expect(statuses).toEqual([
      ["load", "mp-row mp-hit"],
      ["denoise", "mp-row mp-hit"],
      ["mask", "mp-row mp-re-ran"],
      ["measure", "mp-row mp-re-ran"],
    ]);
    expect(await page.locator('tr.mp-row[data-stage="mask"] td.reasons li').first().textContent()).toMatch(/THRESHOLD.*helpers\.ts.*changed/);
    expect(await page.locator("#graph svg g.node.mp-stage").count()).toBe(4);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "example-imaging-run-4.png"), fullPage: true });
    await context.close();
  }, 180_000);
});
