/**
 * Compile-time cost of the `dag()` builder types (issue 10: ≤ 500 instantiations per stage at 10,
 * 40 and 100 stages, not growing with the DAG), on TypeScript 6 and 7 with `--extendedDiagnostics`.
 *
 * For each N it generates (into bench/.out/, gitignored) three files with the same N `stage(...)`
 * definitions:
 * - `dag-N.ts`: the stages in one `dag()` chain (chains, fan-ins of two and three, stages reading a
 *   DAG input), with an exact check of the type `run` resolves to;
 * - `dag-stages-N.ts`: the stages alone (what `stage()` costs, without the DAG);
 * - `dag-hand-N.ts`: the stages called by hand-written code in the same order (the baseline).
 * Per stage = (dag-N − the file that only imports memopipe) / N: the whole cost of a stage in a
 * DAG, its `stage()` call included; "DAG's own" = (dag-N − dag-stages-N) / N.
 *
 *   npx tsup && npx tsx bench/type-cost-dag.ts
 *
 * Generated code must type-check with zero errors (and a wrong edge must not): otherwise the run fails.
 */
import { writeFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { runIfEntryPoint } from "./entry.js";
import { mulberry32 } from "../src/dsl/sweep/random.js";
import { fmt, runTsc, snapshotTypes, table, version, writeCase, type Measurement, type Tool } from "./type-cost.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", ".out");

/**
 * 10, 40 and 100 are the issue's sizes; 300 shows whether the check *time* per stage stays flat
 * (instantiations can stay flat while the time grows: see "the phantom is not optional" in
 * src/types/dag.ts). tsc 6 overflows its stack at ~800 chained calls of any method (a plain
 * `.add(…)` chain too): a TypeScript limit, not memopipe's.
 */
export const DAG_SIZES = [10, 40, 100, 300] as const;
/** The goal: instantiations per stage, at every size, on both compilers. */
const GOAL_PER_STAGE = 500;

type Ty = "number" | "string";
interface GenStage {
  readonly name: string;
  readonly out: string;
  readonly ty: Ty;
  /** Indices of the predecessors (empty: the start stage). */
  readonly preds: readonly number[];
  /** What the function destructures: outputs of predecessors, and DAG inputs. */
  readonly reads: readonly { readonly name: string; readonly ty: Ty }[];
}
export interface DagProgram {
  readonly stages: readonly GenStage[];
  /** The terminal stages (no successor), in the order they were added. */
  readonly terminal: readonly number[];
  readonly fanIns: number;
  readonly readsDagInput: number;
}

/** Deterministic: the program of N stages is a prefix of every longer one (but for which stages are terminal). */
export function generateDag(n: number): DagProgram {
  const rand = mulberry32(0xda6);
  const below = (i: number): number => Math.floor(rand() * i);
  const stages: GenStage[] = [{ name: "s0", out: "o0", ty: "number", preds: [], reads: [{ name: "seed", ty: "number" }] }];
  let fanIns = 0;
  let readsDagInput = 0;
  for (let i = 1; i < n; i++) {
    // a fixed cycle of shapes: chain, fan-in of 2, a DAG input, branch from an earlier stage, fan-in of 3
    const kind = (["chain", "fan2", "input", "branch", "fan3"] as const)[(i - 1) % 5] ?? "chain";
    const preds = new Set<number>([i - 1]);
    if (kind === "fan2" && i >= 2) preds.add(i - 2);
    if (kind === "branch") {
      preds.clear();
      preds.add(below(i));
    }
    if (kind === "fan3") {
      preds.add(below(i));
      preds.add(below(i));
    }
    const ordered = [...preds].sort((a, b) => a - b);
    if (ordered.length > 1) fanIns++;
    const reads = ordered.map((p) => ({ name: stages[p]!.out, ty: stages[p]!.ty }));
    if (kind === "input") {
      reads.push({ name: "tag", ty: "string" });
      readsDagInput++;
    }
    const ty: Ty = i % 3 === 0 ? "string" : "number";
    stages.push({ name: `s${i}`, out: `o${i}`, ty, preds: ordered, reads });
  }
  const hasSucc = new Set(stages.flatMap((s) => s.preds));
  const terminal = stages.map((_, i) => i).filter((i) => !hasSucc.has(i));
  return { stages, terminal, fanIns, readsDagInput };
}

