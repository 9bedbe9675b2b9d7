/**
 * What `import "memopipe"` costs a program that only builds pipes, against a bare Node in the
 * same run, and what a bundle of such a program weighs.
 *
 *   npx tsup && npx tsx bench/import.ts      (writes bench/.out/import.json)
 *
 * - **Cold start**: wall-clock time of a fresh `node` process that imports the built package (ESM:
 *   `dist/index.js`; CommonJS: `dist/index.cjs`) and builds a 3-step pipe, against a fresh `node`
 *   that does nothing (`node -e ""` / `node --input-type=module -e ""`). The variants alternate
 *   within each round (so load on the machine hits them alike); the median over rounds is
 *   reported, and the difference from the bare process is what the import costs.
 * - **In-process**: `performance.now()` around the `import()` / `require()` inside such a process,
 *   the figure the goal (≤ 15 ms) is about.
 * - **Bundle**: esbuild (`platform: "node"`, ESM, not minified) of the same pipe-only program: its
 *   size, and whether it runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, stop } from "esbuild";
import { runIfEntryPoint } from "./entry.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const esmEntry = join(root, "dist", "index.js");
const cjsEntry = join(root, "dist", "index.cjs");

/** The pipe-only program, importing memopipe from `from`. */
const program = (from: string, kind: "esm" | "cjs") =>
  `${kind === "esm" ? `import { pipe } from ${JSON.stringify(from)};` : `const { pipe } = require(${JSON.stringify(from)});`}
const run = pipe().step((x) => x * 2).store("d").step((x) => String(x)).step((s, d) => s + d).ingestAfter("d").build();
if (run(21) !== "4242") throw new Error("wrong result");`;

/** Options of `main`. */
export interface ImportBenchOptions {
  /** Rounds (each runs every variant once). Default 15. */
  readonly rounds?: number;
  readonly print?: boolean;
  /** Default bench/.out/import.json. */
  readonly outFile?: string;
}

interface Variant {
  readonly name: string;
  readonly args: readonly string[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function wallMs(args: readonly string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}

/** The in-process import time, printed by the child. */
function inProcessMs(kind: "esm" | "cjs"): number {
  const code =
    kind === "esm"
      ? `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(esmEntry).href)}); console.log(performance.now() - t);`
      : `const t = performance.now(); require(${JSON.stringify(cjsEntry)}); console.log(performance.now() - t);`;
  const args = kind === "esm" ? ["--input-type=module", "-e", code] : ["-e", code];
  return Number(execFileSync(process.execPath, args, { encoding: "utf8" }).trim());
}

export async function main(options: ImportBenchOptions = {}) {
  const rounds = options.rounds ?? 15;
  const variants: Variant[] = [
    { name: "bare node (ESM)", args: ["--input-type=module", "-e", ""] },
    { name: "import memopipe (ESM)", args: ["--input-type=module", "-e", program(pathToFileURL(esmEntry).href, "esm")] },
    { name: "bare node (CJS)", args: ["-e", ""] },
    { name: "require memopipe (CJS)", args: ["-e", program(cjsEntry, "cjs")] },
  ];
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const inProcess = { esm: [] as number[], cjs: [] as number[] };
  for (const v of variants) wallMs(v.args); // warm the file cache
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 ? [...variants].reverse() : variants) times.get(v.name)!.push(wallMs(v.args));
    inProcess.esm.push(inProcessMs("esm"));
    inProcess.cjs.push(inProcessMs("cjs"));
  }
  const med = (name: string) => median(times.get(name)!);
  const cold = {
    esm: { bareMs: med("bare node (ESM)"), withImportMs: med("import memopipe (ESM)"), inProcessMs: median(inProcess.esm) },
    cjs: { bareMs: med("bare node (CJS)"), withImportMs: med("require memopipe (CJS)"), inProcessMs: median(inProcess.cjs) },
  };

  // The bundle of the same program.
  const dir = mkdtempSync(join(tmpdir(), "memopipe-bench-import-"));
  let bundle: { bytes: number; runs: boolean; error?: string };
  try {
    const entry = join(dir, "main.mjs");
    writeFileSync(entry, program(esmEntry, "esm"));
    const outfile = join(dir, "out.mjs");
    await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "silent", absWorkingDir: root });
    const ran = spawnSync(process.execPath, [outfile], { encoding: "utf8" });
    const error = ran.status === 0 ? undefined : /^\w*Error: .*$/m.exec(ran.stderr)?.[0] ?? ran.stderr.slice(0, 200);
    bundle = { bytes: statSync(outfile).size, runs: ran.status === 0, ...(error ? { error } : {}) };
  } finally {
    await stop(); // esbuild's service process
    rmSync(dir, { recursive: true, force: true });
  }

  const result = { node: process.version, rounds, cold, bundle };
  if (options.print ?? true) {
    const row = (label: string, c: typeof cold.esm) =>
      `${label.padEnd(5)} bare ${c.bareMs.toFixed(1).padStart(6)} ms   with import ${c.withImportMs.toFixed(1).padStart(6)} ms   ` +
      `difference ${(c.withImportMs - c.bareMs).toFixed(1).padStart(5)} ms   in-process ${c.inProcessMs.toFixed(1).padStart(5)} ms (goal ≤ 15)`;
    console.log(`cold start of a pipe-only program, median of ${rounds} rounds (${process.version}):`);
    console.log(row("ESM", cold.esm));
    console.log(row("CJS", cold.cjs));
    console.log(
      `esbuild bundle of it (node, ESM, not minified): ${(bundle.bytes / 1024).toFixed(1)} KB (goal ≤ 30 KB), ${bundle.runs ? "runs" : `does not run: ${bundle.error}`}`,
    );
  }
  const outFile = options.outFile ?? join(root, "bench", ".out", "import.json");
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  return result;
}

runIfEntryPoint(import.meta.url, main);
