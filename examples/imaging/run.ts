/**
 * Runs the imaging DAG once on a scan and prints what each stage did (`memopipe why`'s lines).
 * Used by examples/imaging-pipeline.ts, in a copy of this folder: `tsx run.ts <scan> <runId>`.
 */
import path from "node:path";
import { file, formatWhy, lastRun } from "memopipe";
import { imagingPipeline } from "./pipeline.js";

const [scan, runId] = process.argv.slice(2);
if (!scan || !runId) throw new Error("usage: tsx run.ts <scan> <runId>");
process.env.MEMOPIPE_RUN_ID = runId;
const work = path.dirname(path.resolve(scan));
const cacheDir = path.join(work, ".memopipe");
const out = await imagingPipeline(cacheDir, work).run({ scan: file(scan), subject: "sub-01" });
console.log(`mean intensity ${out.mean.toFixed(4)}`);
for (const line of formatWhy(await lastRun(cacheDir))) console.log(`  ${line}`);
