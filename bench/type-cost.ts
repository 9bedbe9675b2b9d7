/**
 * Compile-time cost of the `pipe()` builder types.
 *
 * Generates pipelines of N steps (into bench/.out/, gitignored), each with a hand-written baseline
 * doing the same work without memopipe, and checks every file with TypeScript 6 (tsc, JS) and
 * TypeScript 7 (tsc7, native) using `--extendedDiagnostics`. Prints instantiations, instantiations
 * per step (above a file that only imports memopipe), check time and the ratio of check time to the
 * baseline, then the goals. Results go to bench/.out/type-cost.json.
 *
 *   npx tsup && npx tsx bench/type-cost.ts
 *
 * Generated code must type-check with zero errors: otherwise the errors are printed and the run
 * fails (`main()` throws; the script exits 1). A missed goal is only reported.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runIfEntryPoint } from "./entry.js";
import { mulberry32 } from "../src/dsl/sweep/random.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", ".out");

export const SIZES = [10, 50, 200, 500] as const;
const MAX_KEYS = 50;
/** A `.store(...)` after every STORE_EVERY-th step (and one on the input), for the first MAX_KEYS. */
const STORE_EVERY = 4;

// ---------------------------------------------------------------------------------------------
// Code generation
// ---------------------------------------------------------------------------------------------

type Ty = "number" | "string";
interface Key {
  readonly name: string;
  readonly ty: Ty;
}
interface Param {
  readonly name: string;
  readonly ty: Ty;
  /** `null` for the current value, else the memory key ingested into this parameter. */
  readonly key: Key | null;
}
interface GenStep {
  /** Source of the lambda as passed to `.step(...)` (unannotated ones get their type from the builder). */
  readonly lambda: string;
  /** The same lambda with every parameter annotated, for the baseline. */
  readonly annotated: string;
  readonly params: readonly Param[];
  readonly before: readonly Key[];
  readonly after: readonly Key[];
  readonly result: Ty;
}
export interface Program {
  readonly steps: readonly GenStep[];
  /** Keys stored after step i (index 0: on the input). */
  readonly storesAfter: ReadonlyMap<number, Key>;
  readonly output: Ty;
  readonly keysStored: number;
  readonly ingests: { readonly before: number; readonly after: number };
  readonly unannotated: number;
  /** Chained method calls in the pipeline expression (pipe() + steps + ingests + stores + build()). */
  readonly calls: number;
}

/** Deterministic PRNG (the library's mulberry32): the N-step program is a prefix of every longer one. */
const rng = mulberry32;

const asNum = (p: Param): string => (p.ty === "number" ? p.name : `${p.name}.length`);
const asStr = (p: Param): string => (p.ty === "string" ? p.name : `${p.name}.toFixed(1)`);

function body(params: readonly Param[], result: Ty): string {
  const [only] = params;
  if (params.length === 1 && only?.ty === result) return result === "number" ? `${only.name} + 1` : `${only.name} + "!"`;
  return result === "number" ? params.map(asNum).join(" + ") : params.map(asStr).join(" + ");
}

function lambdaSource(params: readonly Param[], result: Ty, annotate: boolean): string {
  const ps = params.map((p) => (annotate ? `${p.name}: ${p.ty}` : p.name)).join(", ");
  return `(${ps}) => ${body(params, result)}`;
}

