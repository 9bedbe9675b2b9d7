/**
 * memo's workflow in TypeScript: a grid of birthday-paradox experiments, run in parallel by the
 * Runner on worker threads with a progress bar, every point logged to a JSON-lines file, then
 * plotted as an SVG chart (no browser).
 *
 * Run: `npm run example` (the third example), or `npx tsx examples/birthday-sweep.ts`.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { grid, plotFile, Runner, task } from "memopipe";
import type { simulate } from "./birthday/simulate.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.join(here, ".work", "birthday");
const log = path.join(work, "results.jsonl");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
process.env.BIRTHDAY_LOG = log; // read by the workers when they import the task module

const points = grid({ classSize: [5, 10, 15, 20, 23, 25, 30, 35, 40, 50], nSim: [100, 1_000, 20_000] });
const runner = new Runner({ backend: "threads", progress: { label: "birthday paradox" } });
const started = Date.now();
// a point still running after a minute becomes an error record (code MEMOPIPE_POINT_TIMEOUT) and its
// thread is replaced, instead of holding up the sweep; a `signal` would stop the whole sweep
const results = await runner.run(task<typeof simulate>({ module: new URL("./birthday/simulate.ts", import.meta.url), export: "simulate" }), points, { timeout: 60_000 });
await runner.close();

// results[i] belongs to points[i] (input order), an error record where a point failed
const failed = results.filter((r) => "error" in r);
const at23 = results[points.findIndex((p) => p.classSize === 23 && p.nSim === 20_000)];
console.log(`\n${results.length} points in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failed.length} failed`);
if (at23 && !("error" in at23)) console.log(`P(shared birthday | 23 people) ≈ ${at23.estProba.toFixed(3)} (exact: 0.507)`);
const n = await plotFile(log, path.join(work, "results.svg"), { x: "classSize", y: "estProba", color: "nSim", title: "Birthday paradox" });
console.log(`plotted ${n} logged records: ${path.relative(process.cwd(), path.join(work, "results.svg"))}`);
