/**
 * The imaging DAG (examples/imaging/: load ──┬── denoise ──┐
 *                                            └── mask ─────┴── measure)
 * as a user runs it from a shell, four times, printing what the cache did each time:
 *
 * 1. cold: every stage runs ("no record");
 * 2. the same inputs again: every stage is a hit;
 * 3. after the scan file is edited: `load` re-runs ("file … changed"), and what its new output feeds;
 * 4. after a *helper* is edited (the mask threshold in helpers.ts) and `memopipe fingerprint` is
 *    re-run: `mask` re-runs, and the report names the constant that changed.
 *
 * Then it draws the DAG (`memopipe graph … --out graph.svg`) and writes the report of run 4
 * (`memopipe report`): one HTML file to open from disk, showing what hit, what re-ran and why.
 *
 * It works in a copy of examples/imaging/ (under examples/.work/, or `$MEMOPIPE_EXAMPLE_WORK`), so
 * the repository's files are never edited. Run: `npm run example`, or
 * `npx tsx examples/imaging-pipeline.ts` after `npm run build`.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const work = process.env.MEMOPIPE_EXAMPLE_WORK ? path.resolve(process.env.MEMOPIPE_EXAMPLE_WORK) : path.join(here, ".work", "imaging");
const scan = path.join(work, "sub-01.txt");
const fingerprints = path.join(work, "memopipe.fingerprints.json");

// a project of its own: the example's sources, a package.json and a tsconfig, and memopipe installed (a link to this repo)
rmSync(work, { recursive: true, force: true });
mkdirSync(path.join(work, "node_modules"), { recursive: true });
cpSync(path.join(here, "imaging"), work, { recursive: true });
symlinkSync(root, path.join(work, "node_modules", "memopipe"), "dir");
writeFileSync(path.join(work, "package.json"), `${JSON.stringify({ name: "imaging-example", private: true, type: "module" })}\n`);
writeFileSync(
  path.join(work, "tsconfig.json"),
  JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, skipLibCheck: true }, include: ["*.ts"] }),
);

const memopipe = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(root, "dist", "cli.js"), ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
const run = (title: string, runId: string) => {
  // tsx by its resolved URL: the work directory may be outside this repository ($MEMOPIPE_EXAMPLE_WORK)
  const out = execFileSync(process.execPath, ["--import", import.meta.resolve("tsx"), "run.ts", scan, runId], {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, MEMOPIPE_FINGERPRINTS: fingerprints, NODE_NO_WARNINGS: "1" },
  });
  console.log(`\n${title}: ${out.trimEnd()}`);
};
const writeScan = (values: number[]) => {
  writeFileSync(scan, values.map((v) => v.toFixed(3)).join(" "));
  const past = new Date(Date.now() - 60_000); // outside the stat cache's racy window
  utimesSync(scan, past, past);
};

writeScan(Array.from({ length: 64 }, (_, i) => 0.5 + 0.45 * Math.sin(i / 5)));
console.log(`$ memopipe fingerprint\n${memopipe("fingerprint").trimEnd()}`);
run("run 1 (cold cache)", "run-1");
run("run 2 (same inputs)", "run-2");
writeScan(Array.from({ length: 64 }, (_, i) => 0.5 + 0.45 * Math.cos(i / 5)));
run("run 3 (the scan changed)", "run-3");

const helpers = path.join(work, "helpers.ts");
writeFileSync(helpers, readFileSync(helpers, "utf8").replace("export const THRESHOLD = 0.5;", "export const THRESHOLD = 0.6;"));
console.log(`\n(edited helpers.ts: THRESHOLD = 0.6)\n$ memopipe fingerprint\n${memopipe("fingerprint").trimEnd()}`);
run("run 4 (a helper changed)", "run-4");

// the picture of the DAG, and the report of run 4 (each command says what it wrote on stderr)
console.log("\n$ memopipe graph pipeline.ts#imagingPipeline --out graph.svg");
memopipe("graph", "pipeline.ts#imagingPipeline", "--out", "graph.svg");
console.log("$ memopipe report --graph pipeline.ts#imagingPipeline --out report.html");
memopipe("report", "--graph", "pipeline.ts#imagingPipeline", "--title", "imaging: run 4, after the helper edit", "--out", "report.html");
console.log(`open ${path.relative(process.cwd(), path.join(work, "report.html"))} in a browser: the DAG, what hit, what re-ran and why`);