export function generateProgram(n: number): Program {
  const rand = rng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(rand() * xs.length)];
    if (x === undefined) throw new Error("pick from an empty list");
    return x;
  };
  const keys: Key[] = [];
  const storesAfter = new Map<number, Key>();
  let storeOpportunities = 0;
  const store = (at: number, ty: Ty): void => {
    storeOpportunities++;
    if (storeOpportunities > MAX_KEYS) return;
    const key: Key = { name: `k${keys.length}`, ty };
    keys.push(key);
    storesAfter.set(at, key);
  };

  let cur: Ty = "number";
  store(0, cur);
  const steps: GenStep[] = [];
  let before = 0;
  let after = 0;
  let unannotated = 0;
  for (let i = 1; i <= n; i++) {
    // Kinds, in a fixed cycle so every N has the same mix:
    // u: unannotated `(x) => ...` keeping the type; c: unannotated, converting number <-> string;
    // A: annotated, 1 ingestAfter; B: annotated, 1 ingestBefore; BA: ingestBefore + ingestAfter;
    // AA: 2 ingestAfter.
    const kind = (["u", "A", "c", "B", "u", "BA", "A", "c", "AA", "B"] as const)[(i - 1) % 10] ?? "u";
    const result: Ty = kind === "c" ? (cur === "number" ? "string" : "number") : kind === "u" ? cur : pick(["number", "string"]);
    const curParam: Param = { name: "x", ty: cur, key: null };
    const keyParam = (name: string): Param => {
      const key = pick(keys);
      return { name, ty: key.ty, key };
    };
    let params: Param[];
    switch (kind) {
      case "u":
      case "c":
        params = [curParam];
        break;
      case "A":
        params = [curParam, keyParam("a")];
        break;
      case "B":
        params = [keyParam("b"), curParam];
        break;
      case "BA":
        params = [keyParam("b"), curParam, keyParam("a")];
        break;
      case "AA":
        params = [curParam, keyParam("a"), keyParam("c")];
        break;
    }
    const idx = params.indexOf(curParam);
    const b = params.slice(0, idx).map((p) => p.key).filter((k): k is Key => k !== null);
    const a = params.slice(idx + 1).map((p) => p.key).filter((k): k is Key => k !== null);
    before += b.length;
    after += a.length;
    const isUnannotated = kind === "u" || kind === "c";
    if (isUnannotated) unannotated++;
    steps.push({
      lambda: lambdaSource(params, result, !isUnannotated),
      annotated: lambdaSource(params, result, true),
      params,
      before: b,
      after: a,
      result,
    });
    cur = result;
    if (i % STORE_EVERY === 0) store(i, cur);
  }
  const calls = 2 + steps.length + before + after + storesAfter.size;
  return { steps, storesAfter, output: cur, keysStored: keys.length, ingests: { before, after }, unannotated, calls };
}

/** Checks that `typeof run` is exactly `(input: number) => Out` (and not `any`): same cost in both files. */
function exactnessCheck(out: Ty): string {
  return [
    `type Result = ReturnType<typeof run>;`,
    `type Exact<A, B> = 0 extends 1 & A ? false : [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
    `export const exact: Exact<Result, ${out}> & Exact<Parameters<typeof run>, [input: number]> = true;`,
  ].join("\n");
}

export function pipeSource(p: Program): string {
  const lines = [`import { pipe } from "memopipe";`, ``, `export const run = pipe<number>()`];
  const k0 = p.storesAfter.get(0);
  if (k0) lines.push(`  .store("${k0.name}")`);
  p.steps.forEach((s, i) => {
    const ingests = [
      ...s.before.map((k) => `.ingestBefore("${k.name}")`),
      ...s.after.map((k) => `.ingestAfter("${k.name}")`),
    ].join("");
    lines.push(`  .step(${s.lambda})${ingests}`);
    const k = p.storesAfter.get(i + 1);
    if (k) lines.push(`  .store("${k.name}")`);
  });
  lines.push(`  .build();`, ``, exactnessCheck(p.output), ``);
  return lines.join("\n");
}

export function baselineSource(p: Program): string {
  const lines = [`export function run(input: number) {`, `  const v0 = input;`];
  const k0 = p.storesAfter.get(0);
  if (k0) lines.push(`  const ${k0.name} = v0;`);
  p.steps.forEach((s, i) => {
    const n = i + 1;
    const args = s.params.map((q) => (q.key ? q.key.name : `v${n - 1}`)).join(", ");
    lines.push(`  const f${n} = ${s.annotated};`, `  const v${n} = f${n}(${args});`);
    const k = p.storesAfter.get(n);
    if (k) lines.push(`  const ${k.name} = v${n};`);
  });
  lines.push(`  return v${p.steps.length};`, `}`, ``, exactnessCheck(p.output), ``);
  return lines.join("\n");
}

const EMPTY_SOURCE = `import { pipe } from "memopipe";\n\nexport const p: typeof pipe = pipe;\n`;

/** A pipeline that must NOT compile (a string key ingested into a number parameter): proves the checks run. */
const NEGATIVE_SOURCE = `import { pipe } from "memopipe";

export const run = pipe<number>()
  .step((x) => String(x))
  .store("s")
  .step((x) => x.length)
  .step((x: number, s: number) => x + s).ingestAfter("s")
  .build();
`;

// ---------------------------------------------------------------------------------------------
// The types under test
// ---------------------------------------------------------------------------------------------

/**
 * Copies the built `dist/index.d.ts` into bench/.out/node_modules/memopipe, so that `import "memopipe"`
 * in the generated files sees one fixed version for the whole run even if `dist/` is rebuilt
 * meanwhile (`tsup` empties it first). bench/.out/package.json makes bench/.out its own package
 * scope, so the repository's self-reference ("memopipe" -> dist via "exports") does not apply there
 * and the name resolves through node_modules, like a consumer's. Checks that it does.
 */
export function snapshotTypes(): { sha256: string; resolvedTo: string } {
  const distTypes = join(ROOT, "dist", "index.d.ts");
  let source: string | null = null;
  for (let attempt = 0; attempt < 60 && source === null; attempt++) {
    if (existsSync(distTypes)) {
      try {
        source = readFileSync(distTypes, "utf8");
      } catch {
        source = null;
      }
    }
    if (source === null || source.length === 0) {
      source = null;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500); // dist is being rebuilt: wait
    }
  }
  if (source === null) throw new Error(`${relative(ROOT, distTypes)} is missing: run \`npx tsup\` first`);
  const pkgDir = join(OUT, "node_modules", "memopipe");
  mkdirSync(pkgDir, { recursive: true });
  writeFileSync(join(pkgDir, "index.d.ts"), source);
  writeFileSync(join(pkgDir, "index.js"), "export {};\n");
  writeFileSync(
    join(pkgDir, "package.json"),
    JSON.stringify({ name: "memopipe", type: "module", exports: { ".": { types: "./index.d.ts", default: "./index.js" } } }, null, 2) + "\n",
  );
  writeFileSync(join(OUT, "package.json"), JSON.stringify({ private: true, type: "module" }, null, 2) + "\n");

  const config = writeCase("resolution", EMPTY_SOURCE);
  const res = spawnSync(process.execPath, [TOOLS.tsc6, "-p", config, "--noEmit", "--traceResolution"], { cwd: ROOT, encoding: "utf8" });
  const m = /Module name 'memopipe' was successfully resolved to '([^']+)'/.exec(res.stdout ?? "");
  const expected = join(pkgDir, "index.d.ts");
  if (!m?.[1] || resolve(m[1]) !== expected) {
    throw new Error(`"memopipe" should resolve to ${expected}, got ${m?.[1] ?? "nothing"}:\n${(res.stdout ?? "").slice(-2000)}`);
  }
  return { sha256: createHash("sha256").update(source).digest("hex"), resolvedTo: relative(ROOT, expected) };
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

