/**
 * Runs the imaging DAG (examples/imaging/) three times and prints what the cache did each time:
 * 1. a cold run: every stage runs ("no record");
 * 2. the same inputs again: every stage is a hit;
 * 3. after the scan file is edited: `load` re-runs ("file … changed") and so does what depends on
 *    its new output.
 *
 * Run: `npm run example` (after the training example), or `npx tsx examples/imaging-pipeline.ts`.
 */
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { file, formatWhy, lastRun } from "memopipe";
import { imagingPipeline } from "./imaging/pipeline.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.join(here, ".work", "imaging");
const cacheDir = path.join(work, ".memopipe");
const scan = path.join(work, "sub-01.txt");

function writeScan(values: number[]) {
  writeFileSync(scan, values.map((v) => v.toFixed(3)).join(" "));
  const past = new Date(Date.now() - 60_000); // outside the stat cache's racy window
  utimesSync(scan, past, past);
}

async function runOnce(title: string, runId: string) {
  process.env.MEMOPIPE_RUN_ID = runId;
  const out = await imagingPipeline(cacheDir, work).run({ scan: file(scan), subject: "sub-01" });
  console.log(`\n${title}: mean intensity ${out.mean.toFixed(4)} (${path.relative(process.cwd(), out.report)})`);
  for (const line of formatWhy(await lastRun(cacheDir))) console.log(`  ${line}`);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeScan(Array.from({ length: 64 }, (_, i) => 0.5 + 0.45 * Math.sin(i / 5)));

await runOnce("run 1 (cold cache)", "run-1");
await runOnce("run 2 (same inputs)", "run-2");
writeScan(Array.from({ length: 64 }, (_, i) => 0.5 + 0.45 * Math.cos(i / 5)));
await runOnce("run 3 (the scan changed)", "run-3");
