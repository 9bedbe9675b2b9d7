/**
 * What the run-time fingerprint refresh costs (src/runtime/project-fingerprints.ts,
 * src/codegen/refresh.ts): a program that runs one cached stage, as a fresh process, on a small
 * project (4 stages, 3 files) and on the 500-stage project of bench/fingerprint.ts (50 files).
 * Median of ROUNDS fresh processes each:
 *
 * - baselines: the same program with the refresh off (`MEMOPIPE_FINGERPRINT_REFRESH=0`: node,
 *   the import, one stage), `tsc --noEmit` of the project (TypeScript 6), and reading + hashing
 *   every source file (the floor of any check that reads the files);
 * - cold: no state, no committed file (TypeScript loaded, the whole project analysed);
 * - incremental: one helper file edited since the state was written;
 * - no change: the state is current (a `stat` per file and directory, nothing read);
 *
 * and, in this process, the no-change check alone (`projectFingerprints` after forgetting what
 * it found) and the incremental analysis alone (`refreshFingerprints`, TypeScript loaded). Each
 * is printed with the extra cost over the refresh-off program and as a ratio to the baselines;
 * figures go to bench/.out/fingerprint-refresh.json.
 *
 *   npx tsup && npx tsx bench/fingerprint-refresh.ts
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runIfEntryPoint } from "./entry.js";
import { generate } from "./fingerprint.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", ".out");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const ROUNDS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The small project: 4 stages over 3 files (a helper chain, a factory, a class). */
function small(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  const tsconfig = { compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: [], strict: true, skipLibCheck: true, noEmit: true }, include: ["src"] };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "fp-small", private: true, type: "module" }));
  writeFileSync(join(dir, "src", "prep.ts"), `export function prepare(xs: number[]) { return xs.map(normalize); }\nfunction normalize(x: number) { return round(x * 10); }\nfunction round(x: number) { return Math.round(x); }\n`);
  writeFileSync(join(dir, "src", "model.ts"), `export class Model { constructor(private readonly w: number) {} predict(x: number) { return x * this.w; } }\n`);
  writeFileSync(
    join(dir, "src", "stages.ts"),
    `// @ts-nocheck\nimport { stage } from "memopipe";\nimport { prepare } from "./prep.js";\nimport { Model } from "./model.js";\n` +
      `export const clean = stage("stage-0", ({ xs }: { xs: number[] }) => ({ ys: prepare(xs) }));\n` +
      `export const scale = stage("scale", ({ x }: { x: number }) => ({ y: new Model(2).predict(x) }));\n` +
      `function build(k: number) { return stage("scaled", ({ x }: { x: number }) => ({ y: x * k })); }\nexport const s = build(2);\n` +
      `export const plain = stage("plain", ({ n }: { n: number }) => ({ m: n + 1 }));\n`,
  );
}

/** The program every fresh process runs: one cached stage named like one of the project's ("stage-0"). */
function writeProgram(dir: string): string {
  const file = join(dir, "run-one-stage.mjs");
  writeFileSync(
    file,
    `import { stage } from ${JSON.stringify(join(ROOT, "dist", "index.js"))};\n` +
      `const s = stage("stage-0", ({ x }) => ({ y: x + 1 }), { cache: { dir: ".memopipe" } });\n` +
      `await s.run({ x: 1 });\n`,
  );
  return file;
}

