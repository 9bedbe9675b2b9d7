/**
 * `memopipe fingerprint` on a generated project of 500 stages.
 *
 * Generates bench/.out/fp-project/ (gitignored): 20 helper modules (10 functions each that call
 * one another, some across modules, a module constant, a class in every fifth module) and 30
 * stage modules holding 500 `stage("stage-N", fn)` calls, each calling 2–3 helpers from different
 * modules — 50 source files — with memopipe's built declarations installed in its node_modules.
 * Then times, each as a fresh process (the way a user runs it), median
 * of ROUNDS:
 *
 * - baseline: `tsc --noEmit` (TypeScript 6, JS) on the same project;
 * - cold: `memopipe fingerprint` with no previous file (goal < 10 s);
 * - re-run: the same command again, nothing changed (goal < 2 s): the previous file is reused
 *   after hashing its inputs (see `reusable` in src/codegen/fingerprint.ts);
 * - after an edit: one helper changed, so the project is analysed again (no goal: reported);
 * - `--check` with nothing changed.
 *
 * and prints each as a ratio to the baseline, then GOAL MET / GOAL MISSED. Also times
 * `fingerprintProject` in this process (ts-morph already loaded: the analysis alone). Figures go
 * to bench/.out/fingerprint.json.
 *
 *   npx tsup && npx tsx bench/fingerprint.ts
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runIfEntryPoint } from "./entry.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", ".out");
const PROJECT = join(OUT, "fp-project");
const TSCONFIG = join(PROJECT, "tsconfig.json");
const FILE = join(PROJECT, "memopipe.fingerprints.json");
const CLI = join(ROOT, "dist", "cli.js");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

const STAGES = 500;
const HELPER_MODULES = 20;
const HELPERS_PER_MODULE = 10;
const STAGE_MODULES = 30;
const ROUNDS = 3;
const COLD_GOAL_S = 10;
const RERUN_GOAL_S = 2;

/** A small deterministic generator (mulberry32), so every run generates the same project. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes the generated project (replacing any previous one).
 *
 * @example
 * generate(); // bench/.out/fp-project/{tsconfig.json, src/helpers/h0.ts … src/stages/s29.ts}
 */