const asNum = (r: { name: string; ty: Ty }): string => (r.ty === "number" ? r.name : `${r.name}.length`);

function stageSource(s: GenStage): string {
  const params = s.reads.map((r) => r.name).join(", ");
  const types = s.reads.map((r) => `${r.name}: ${r.ty}`).join("; ");
  const sum = s.reads.map(asNum).join(" + ");
  const value = s.ty === "number" ? `${sum} + 1` : `String(${sum})`;
  return `export const ${s.name} = stage("${s.name}", ({ ${params} }: { ${types} }) => ({ ${s.out}: ${value} }));`;
}

function stagesBlock(p: DagProgram): string[] {
  return [`import { dag, stage } from "memopipe";`, ``, ...p.stages.map(stageSource), ``];
}

/** `typeof out` must be exactly the terminal outputs (and not `any`). */
function exactness(p: DagProgram): string {
  const fields = p.terminal.map((i) => `${p.stages[i]!.out}: ${p.stages[i]!.ty}`).join("; ");
  return [
    `type Exact<A, B> = 0 extends 1 & A ? false : [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
    `export const exact: Exact<Awaited<typeof out>, { ${fields} }> = true;`,
  ].join("\n");
}

export function dagSource(p: DagProgram): string {
  const lines = stagesBlock(p);
  lines.push(`export const g = dag<{ tag: string }>()`, `  .start(s0)`);
  for (const s of p.stages.slice(1)) {
    const from = s.preds.length === 1 ? `s${s.preds[0]}` : `[${s.preds.map((q) => `s${q}`).join(", ")}]`;
    lines.push(`  .edge(${from}, ${s.name})`);
  }
  lines[lines.length - 1] += ";";
  lines.push(``, `export const out = g.run({ seed: 1, tag: "t" });`, exactness(p), ``);
  return lines.join("\n");
}

export function stagesOnlySource(p: DagProgram): string {
  return [...stagesBlock(p), `export const all = [${p.stages.map((s) => s.name).join(", ")}] as const;`, `export {};`, ``].join("\n").replace(`import { dag, stage }`, `import { stage }`);
}

export function handSource(p: DagProgram): string {
  const lines = stagesBlock(p);
  lines[0] = `import { stage } from "memopipe";`;
  lines.push(`async function run(input: { seed: number; tag: string }) {`);
  for (const [i, s] of p.stages.entries()) {
    const args = s.reads.map((r) => (r.name === "seed" || r.name === "tag" ? `${r.name}: input.${r.name}` : `${r.name}: r${r.name.slice(1)}.${r.name}`)).join(", ");
    lines.push(`  const r${i} = await ${s.name}({ ${args} });`);
  }
  lines.push(`  return { ${p.terminal.map((i) => `...r${i}`).join(", ")} };`, `}`, `export const out = run({ seed: 1, tag: "t" });`, exactness(p), ``);
  return lines.join("\n");
}

const EMPTY = `import { dag, stage } from "memopipe";\n\nexport const d: typeof dag = dag;\nexport const s: typeof stage = stage;\n`;

/** A DAG that must NOT compile (a stage reads an input no predecessor gives): proves the checks run. */
const NEGATIVE = `import { dag, stage } from "memopipe";
const a = stage("a", ({ seed }: { seed: number }) => ({ x: seed }));
const b = stage("b", ({ y }: { y: number }) => ({ z: y }));
export const g = dag().start(a).edge(a, b);
`;

export interface DagRow {
  readonly n: number;
  readonly tool: Tool;
  readonly status: Measurement["status"];
  readonly instantiations: number | null;
  /** (dag − empty) / n. */
  readonly perStage: number | null;
  /** (dag − stages only) / n. */
  readonly dagOwnPerStage: number | null;
  readonly checkTime: number | null;
  readonly handCheckTime: number | null;
  readonly ratio: number | null;
}

export function main(options: { sizes?: readonly number[]; repeats?: number; log?: (line: string) => void } = {}) {
  const sizes = options.sizes ?? DAG_SIZES;
  const repeats = options.repeats ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const snapshot = snapshotTypes();
  const tools: readonly Tool[] = ["tsc6", "tsc7"];
  const versions = { tsc6: version("tsc6"), tsc7: version("tsc7") };
  log(`memopipe DAG type cost: TypeScript ${versions.tsc6} (tsc6) and ${versions.tsc7} (tsc7); N = ${sizes.join(", ")} stages; best of ${repeats}`);
  log(`types measured: dist/index.d.ts (sha256 ${snapshot.sha256.slice(0, 12)})`);
  const failures: string[] = [];
  const ok = (m: Measurement): Measurement => {
    if (m.status !== "ok") failures.push(`${m.tool} ${m.file}: ${m.status}\n  ${m.errors.slice(0, 5).join("\n  ")}`);
    return m;
  };

  const emptyConfig = writeCase("dag-empty", EMPTY);
  const empty = { tsc6: ok(runTsc("tsc6", emptyConfig, repeats)), tsc7: ok(runTsc("tsc7", emptyConfig, repeats)) };
  const negConfig = writeCase("dag-negative", NEGATIVE);
  const rejected: Record<Tool, boolean> = { tsc6: false, tsc7: false };
  for (const tool of tools) {
    const m = runTsc(tool, negConfig, 1);
    rejected[tool] = m.status === "errors" && m.errors.some((e) => e.includes("stage 'b' needs input 'y'"));
    if (!rejected[tool]) failures.push(`${tool} dag-negative.ts: expected "stage 'b' needs input 'y'", got ${m.status} ${m.errors.join(" ")}`);
  }

  const rows: DagRow[] = [];
  const programs: { n: number; fanIns: number; readsDagInput: number; terminal: number }[] = [];
  for (const n of sizes) {
    const p = generateDag(n);
    programs.push({ n, fanIns: p.fanIns, readsDagInput: p.readsDagInput, terminal: p.terminal.length });
    const dagConfig = writeCase(`dag-${n}`, dagSource(p));
    const stagesConfig = writeCase(`dag-stages-${n}`, stagesOnlySource(p));
    const handConfig = writeCase(`dag-hand-${n}`, handSource(p));
    for (const tool of tools) {
      const m = ok(runTsc(tool, dagConfig, repeats));
      const st = ok(runTsc(tool, stagesConfig, 1));
      const hand = ok(runTsc(tool, handConfig, repeats));
      const e = empty[tool].instantiations;
      const good = m.status === "ok" && m.instantiations !== null;
      rows.push({
        n,
        tool,
        status: m.status,
        instantiations: good ? m.instantiations : null,
        perStage: good && e !== null ? (m.instantiations! - e) / n : null,
        dagOwnPerStage: good && st.instantiations !== null ? (m.instantiations! - st.instantiations) / n : null,
        checkTime: m.checkTime,
        handCheckTime: hand.checkTime,
        ratio: m.checkTime !== null && hand.checkTime ? m.checkTime / hand.checkTime : null,
      });
      log(`  ${tool} N=${n}: ${m.status}, ${fmt(m.instantiations)} instantiations (stages alone ${fmt(st.instantiations)}), check ${fmt(m.checkTime, 3)}s (hand-written ${fmt(hand.checkTime, 3)}s)`);
    }
  }
  log("");
  log(
    table(
      ["N", "tool", "instantiations", "per stage", "DAG's own/stage", "check s", "hand-written s", "ratio"],
      rows.map((r) => [
        String(r.n),
        r.tool,
        fmt(r.instantiations),
        fmt(r.perStage, 1),
        fmt(r.dagOwnPerStage, 1),
        fmt(r.checkTime, 3),
        fmt(r.handCheckTime, 3),
        r.ratio === null ? "-" : `${r.ratio.toFixed(1)}x`,
      ]),
    ),
  );
  log(`empty file (imports only): tsc6 ${fmt(empty.tsc6.instantiations)}, tsc7 ${fmt(empty.tsc7.instantiations)} instantiations`);
  for (const p of programs) log(`  N=${p.n}: ${p.fanIns} fan-ins, ${p.readsDagInput} stages read a DAG input, ${p.terminal} terminal stages`);

  const goals = tools.flatMap((tool) => {
    const mine = rows.filter((r) => r.tool === tool);
    const worst = Math.max(...mine.map((r) => r.perStage ?? Infinity));
    const first = mine[0]?.perStage ?? null;
    const last = mine[mine.length - 1]?.perStage ?? null;
    const growth = first !== null && last !== null ? last / first : null;
    // Time per stage from the first size of ≥ 100 stages (below that, fixed costs dominate) to the largest.
    const perStageMs = (r: DagRow | undefined): number | null => (r?.checkTime != null ? (r.checkTime * 1000) / r.n : null);
    const timeFrom = mine.find((r) => r.n >= 100);
    const lastRow = mine[mine.length - 1];
    const a = perStageMs(timeFrom);
    const b = perStageMs(lastRow);
    const timeGrowth = timeFrom && lastRow && timeFrom !== lastRow && a && b ? b / a : null;
    return [
      {
        goal: `${tool}: <= ${GOAL_PER_STAGE} instantiations per stage at N = ${sizes.join(", ")}`,
        met: worst <= GOAL_PER_STAGE,
        detail: mine.map((r) => `N=${r.n}: ${fmt(r.perStage, 0)}`).join(", "),
      },
      {
        goal: `${tool}: check time per stage does not grow with the DAG`,
        met: timeGrowth !== null && timeGrowth <= 1.5,
        detail:
          timeGrowth === null
            ? "not measured"
            : `N=${sizes[sizes.length - 1]}: ${fmt(perStageMs(lastRow), 2)} ms, N=${timeFrom?.n}: ${fmt(perStageMs(timeFrom), 2)} ms per stage, ${timeGrowth.toFixed(2)}× (met if <= 1.5; timing: noisy on a loaded machine)`,
      },
      {
        goal: `${tool}: per-stage cost does not grow with the DAG`,
        met: growth !== null && growth <= 1.1,
        detail: growth === null ? "not measured" : `N=${sizes[sizes.length - 1]} / N=${sizes[0]} = ${growth.toFixed(2)} (met if <= 1.10)`,
      },
    ];
  });
  log("");
  for (const g of goals) log(`${g.met ? "GOAL MET   " : "GOAL MISSED"}  ${g.goal}: ${g.detail}`);
  log(`sanity: a wrong edge is rejected with its message by tsc6: ${rejected.tsc6 ? "yes" : "NO"}, tsc7: ${rejected.tsc7 ? "yes" : "NO"}`);
  const results = { date: new Date().toISOString(), typesSha256: snapshot.sha256, versions, sizes, programs, empty, rows, goals, rejected };
  writeFileSync(join(OUT, "type-cost-dag.json"), JSON.stringify(results, null, 2) + "\n");
  log(`results: ${relative(ROOT, join(OUT, "type-cost-dag.json"))}`);
  if (failures.length > 0) {
    console.error(`\nGenerated DAG code did not type-check as expected:\n${failures.join("\n")}`);
    throw new Error(`type-cost-dag: ${failures.length} file(s) failed`);
  }
  return results;
}

runIfEntryPoint(import.meta.url, () => main());