export type Tool = "tsc6" | "tsc7";
const TOOLS: Record<Tool, string> = {
  tsc6: join(ROOT, "node_modules", "typescript", "bin", "tsc"),
  tsc7: join(ROOT, "node_modules", "tsc7", "bin", "tsc"),
};

export interface Measurement {
  readonly tool: Tool;
  readonly file: string;
  /** "ok"; "errors" (diagnostics in the file); "stack-overflow"; "crash" (anything else). */
  readonly status: "ok" | "errors" | "stack-overflow" | "crash";
  readonly errors: readonly string[];
  readonly instantiations: number | null;
  readonly types: number | null;
  /** Seconds; the minimum over the repeats. */
  readonly checkTime: number | null;
  readonly totalTime: number | null;
  /** Kilobytes. */
  readonly memoryKB: number | null;
  /** Wall-clock seconds of the whole tsc process (minimum over the repeats). */
  readonly wallTime: number;
  /** Every "Name: value" line tsc printed (what tsc 7 prints may differ from tsc 6). */
  readonly raw: Readonly<Record<string, string>>;
}

export function writeCase(name: string, source: string): string {
  const file = join(OUT, `${name}.ts`);
  writeFileSync(file, source);
  const config = join(OUT, `${name}.tsconfig.json`);
  const compilerOptions = {
    strict: true,
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    skipLibCheck: true,
    types: [],
    noEmit: true,
  };
  writeFileSync(config, JSON.stringify({ compilerOptions, files: [`./${name}.ts`] }, null, 2) + "\n");
  return config;
}

function parseStats(stdout: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^([A-Za-z][A-Za-z .]*?):\s+(\S+)\s*$/.exec(line);
    if (m?.[1] && m[2]) raw[m[1]] = m[2];
  }
  return raw;
}

const num = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const v = Number.parseFloat(s);
  return Number.isFinite(v) ? v : null;
};