export function generate(): { files: number; stages: number } {
  rmSync(PROJECT, { recursive: true, force: true });
  mkdirSync(join(PROJECT, "src", "helpers"), { recursive: true });
  mkdirSync(join(PROJECT, "src", "stages"), { recursive: true });
  writeFileSync(
    TSCONFIG,
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          types: [],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  // memopipe installed as a consumer has it (its built declarations), so that `import "memopipe"`
  // resolves inside the project whatever lies above it (bench/.out holds other benchmarks' files)
  const installed = join(PROJECT, "node_modules", "memopipe");
  mkdirSync(installed, { recursive: true });
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  writeFileSync(join(installed, "package.json"), `${JSON.stringify({ name: "memopipe", version, type: "module", types: "./index.d.ts" }, null, 2)}\n`);
  copyFileSync(join(ROOT, "dist", "index.d.ts"), join(installed, "index.d.ts"));
  writeFileSync(join(PROJECT, "package.json"), `${JSON.stringify({ name: "fp-project", private: true, type: "module" }, null, 2)}\n`);
  let files = 0;
  for (let m = 0; m < HELPER_MODULES; m++) {
    const next = (m + 1) % HELPER_MODULES;
    const lines = [`import { h${next}_0 } from "./h${next}.js";`, "", `/** A module constant. */`, `export const K${m} = ${m + 1};`, ""];
    for (let j = 0; j < HELPERS_PER_MODULE; j++) {
      // h_m_j calls h_m_(j-1) (a chain inside the module); the last one calls into the next module
      const body =
        j === 0 ? `return x * K${m} + ${j};` : j === HELPERS_PER_MODULE - 1 ? `return h${m}_${j - 1}(x) + h${next}_0(x);` : `return h${m}_${j - 1}(x) - ${j};`;
      lines.push(`/** Helper ${j} of module ${m}. */`, `export function h${m}_${j}(x: number): number {`, `  ${body}`, `}`, "");
    }
    if (m % 5 === 0) {
      lines.push(
        `export class Model${m} {`,
        `  constructor(private readonly w: number) {}`,
        `  predict(x: number): number {`,
        `    return this.scale(x) + h${m}_3(x);`,
        `  }`,
        `  private scale(x: number): number {`,
        `    return x * this.w;`,
        `  }`,
        `}`,
        "",
      );
    }
    writeFileSync(join(PROJECT, "src", "helpers", `h${m}.ts`), lines.join("\n"));
    files++;
  }
  const rand = random(42);
  const perModule = Math.ceil(STAGES / STAGE_MODULES);
  for (let s = 0; s < STAGE_MODULES; s++) {
    const imports = new Map<number, Set<string>>();
    const body: string[] = [];
    for (let n = s * perModule; n < Math.min(STAGES, (s + 1) * perModule); n++) {
      const calls: string[] = [];
      const count = 2 + (n % 2);
      for (let c = 0; c < count; c++) {
        const m = Math.floor(rand() * HELPER_MODULES);
        const useModel = m % 5 === 0 && c === 0;
        const name = useModel ? `Model${m}` : `h${m}_${Math.floor(rand() * HELPERS_PER_MODULE)}`;
        imports.set(m, (imports.get(m) ?? new Set()).add(name));
        calls.push(useModel ? `new Model${m}(${c + 1}).predict(x)` : `${name}(x)`);
      }
      body.push(`/** Stage ${n}. */`, `export const stage${n} = stage("stage-${n}", ({ x }: { x: number }) => ({ y: ${calls.join(" + ")} }));`, "");
    }
    const head = [`import { stage } from "memopipe";`];
    for (const [m, names] of [...imports].sort(([a], [b]) => a - b)) head.push(`import { ${[...names].sort().join(", ")} } from "../helpers/h${m}.js";`);
    writeFileSync(join(PROJECT, "src", "stages", `s${s}.ts`), [...head, "", ...body].join("\n"));
    files++;
  }
  return { files, stages: STAGES };
}

/** Runs a command as a fresh process; seconds, or throws with its output when it fails. */
function timeProcess(args: string[], expectStatus = 0): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== expectStatus) throw new Error(`${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function rounds(fn: () => number): number {
  return median(Array.from({ length: ROUNDS }, fn));
}

/**
 * Generates the project, measures, prints the figures and the goals, writes bench/.out/fingerprint.json.
 *
 * @example
 * const { goals } = await main();
 * goals.every((g) => g.met); // true on this machine
 */
export async function main() {
  if (!existsSync(CLI)) throw new Error("dist/cli.js is missing: run `npx tsup` (or `npm run build`) first");
  const started = Date.now();
  const generated = generate();
  console.log(`generated ${generated.stages} stages in ${generated.files} files (bench/.out/fp-project)`);

  // the baseline: a type check of the same project (zero errors required: the project must be valid)
  const tsc = rounds(() => timeProcess([TSC, "--noEmit", "-p", TSCONFIG]));

  const cold = rounds(() => {
    rmSync(FILE, { force: true });
    return timeProcess([CLI, "fingerprint", "--project", TSCONFIG]);
  });
  const data = JSON.parse(readFileSync(FILE, "utf8")) as { stages: Record<string, { parts: Record<string, string> }>; warnings: string[] };
  const stageCount = Object.keys(data.stages).length;
  if (stageCount !== STAGES) throw new Error(`expected ${STAGES} stages fingerprinted, got ${stageCount}`);
  const meanParts = Object.values(data.stages).reduce((n, s) => n + Object.keys(s.parts).length, 0) / stageCount;

  const rerun = rounds(() => timeProcess([CLI, "fingerprint", "--project", TSCONFIG]));
  const check = rounds(() => timeProcess([CLI, "fingerprint", "--check", "--project", TSCONFIG]));

  // an edit: one helper changes, the file is no longer reusable, the project is analysed again
  const helper = join(PROJECT, "src", "helpers", "h7.ts");
  const original = readFileSync(helper, "utf8");
  let edits = 0;
  const afterEdit = rounds(() => {
    writeFileSync(helper, original.replace("return x * K7 + 0;", `return x * K7 + ${++edits};`));
    return timeProcess([CLI, "fingerprint", "--project", TSCONFIG]);
  });
  writeFileSync(helper, original);

  // the analysis alone, in this process (ts-morph loaded once before timing)
  const { fingerprintProject } = await import("../src/codegen/index.js");
  await fingerprintProject({ project: TSCONFIG, reuse: false, write: false });
  const inProcessRuns: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    await fingerprintProject({ project: TSCONFIG, reuse: false, write: false });
    inProcessRuns.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const inProcess = median(inProcessRuns);
  await fingerprintProject({ project: TSCONFIG }); // leave a fresh file behind

  const row = (name: string, s: number) => console.log(`  ${name.padEnd(46)} ${s.toFixed(2).padStart(6)} s   ${(s / tsc).toFixed(2).padStart(5)}× tsc`);
  console.log(`\nmedian of ${ROUNDS} fresh processes (node ${process.version}, ${cpus()[0]?.model ?? "cpu"}):`);
  row("baseline: tsc --noEmit (TypeScript 6)", tsc);
  row("memopipe fingerprint, cold (no previous file)", cold);
  row("memopipe fingerprint, re-run (nothing changed)", rerun);
  row("memopipe fingerprint --check (nothing changed)", check);
  row("memopipe fingerprint after editing one helper", afterEdit);
  row("fingerprintProject in-process (analysis only)", inProcess);
  console.log(`  ${stageCount} stages, ${meanParts.toFixed(1)} parts per stage on average, ${data.warnings.length} warnings`);

  const goals = [
    { name: "cold run", value: cold, target: `< ${COLD_GOAL_S} s`, met: cold < COLD_GOAL_S },
    { name: "re-run, nothing changed", value: rerun, target: `< ${RERUN_GOAL_S} s`, met: rerun < RERUN_GOAL_S },
  ];
  for (const g of goals) console.log(`  ${g.met ? "GOAL MET   " : "GOAL MISSED"}  ${g.name} = ${g.value.toFixed(2)} s (target ${g.target})`);

  const results = {
    meta: { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, rounds: ROUNDS, statistic: "median wall time of fresh processes" },
    project: { ...generated, meanPartsPerStage: meanParts },
    seconds: { tsc, cold, rerun, check, afterEdit, inProcess },
    ratiosToTsc: { cold: cold / tsc, rerun: rerun / tsc, check: check / tsc, afterEdit: afterEdit / tsc, inProcess: inProcess / tsc },
    goals,
    allGoalsMet: goals.every((g) => g.met),
    totalSeconds: (Date.now() - started) / 1000,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "fingerprint.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to bench/.out/fingerprint.json (${results.totalSeconds.toFixed(0)} s)`);
  return results;
}

runIfEntryPoint(import.meta.url, main);
