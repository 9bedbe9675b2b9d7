/**
 * Small real projects for the fingerprint tests: files written into a temporary directory (with a
 * tsconfig), analysed as `memopipe fingerprint` does, edited, analysed again.
 *
 * @example
 * const p = project({ "src/p.ts": `import { stage } from "memopipe"; export const a = stage("a", () => ({ x: 1 }));` });
 * const before = await p.analyse();
 * p.edit("src/p.ts", "x: 1", "x: 2");
 * expect(changed(before, await p.analyse())).toEqual({ a: ["stage function (src/p.ts)"] });
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fingerprintProject, type FingerprintFile } from "../../src/codegen/index.js";
import { tempDir } from "../helpers/temp.js";

export const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: [], strict: false, skipLibCheck: true, noEmit: true },
  include: ["src"],
};

/** A project in a temp dir. */
export interface TestProject {
  readonly dir: string;
  /** Writes (or replaces) a file, relative to the project. */
  write(file: string, text: string): void;
  /** Replaces `from` by `to` in a file (and fails when `from` is not there). */
  edit(file: string, from: string | RegExp, to: string): void;
  read(file: string): string;
  /** The analysis `memopipe fingerprint` makes (not written, not reused). */
  analyse(): Promise<FingerprintFile>;
}

export function project(files: Record<string, string>, prefix = "memopipe-fp-"): TestProject {
  const dir = tempDir(prefix);
  const write = (file: string, text: string) => {
    const abs = path.join(dir, file);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };
  write("tsconfig.json", JSON.stringify(TSCONFIG, null, 2));
  for (const [file, text] of Object.entries(files)) write(file, text);
  return {
    dir,
    write,
    read: (file) => readFileSync(path.join(dir, file), "utf8"),
    edit(file, from, to) {
      const text = readFileSync(path.join(dir, file), "utf8");
      const next = text.replace(from, to);
      if (next === text) throw new Error(`edit: ${String(from)} not found in ${file}`);
      write(file, next);
    },
    analyse: () => fingerprintProject({ project: path.join(dir, "tsconfig.json"), write: false, reuse: false }),
  };
}

/** For each stage whose fingerprint differs, the labels of the parts that differ (stages added or removed: `["(added)"]` / `["(removed)"]`). */
export function changed(a: FingerprintFile, b: FingerprintFile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of new Set([...Object.keys(a.stages), ...Object.keys(b.stages)])) {
    const sa = a.stages[name];
    const sb = b.stages[name];
    if (!sa || !sb) out[name] = [sa ? "(removed)" : "(added)"];
    else if (sa.fingerprint !== sb.fingerprint) {
      out[name] = [...new Set([...Object.keys(sa.parts), ...Object.keys(sb.parts)])].filter((l) => sa.parts[l] !== sb.parts[l]).sort();
    }
  }
  return out;
}

const repo = path.resolve(import.meta.dirname, "..", "..");
const tsx = path.join(repo, "node_modules", "tsx", "dist", "cli.mjs");

/**
 * Makes `memopipe` importable in a test project: a link to this repository (built: `dist/`), or,
 * with `tsMorph: false`, a copy of the package without ts-morph beside it (its two dependencies
 * linked), as `npm install --omit=optional` leaves it.
 */
export function installMemopipe(p: TestProject, options: { tsMorph: boolean } = { tsMorph: true }): void {
  const modules = path.join(p.dir, "node_modules");
  mkdirSync(modules, { recursive: true });
  if (options.tsMorph) {
    symlinkSync(repo, path.join(modules, "memopipe"), "dir");
    return;
  }
  const pkg = path.join(modules, "memopipe");
  mkdirSync(pkg, { recursive: true });
  cpSync(path.join(repo, "package.json"), path.join(pkg, "package.json"));
  cpSync(path.join(repo, "dist"), path.join(pkg, "dist"), { recursive: true });
  const deps = Object.keys((JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
  for (const dep of deps) symlinkSync(path.join(repo, "node_modules", dep), path.join(modules, dep), "dir");
}

/**
 * Runs a TypeScript file of the project in a new process (tsx), in the project's directory, with
 * the run-time refresh on; returns its output (throws with stderr when it fails).
 */
export function runScript(p: TestProject, file: string, env: Record<string, string> = {}): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tsx, file], {
    cwd: p.dir,
    encoding: "utf8",
    env: { ...process.env, MEMOPIPE_FINGERPRINT_REFRESH: "1", MEMOPIPE_FINGERPRINTS: "", NO_COLOR: "1", ...env },
  });
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** `memopipe <args>` (the built CLI) in the project's directory. */
export function memopipe(p: TestProject, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, "dist", "cli.js"), ...args], { cwd: p.dir, encoding: "utf8", env: { ...process.env, MEMOPIPE_FINGERPRINT_REFRESH: "1", NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