function time(args: string[], cwd: string, env: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", MEMOPIPE_FINGERPRINTS: "", ...env } });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return seconds;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

async function measure(name: string, dir: string, helper: string) {
  const program = writeProgram(dir);
  const state = join(dir, ".memopipe", "fingerprints");
  const on = { MEMOPIPE_FINGERPRINT_REFRESH: "1" };
  time([program], dir, { MEMOPIPE_FINGERPRINT_REFRESH: "0" }); // warm the page cache
  const baseline = median(Array.from({ length: ROUNDS }, () => time([program], dir, { MEMOPIPE_FINGERPRINT_REFRESH: "0" })));
  const tsc = median(Array.from({ length: ROUNDS }, () => time([TSC, "--noEmit", "-p", join(dir, "tsconfig.json")], dir)));
  const files = sourceFiles(join(dir, "src"));
  const readAll = median(
    Array.from({ length: ROUNDS }, () => {
      const start = process.hrtime.bigint();
      for (const f of files) createHash("sha256").update(readFileSync(f)).digest("hex");
      return Number(process.hrtime.bigint() - start) / 1e9;
    }),
  );
  const cold = median(
    Array.from({ length: ROUNDS }, () => {
      rmSync(state, { recursive: true, force: true });
      return time([program], dir, on);
    }),
  );
  const original = readFileSync(helper, "utf8");
  let edits = 0;
  const incremental = median(
    Array.from({ length: ROUNDS }, () => {
      writeFileSync(helper, `${original}\nexport function added${++edits}() { return ${edits}; }\n`);
      return time([program], dir, on);
    }),
  );
  writeFileSync(helper, original);
  time([program], dir, on); // the state matches the files again
  const noChange = median(Array.from({ length: ROUNDS }, () => time([program], dir, on)));

  // in this process: the stat check alone, and the incremental analysis alone
  const { projectFingerprints, forgetProjectFingerprints } = await import("../src/runtime/project-fingerprints.js");
  const { refreshFingerprints } = await import("../src/codegen/refresh.js");
  const { readState, statePath } = await import("../src/codegen/state.js");
  const cwd = process.cwd();
  process.chdir(dir);
  process.env["MEMOPIPE_FINGERPRINT_REFRESH"] = "1";
  process.env["MEMOPIPE_FINGERPRINTS"] = "";
  const checks: number[] = [];
  for (let i = 0; i < 20; i++) {
    forgetProjectFingerprints();
    const start = process.hrtime.bigint();
    const found = projectFingerprints(join(dir, ".memopipe"));
    checks.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (found instanceof Promise || found.kind !== "current" || found.how !== "state") throw new Error("the stat check did not find the state current");
  }
  const statCheck = median(checks);
  const tsconfig = join(dir, "tsconfig.json");
  const previous = readState(statePath(join(dir, ".memopipe"), tsconfig))!;
  refreshFingerprints({ tsconfig }); // TypeScript loaded before timing
  const analyses: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    writeFileSync(helper, `${original}\nexport function more${i}() { return ${i}; }\n`);
    const start = process.hrtime.bigint();
    const r = refreshFingerprints({ tsconfig, previous });
    analyses.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (r.mode !== "incremental") throw new Error(`expected an incremental refresh, got ${r.mode}`);
  }
  writeFileSync(helper, original);
  const analysis = median(analyses);
  const fullAnalyses: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    refreshFingerprints({ tsconfig });
    fullAnalyses.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const fullAnalysis = median(fullAnalyses);
  process.chdir(cwd);

  const stages = Object.keys(previous.data.stages).length;
  const ms = (s: number) => `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms`.padStart(10);
  console.log(`\n${name}: ${stages} stages, ${files.length} files (load ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
  console.log(`  ${"baseline: one cached stage, refresh off".padEnd(52)} ${ms(baseline)}`);
  console.log(`  ${"baseline: tsc --noEmit".padEnd(52)} ${ms(tsc)}`);
  console.log(`  ${"baseline: read + hash every source file".padEnd(52)} ${ms(readAll)}`);
  const row = (label: string, s: number) =>
    console.log(`  ${label.padEnd(52)} ${ms(s)}   +${ms(s - baseline).trim()} over refresh off, ${(s / tsc).toFixed(2)}× tsc`);
  row("cold: no state, no committed file", cold);
  row("incremental: one helper file edited", incremental);
  row("no change: the state is current", noChange);
  console.log(`  ${"in-process: the no-change check alone".padEnd(52)} ${ms(statCheck)}   ${(statCheck / readAll).toFixed(2)}× reading the files`);
  console.log(`  ${"in-process: incremental analysis (TS loaded)".padEnd(52)} ${ms(analysis)}`);
  console.log(`  ${"in-process: full analysis (TS loaded)".padEnd(52)} ${ms(fullAnalysis)}`);
  return { stages, files: files.length, seconds: { baseline, tsc, readAll, cold, incremental, noChange, statCheck, analysis, fullAnalysis } };
}

/**
 * Builds both projects, measures, prints, writes bench/.out/fingerprint-refresh.json.
 *
 * @example
 * const { small, large } = await main();
 */
export async function main() {
  mkdirSync(OUT, { recursive: true });
  const smallDir = join(OUT, "fp-small");
  small(smallDir);
  const smallResult = await measure("small project", smallDir, join(smallDir, "src", "prep.ts"));
  generate();
  const largeDir = join(OUT, "fp-project");
  rmSync(join(largeDir, "memopipe.fingerprints.json"), { force: true });
  const largeResult = await measure("500-stage project", largeDir, join(largeDir, "src", "helpers", "h7.ts"));
  const results = {
    meta: { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, load: loadavg(), rounds: ROUNDS, statistic: "median wall time (fresh processes, except in-process rows)" },
    small: smallResult,
    large: largeResult,
  };
  writeFileSync(join(OUT, "fingerprint-refresh.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("results written to bench/.out/fingerprint-refresh.json");
  return results;
}

runIfEntryPoint(import.meta.url, main);
