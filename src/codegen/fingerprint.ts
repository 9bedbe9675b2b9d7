/**
 * `memopipe fingerprint`: hash every stage with the project code it uses, write
 * `memopipe.fingerprints.json`; `--check`: compare with the file on disk.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";
import { analyseProgram, analysisProgram, compilerSetup, fileDigests, formatWarnings, GENERATOR } from "./analysis.js";
import { FINGERPRINTS_FILE, sha256File, stableStringify, type FingerprintFile, type StageFingerprint } from "./generated.js";

export { combine } from "./analysis.js";


/**
 * Options of `fingerprintProject` and `checkFingerprints`.
 *
 * @example
 * const options: FingerprintOptions = { project: "packages/app/tsconfig.json", reuse: false };
 */
export interface FingerprintOptions {
  /** The tsconfig.json (or its directory) of the project; default `./tsconfig.json`. */
  readonly project?: string;
  /** Where the fingerprints go; default `memopipe.fingerprints.json` next to the tsconfig. */
  readonly out?: string;
  /** Write the file (default true; `checkFingerprints` never writes). */
  readonly write?: boolean;
  /** Reuse the existing file when none of the files it was computed from changed (default true). */
  readonly reuse?: boolean;
}

/**
 * What `checkFingerprints` found.
 *
 * @example
 * // { ok: false, missing: false, stale: [{ stage: "clean", reasons: ["helper `round` (src/prep.ts) changed"] }], … }
 * const { ok, stale } = await checkFingerprints();
 */
export interface FingerprintCheck {
  /** True when the file exists and every stage in it matches the project. */
  readonly ok: boolean;
  /** The fingerprints file compared. */
  readonly file: string;
  /** The file does not exist (or cannot be read). */
  readonly missing: boolean;
  /** Each stage that differs, with why: "helper `b` (src/b.ts) changed", "new stage", "src/a.ts changed"… */
  readonly stale: readonly { readonly stage: string; readonly reasons: readonly string[] }[];
  /** The freshly computed data (what `fingerprintProject` would write). */
  readonly current: FingerprintFile;
}

/**
 * Computes the code fingerprint of every stage of a TypeScript project and writes
 * `memopipe.fingerprints.json` next to its tsconfig (the runtime reads it from the working
 * directory, or from `$MEMOPIPE_FINGERPRINTS`). Each stage's fingerprint covers its function and
 * everything in the project it transitively calls or reads — functions, classes (all their
 * members), module constants and variables, enums, the side-effect statements of the modules
 * involved — normalised so comments, formatting and type annotations do not count, and the
 * installed packages it uses by version. Code that cannot be followed (`eval`, `new Function`,
 * dynamic `import()`, `require` of a computed name, `process.env`) is listed in `warnings`.
 *
 * When the file exists and none of the files it was computed from changed (nor the set of the
 * project's files), it is returned as is without analysing the project again (`reuse: false`
 * forces the analysis).
 *
 * @example
 * // the CLI does this: `memopipe fingerprint --project tsconfig.json`
 * const data = await fingerprintProject({ project: "tsconfig.json" });
 * console.log(Object.keys(data.stages), data.warnings);
 */
export async function fingerprintProject(options: FingerprintOptions = {}): Promise<FingerprintFile> {
  const { tsconfig, out } = locate(options);
  const data = (options.reuse === false ? undefined : reusable(tsconfig, out)) ?? analyse(tsconfig, out);
  if (options.write !== false) writeIfChanged(out, data);
  return data;
}

/**
 * Recomputes the fingerprints and compares them with the file on disk (never writes). A stage is
 * stale when its fingerprint differs, when it is new or gone, and also when only the digests of
 * its source files differ (a comment edit): the runtime would then distrust the entry, so the
 * file must be regenerated.
 *
 * @example
 * const check = await checkFingerprints({ project: "tsconfig.json" });
 * if (!check.ok) {
 *   for (const s of check.stale) console.error(`${s.stage}: ${s.reasons.join(", ")}`);
 *   process.exitCode = 1;
 * }
 */
export async function checkFingerprints(options: FingerprintOptions = {}): Promise<FingerprintCheck> {
  const { tsconfig, out } = locate(options);
  const existing = readFingerprintFile(out);
  const current = (existing && options.reuse !== false ? reusable(tsconfig, out) : undefined) ?? analyse(tsconfig, out);
  if (!existing) return { ok: false, file: out, missing: true, stale: [], current };
  const stale: { stage: string; reasons: string[] }[] = [];
  for (const stage of [...new Set([...Object.keys(existing.stages), ...Object.keys(current.stages)])].sort()) {
    const before = existing.stages[stage];
    const now = current.stages[stage];
    if (!before) stale.push({ stage, reasons: ["new stage"] });
    else if (!now) stale.push({ stage, reasons: ["no longer in the project"] });
    else if (before.fingerprint !== now.fingerprint) stale.push({ stage, reasons: changedParts(before, now) });
    else {
      const files = Object.keys({ ...before.files, ...now.files }).filter((f) => before.files[f] !== now.files[f]);
      if (files.length > 0) stale.push({ stage, reasons: [`${files.join(", ")} changed (fingerprint unchanged: regenerate so the runtime trusts it)`] });
    }
  }
  return { ok: stale.length === 0, file: out, missing: false, stale, current };
}