export function runTsc(tool: Tool, config: string, repeats: number): Measurement {
  const file = relative(ROOT, config).replace(/\.tsconfig\.json$/, ".ts");
  const runs: Measurement[] = [];
  for (let r = 0; r < repeats; r++) {
    const started = process.hrtime.bigint();
    const res = spawnSync(process.execPath, [TOOLS[tool], "-p", config, "--noEmit", "--extendedDiagnostics", "--pretty", "false"], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    const wallTime = Number(process.hrtime.bigint() - started) / 1e9;
    const out = `${res.stdout ?? ""}\n${res.stderr ?? ""}`;
    const raw = parseStats(res.stdout ?? "");
    const errors = out.split(/\r?\n/).filter((l) => /error TS\d+/.test(l));
    const overflow = /Maximum call stack size exceeded|stack overflow|goroutine stack exceeds/i.test(out);
    const status: Measurement["status"] = overflow
      ? "stack-overflow"
      : errors.length > 0
        ? "errors"
        : raw["Instantiations"] === undefined && raw["Check time"] === undefined
          ? "crash"
          : "ok";
    const m: Measurement = {
      tool,
      file,
      status,
      errors: status === "crash" ? [out.trim().split(/\r?\n/).slice(0, 20).join("\n")] : errors,
      instantiations: num(raw["Instantiations"]),
      types: num(raw["Types"]),
      checkTime: num(raw["Check time"]),
      totalTime: num(raw["Total time"]),
      memoryKB: num(raw["Memory used"]),
      wallTime,
      raw,
    };
    if (status !== "ok") return m; // deterministic failure: no point repeating
    runs.push(m);
  }
  const [first] = runs;
  if (first === undefined) throw new Error("repeats must be at least 1");
  const least = (f: (m: Measurement) => number | null): number | null => {
    const values = runs.map(f).filter((v): v is number => v !== null);
    return values.length > 0 ? Math.min(...values) : null;
  };
  return { ...first, checkTime: least((m) => m.checkTime), totalTime: least((m) => m.totalTime), wallTime: least((m) => m.wallTime) ?? first.wallTime };
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

export interface Row {
  readonly n: number;
  readonly tool: Tool;
  readonly status: Measurement["status"];
  readonly instantiations: number | null;
  /** (instantiations - empty file's) / n. */
  readonly instantiationsPerStep: number | null;
  readonly types: number | null;
  readonly checkTime: number | null;
  readonly baselineCheckTime: number | null;
  /** checkTime / baselineCheckTime. */
  readonly checkTimeRatio: number | null;
  readonly baselineInstantiations: number | null;
  readonly memoryKB: number | null;
  readonly wallTime: number;
}

export interface Goal {
  readonly goal: string;
  readonly met: boolean;
  readonly detail: string;
}

export interface Results {
  readonly date: string;
  /** sha256 of the dist/index.d.ts measured. */
  readonly typesSha256: string;
  readonly versions: Readonly<Record<Tool, string>>;
  readonly sizes: readonly number[];
  readonly programs: readonly {
    n: number;
    steps: number;
    keysStored: number;
    ingestBefore: number;
    ingestAfter: number;
    unannotated: number;
    calls: number;
  }[];
  readonly empty: Readonly<Record<Tool, Measurement>>;
  readonly rows: readonly Row[];
  readonly measurements: readonly Measurement[];
  readonly negativeCheck: Readonly<Record<Tool, { rejected: boolean; errors: readonly string[] }>>;
  readonly goals: readonly Goal[];
  readonly notes: readonly string[];
}

export interface Options {
  readonly sizes?: readonly number[];
  /** Runs per file; check times are the minimum. */
  readonly repeats?: number;
  readonly log?: (line: string) => void;
}

export const fmt = (v: number | null, digits = 0): string => (v === null || !Number.isFinite(v) ? "-" : v.toFixed(digits));

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function version(tool: Tool): string {
  const res = spawnSync(process.execPath, [TOOLS[tool], "-v"], { encoding: "utf8" });
  return (res.stdout ?? "").trim().replace(/^Version\s+/, "");
}

export function main(options: Options = {}): Results {
  const sizes = options.sizes ?? SIZES;
  const repeats = options.repeats ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const snapshot = snapshotTypes();

  const tools: readonly Tool[] = ["tsc6", "tsc7"];
  const versions = { tsc6: version("tsc6"), tsc7: version("tsc7") };
  log(`memopipe type cost: TypeScript ${versions.tsc6} (tsc6) and ${versions.tsc7} (tsc7); N = ${sizes.join(", ")}; best of ${repeats}`);
  log(`types measured: dist/index.d.ts (sha256 ${snapshot.sha256.slice(0, 12)}), snapshotted to ${snapshot.resolvedTo}`);

  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const failures: string[] = [];
  const measure = (tool: Tool, config: string): Measurement => {
    const m = runTsc(tool, config, repeats);
    measurements.push(m);
    return m;
  };

  // The empty file: just the import.
  const emptyConfig = writeCase("empty", EMPTY_SOURCE);
  const empty = { tsc6: measure("tsc6", emptyConfig), tsc7: measure("tsc7", emptyConfig) };
  for (const tool of tools) if (empty[tool].status !== "ok") failures.push(`${tool} empty.ts: ${empty[tool].status}\n  ${empty[tool].errors.join("\n  ")}`);

  // The checks do run: a wrong ingest is rejected.
  const negConfig = writeCase("negative", NEGATIVE_SOURCE);
  const negativeCheck = {} as Record<Tool, { rejected: boolean; errors: readonly string[] }>;
  for (const tool of tools) {
    const m = runTsc(tool, negConfig, 1);
    negativeCheck[tool] = { rejected: m.status === "errors", errors: m.errors };
    if (m.status !== "errors") failures.push(`${tool} negative.ts: expected a type error for a wrong ingest, got ${m.status}`);
  }

  const rows: Row[] = [];
  const programs: Results["programs"][number][] = [];
  for (const n of sizes) {
    const program = generateProgram(n);
    programs.push({
      n,
      steps: program.steps.length,
      keysStored: program.keysStored,
      ingestBefore: program.ingests.before,
      ingestAfter: program.ingests.after,
      unannotated: program.unannotated,
      calls: program.calls,
    });
    const pipeConfig = writeCase(`pipe-${n}`, pipeSource(program));
    const baseConfig = writeCase(`baseline-${n}`, baselineSource(program));
    for (const tool of tools) {
      const base = measure(tool, baseConfig);
      if (base.status !== "ok") failures.push(`${tool} ${base.file}: ${base.status}\n  ${base.errors.join("\n  ")}`);
      const m = measure(tool, pipeConfig);
      if (m.status === "stack-overflow") {
        notes.push(
          `${tool} overflowed its own stack ("Maximum call stack size exceeded") on ${m.file}: ${n} steps are ${program.calls} chained calls, ` +
            `past the depth tsc 6 can walk whatever the types; its figures for N=${n} are missing`,
        );
      } else if (m.status !== "ok") {
        failures.push(`${tool} ${m.file}: ${m.status}\n  ${m.errors.join("\n  ")}`);
      }
      const e = empty[tool].instantiations;
      const ok = m.status === "ok";
      rows.push({
        n,
        tool,
        status: m.status,
        instantiations: ok ? m.instantiations : null,
        instantiationsPerStep: ok && m.instantiations !== null && e !== null ? (m.instantiations - e) / n : null,
        types: ok ? m.types : null,
        checkTime: ok ? m.checkTime : null,
        baselineCheckTime: base.checkTime,
        checkTimeRatio: ok && m.checkTime !== null && base.checkTime ? m.checkTime / base.checkTime : null,
        baselineInstantiations: base.instantiations,
        memoryKB: ok ? m.memoryKB : null,
        wallTime: m.wallTime,
      });
      log(`  ${tool} N=${n}: ${m.status}, ${fmt(m.instantiations)} instantiations, check ${fmt(m.checkTime, 3)}s (baseline ${fmt(base.checkTime, 3)}s), wall ${fmt(m.wallTime, 2)}s`);
    }
  }

  log("");
  log(
    table(
      ["N", "tool", "status", "instantiations", "inst/step", "types", "check s", "baseline s", "ratio", "base inst", "mem MB", "wall s"],
      rows.map((r) => [
        String(r.n),
        r.tool,
        r.status,
        fmt(r.instantiations),
        fmt(r.instantiationsPerStep, 1),
        fmt(r.types),
        fmt(r.checkTime, 3),
        fmt(r.baselineCheckTime, 3),
        r.checkTimeRatio === null ? "-" : `${r.checkTimeRatio.toFixed(1)}x`,
        fmt(r.baselineInstantiations),
        r.memoryKB === null ? "-" : (r.memoryKB / 1024).toFixed(0),
        fmt(r.wallTime, 2),
      ]),
    ),
  );
  log(
    `empty file (import only): tsc6 ${fmt(empty.tsc6.instantiations)} instantiations, tsc7 ${fmt(empty.tsc7.instantiations)}; ` +
      `per step = (instantiations - empty) / N; ratio = check time / hand-written baseline's`,
  );
  for (const p of programs)
    log(
      `  N=${p.n}: ${p.calls} chained calls; ${p.keysStored} keys stored, ${p.ingestBefore} ingestBefore + ${p.ingestAfter} ingestAfter, ` +
        `${p.unannotated} unannotated steps`,
    );

  // Goals.
  const goals: Goal[] = [];
  const row = (tool: Tool, n: number): Row | undefined => rows.find((r) => r.tool === tool && r.n === n);
  for (const tool of tools) {
    const checked = sizes.map((n) => row(tool, n)).filter((r): r is Row => r?.instantiations != null && r.instantiationsPerStep !== null);
    const first = checked[0];
    const last = checked[checked.length - 1];
    const missing = sizes.filter((n) => !checked.some((r) => r.n === n));
    const caveat = missing.length > 0 ? ` (N=${missing.join(", ")} could not be checked: ${row(tool, missing[0] ?? 0)?.status ?? "?"})` : "";
    const ratio = first && last && first !== last ? (last.instantiationsPerStep ?? 0) / (first.instantiationsPerStep ?? 1) : null;
    // The marginal cost of the last steps vs the first ones, which fixed costs (imports, build()) do not blur.
    const slope = (x: Row | undefined, y: Row | undefined): number | null =>
      x && y && x.instantiations !== null && y.instantiations !== null && y.n !== x.n ? (y.instantiations - x.instantiations) / (y.n - x.n) : null;
    const second = checked[1];
    const penult = checked[checked.length - 2];
    goals.push({
      goal: `${tool}: linear growth`,
      met: ratio !== null && ratio <= 1.25,
      detail:
        ratio === null || !first || !last
          ? `fewer than two sizes checked${caveat}`
          : `per-step instantiations N=${last.n} / N=${first.n} = ${ratio.toFixed(2)} (met if <= 1.25); marginal ${fmt(slope(first, second), 1)}/step ` +
            `(N ${first.n}->${second?.n}) vs ${fmt(slope(penult, last), 1)}/step (N ${penult?.n}->${last.n})${caveat}`,
    });
    const perStep = checked.map((r) => `N=${r.n}: ${fmt(r.instantiationsPerStep, 0)}`).join(", ");
    goals.push({
      goal: `${tool}: <= 300 instantiations per step`,
      met: last !== undefined && (last.instantiationsPerStep ?? Infinity) <= 300,
      detail: last === undefined ? "nothing checked" : `${fmt(last.instantiationsPerStep, 1)} at N=${last.n} (${perStep})${caveat}`,
    });
  }
  const ts2589 = measurements.filter((m) => m.errors.some((e) => e.includes("TS2589")));
  goals.push({
    goal: "no TS2589 (excessively deep instantiation)",
    met: ts2589.length === 0,
    detail: ts2589.length === 0 ? "none in any file" : ts2589.map((m) => `${m.tool} ${m.file}`).join(", "),
  });
  const speed = (tool: Tool, n: number): Goal => {
    const r = row(tool, n);
    return {
      goal: `${tool}: ${n} steps checked in < 2 s`,
      met: r?.checkTime != null && r.checkTime < 2,
      detail: r === undefined ? `N=${n} not measured` : r.checkTime === null ? `status ${r.status}` : `check time ${r.checkTime.toFixed(3)}s (tsc wall ${r.wallTime.toFixed(2)}s)`,
    };
  };
  goals.push(speed("tsc6", 200), speed("tsc7", 500));

  log("");
  for (const g of goals) log(`${g.met ? "GOAL MET   " : "GOAL MISSED"}  ${g.goal}: ${g.detail}`);
  log(`sanity: a wrong ingest is rejected by tsc6: ${negativeCheck.tsc6.rejected ? "yes" : "NO"}, tsc7: ${negativeCheck.tsc7.rejected ? "yes" : "NO"}`);
  for (const note of notes) log(`note: ${note}`);

  const results: Results = {
    date: new Date().toISOString(),
    typesSha256: snapshot.sha256,
    versions,
    sizes,
    programs,
    empty,
    rows,
    measurements,
    negativeCheck,
    goals,
    notes,
  };
  writeFileSync(join(OUT, "type-cost.json"), JSON.stringify(results, null, 2) + "\n");
  log(`results: ${relative(ROOT, join(OUT, "type-cost.json"))}`);

  if (failures.length > 0) {
    console.error(`\nGenerated code did not type-check cleanly:\n${failures.join("\n")}`);
    throw new Error(`type-cost: ${failures.length} generated file(s) failed to type-check`);
  }
  return results;
}

runIfEntryPoint(import.meta.url, () => main());
