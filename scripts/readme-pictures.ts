/**
 * Regenerates the README's pictures of the imaging example: the DAG as SVG (memopipe graph) and a
 * screenshot of its run report after the helper edit (memopipe report, opened in Debian's
 * Chromium through playwright-core). Run after `npm run build`: `npm run pictures`.
 *
 * Writes docs/images/imaging-graph.svg and docs/images/imaging-report.png.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const images = path.join(root, "docs", "images");
const chromiumPath = process.env.MEMOPIPE_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set MEMOPIPE_CHROMIUM)`);

const work = mkdtempSync(path.join(tmpdir(), "memopipe-pictures-"));
try {
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "examples", "imaging-pipeline.ts")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, MEMOPIPE_EXAMPLE_WORK: work },
  });
  mkdirSync(images, { recursive: true });
  copyFileSync(path.join(work, "graph.svg"), path.join(images, "imaging-graph.svg"));
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(path.join(work, "report.html")).href);
    await page.screenshot({ path: path.join(images, "imaging-report.png"), fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${path.relative(root, path.join(images, "imaging-graph.svg"))} and ${path.relative(root, path.join(images, "imaging-report.png"))}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