/**
 * Reads a fingerprints file, or `undefined` when it is missing or not a format-1 file.
 *
 * @example
 * readFingerprintFile("memopipe.fingerprints.json")?.stages["register"]?.fingerprint;
 */
export function readFingerprintFile(file: string): FingerprintFile | undefined {
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as FingerprintFile;
    return data?.format === 1 && typeof data.stages === "object" && data.stages !== null ? data : undefined;
  } catch {
    return undefined;
  }
}

function changedParts(before: StageFingerprint, now: StageFingerprint): string[] {
  const labels = [...new Set([...Object.keys(before.parts), ...Object.keys(now.parts)])].sort();
  const changed = labels.filter((l) => before.parts[l] !== now.parts[l]);
  return changed.length > 0 ? changed.map((l) => (!(l in now.parts) ? `${l} removed` : !(l in before.parts) ? `${l} added` : `${l} changed`)) : ["code changed"];
}

function locate(options: FingerprintOptions): { tsconfig: string; out: string } {
  let tsconfig = path.resolve(options.project ?? "tsconfig.json");
  if (existsSync(tsconfig) && statSync(tsconfig).isDirectory()) tsconfig = path.join(tsconfig, "tsconfig.json");
  if (!existsSync(tsconfig)) throw new Error(`memopipe fingerprint: no tsconfig at ${tsconfig} (give one with --project)`);
  return { tsconfig, out: path.resolve(options.out ?? path.join(path.dirname(tsconfig), FINGERPRINTS_FILE)) };
}

const posix = (from: string, to: string) => path.relative(from, to).split(path.sep).join("/");
const isSourceFileName = (f: string) => !/\.d\.([^.]+\.)?[cm]?ts$/.test(f) && !/[\\/]node_modules[\\/]/.test(f);

/** The tsconfig's file list and the config files it reads (itself and what it `extends`). */
function readConfig(tsconfig: string): { fileNames: string[]; configFiles: string[] } | undefined {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!parsed) return undefined;
  const extended = (parsed.options["configFile"] as ts.TsConfigSourceFile | undefined)?.extendedSourceFiles ?? [];
  return { fileNames: parsed.fileNames.map((f) => path.resolve(f)), configFiles: [tsconfig, ...extended.map((f) => path.resolve(f))] };
}

/**
 * The existing file, when it can be reused as is: written by this generator, the project's file
 * list has no file it does not know, and every file it was computed from (`inputs`: the sources,
 * the tsconfig files, the dependencies' package.json) still has the same SHA-256. The analysis is
 * deterministic, so the same inputs give the same output; this check costs a tsconfig parse and
 * hashing the sources, while the analysis costs building a TypeScript program.
 */
function reusable(tsconfig: string, out: string): FingerprintFile | undefined {
  const previous = readFingerprintFile(out);
  if (!previous || previous.generator !== GENERATOR || typeof previous.inputs !== "object" || previous.inputs === null) return undefined;
  const config = readConfig(tsconfig);
  if (!config) return undefined;
  const base = path.dirname(out);
  for (const f of [...config.fileNames.filter(isSourceFileName), ...config.configFiles]) {
    if (!Object.hasOwn(previous.inputs, posix(base, f))) return undefined;
  }
  for (const [file, digest] of Object.entries(previous.inputs)) {
    if (sha256File(path.resolve(base, file)) !== digest) return undefined;
  }
  return previous;
}

/**
 * The analysis proper: build the program (TypeScript, as ts-morph bundles it) from the tsconfig,
 * and fingerprint every stage in it (analysis.ts). `partSources`, when given, receives each
 * part's source text by its digest (the report shows a changed helper's old and new code).
 */
export function analyse(tsconfig: string, out: string, partSources?: Map<string, string>): FingerprintFile {
  const setup = compilerSetup(tsconfig);
  const program = analysisProgram(setup.fileNames, setup.options);
  const base = path.dirname(out);
  const digests = fileDigests();
  const result = analyseProgram(program, path.dirname(tsconfig), { base, fileDigest: digests, ...(partSources ? { partSources } : {}) });
  const inputs: Record<string, string> = {};
  for (const f of setup.configFiles) inputs[posix(base, f)] = digests(f);
  for (const f of result.sources) inputs[posix(base, f)] = digests(f);
  for (const f of result.packageFiles) inputs[posix(base, f)] = digests(f);
  return { format: 1, generator: GENERATOR, stages: result.stages, warnings: formatWarnings(result.warnings), inputs };
}

/** Writes the file (temp + rename) unless it already has exactly these bytes. */
function writeIfChanged(out: string, data: FingerprintFile): void {
  const text = stableStringify(data);
  try {
    if (readFileSync(out, "utf8") === text) return;
  } catch {
    // absent: write it
  }
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, out);
}
