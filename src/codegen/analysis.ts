/**
 * Fingerprinting the stages of one TypeScript program: find the stage calls, take each stage's
 * closure (graph.ts) and assemble its parts, fingerprint, files and warnings. Shared by the full
 * analysis (`memopipe fingerprint`, fingerprint.ts) and the runtime's incremental refresh
 * (refresh.ts), so both give the same fingerprints for the same code.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { ts } from "ts-morph";
import { sha256, sha256File, type StageFingerprint } from "./generated.js";
import { ProjectGraph, type Finding, type StageCall, type Unit } from "./graph.js";

/**
 * Which generator wrote a file. A file written by another one (another normalisation, another
 * TypeScript) is never reused: it is recomputed.
 */
export const GENERATOR = `memopipe-fingerprint/2 typescript/${ts.version}`;

/**
 * A warning before formatting: where, what, and the stages it concerns.
 *
 * @example
 * // { file: "src/risky.ts", line: 6, message: "eval(...) runs code the fingerprint cannot see", stages: Set { "risky" } }
 */
export interface WarningEntry {
  readonly file: string;
  readonly line: number;
  readonly message: string;
  readonly stages: Set<string>;
}

/**
 * Options of `analyseProgram`.
 *
 * @example
 * analyseProgram(program, "/repo", { base: "/repo", fileDigest: fileDigests(), only: new Set(["clean"]) });
 */
export interface ProgramAnalysisOptions {
  /** Paths in `files` are relative to this directory (the fingerprints file's). */
  readonly base: string;
  /** SHA-256 of a file's bytes by absolute path (memoised by the caller). */
  readonly fileDigest: (abs: string) => string;
  /** Fingerprint only these stages (default: all the program has). */
  readonly only?: ReadonlySet<string>;
  /** Receives each part's source text by its digest. */
  readonly partSources?: Map<string, string>;
}

/**
 * What `analyseProgram` found.
 *
 * @example
 * const { stages, warnings, sources } = analyseProgram(program, root, { base: root, fileDigest: fileDigests() });
 */
export interface ProgramAnalysis {
  readonly stages: Record<string, StageFingerprint>;
  readonly warnings: readonly WarningEntry[];
  /** Every stage call of the program, by name (also those not in `only`). */
  readonly calls: ReadonlyMap<string, readonly StageCall[]>;
  /** The program's project source files (absolute). */
  readonly sources: readonly string[];
  /** The dependencies' package.json files the analysis read (absolute). */
  readonly packageFiles: readonly string[];
  readonly graph: ProjectGraph;
}

const posix = (from: string, to: string) => path.relative(from, to).split(path.sep).join("/");

/**
 * The compiler settings of a tsconfig as the analysis uses them: its file list (project sources),
 * its options with `noEmit` and `skipLibCheck`, and the config files it reads (itself and what it
 * `extends`).
 *
 * @example
 * const { fileNames, options } = compilerSetup("/repo/tsconfig.json");
 * const program = ts.createProgram({ rootNames: fileNames, options });
 */
export function compilerSetup(tsconfig: string): { fileNames: string[]; options: ts.CompilerOptions; configFiles: string[] } {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, { noEmit: true, skipLibCheck: true }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const extended = (parsed?.options["configFile"] as ts.TsConfigSourceFile | undefined)?.extendedSourceFiles ?? [];
  return {
    fileNames: (parsed?.fileNames ?? []).map((f) => path.resolve(f)),
    options: { ...(parsed?.options ?? {}), noEmit: true, skipLibCheck: true },
    configFiles: [path.resolve(tsconfig), ...extended.map((f) => path.resolve(f))],
  };
}

/**
 * The program the analysis reads: the project's files and the default library, but not the
 * declarations of installed packages (a stage counts a package by its version, found from the
 * import's specifier: its types are never needed, and `@types/node` alone is ~60 files to parse).
 * An import that resolves into `node_modules` is left unresolved; path aliases into the project
 * resolve as usual. Both the full analysis and the refresh build it so, so they agree.
 *
 * @example
 * const program = analysisProgram(setup.fileNames, setup.options);
 */
export function analysisProgram(rootNames: readonly string[], options: ts.CompilerOptions, oldProgram?: ts.Program): ts.Program {
  const host = ts.createCompilerHost(options, true);
  // The default library: ts-morph's TypeScript has no lib files on disk, it carries them in memory
  // (@ts-morph/common). Without them `Model[]`, `Promise<Model>`, `.map(m => m.predict())` have no
  // types, and a class reached only through them would be missed.
  const libs = defaultLibs();
  if (libs.size > 0) {
    const { fileExists, readFile, getSourceFile } = host;
    host.getDefaultLibLocation = () => LIB_DIR;
    host.getDefaultLibFileName = (o) => path.posix.join(LIB_DIR, ts.getDefaultLibFileName(o));
    host.fileExists = (f) => libs.has(f) || fileExists.call(host, f);
    host.readFile = (f) => libs.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, language, ...rest) => {
      const text = libs.get(f);
      return text !== undefined ? ts.createSourceFile(f, text, language, true) : getSourceFile.call(host, f, language, ...rest);
    };
  }
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (f) => host.getCanonicalFileName(f), options);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts, containingSourceFile) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, opts);
      const resolved = ts.resolveModuleName(literal.text, containingFile, opts, host, cache, redirected, mode);
      return resolved.resolvedModule?.isExternalLibraryImport ? { resolvedModule: undefined } : resolved;
    });
  host.resolveTypeReferenceDirectiveReferences = (refs) => refs.map(() => ({ resolvedTypeReferenceDirective: undefined }));
  return ts.createProgram({ rootNames, options: { ...options, types: [] }, host, ...(oldProgram ? { oldProgram } : {}) });
}

const LIB_DIR = "/node_modules/typescript/lib";
let libFiles: Map<string, string> | undefined;

/** ts-morph's in-memory lib files, by their path under LIB_DIR (read once; empty when they cannot be found). */
function defaultLibs(): Map<string, string> {
  if (libFiles) return libFiles;
  libFiles = new Map();
  try {
    const require = createRequire(createRequire(import.meta.url).resolve("ts-morph"));
    const common = require("@ts-morph/common") as { getLibFiles(): { fileName: string; text: string }[] };
    for (const f of common.getLibFiles()) libFiles.set(path.posix.join(LIB_DIR, f.fileName), f.text);
  } catch {
    // another layout: TypeScript's own lib files on disk, if any, are used
  }
  return libFiles;
}

/**
 * SHA-256 of files by absolute path, each read once ("missing" when it cannot be read).
 *
 * @example
 * const digest = fileDigests();
 * digest("/repo/src/prep.ts"); // "e4…"
 */
export function fileDigests(): (abs: string) => string {
  const digests = new Map<string, string>();
  return (abs) => {
    let d = digests.get(abs);
    if (d === undefined) {
      d = sha256File(abs) ?? "missing";
      digests.set(abs, d);
    }
    return d;
  };
}

/**
 * Fingerprints the stages of a program (all, or `only` some): each stage's parts (its function,
 * the helpers, constants, classes, factory calls and module statements it uses, by label; the
 * packages it imports, by version), their combination, and the files they come from.
 *
 * @example
 * const program = ts.createProgram({ rootNames, options });
 * analyseProgram(program, "/repo", { base: "/repo", fileDigest: fileDigests() }).stages["clean"]?.fingerprint;
 */
export function analyseProgram(program: ts.Program, root: string, options: ProgramAnalysisOptions): ProgramAnalysis {
  const graph = new ProjectGraph(program, root);
  const { base, fileDigest, partSources } = options;
  const byName = new Map<string, StageCall[]>();
  for (const call of graph.stageCalls()) byName.set(call.name, [...(byName.get(call.name) ?? []), call]);

  const warnings = new Map<string, WarningEntry>();
  const warn = (f: Finding, stage?: string) => {
    const file = graph.rel(f.sf.fileName);
    const key = `${file}:${f.line}: ${f.message}`;
    const w = warnings.get(key) ?? { file, line: f.line, message: f.message, stages: new Set<string>() };
    if (stage !== undefined) w.stages.add(stage);
    warnings.set(key, w);
  };

  const stages: Record<string, StageFingerprint> = {};
  for (const name of [...byName.keys()].sort()) {
    if (options.only && !options.only.has(name)) continue;
    const calls = byName.get(name)!;
    if (calls.length > 1) {
      const where = calls.map((c) => `${graph.rel(c.call.getSourceFile().fileName)}:${graph.stageUnit(c).line}`).join(", ");
      warn({ sf: calls[1]!.call.getSourceFile(), line: graph.stageUnit(calls[1]!).line, message: `stage name "${name}" is used by ${calls.length} stage calls (${where}): they share one fingerprint covering all of them` });
    }
    const { units, dependencies, findings, files: loaded } = graph.closure(calls.flatMap((c) => graph.stageStart(c)));
    for (const f of findings) warn(f, name);

    // Labels name the unit and its file; two units of one stage with the same label (two stage
    // functions of one name in a file, a function and a namespace merged under one name) get the
    // line too. The module statements that matter to the stage are one part per file.
    const byLabel = new Map<string, Unit[]>();
    const statements = new Map<string, Unit[]>();
    for (const u of units) {
      const into = u.kind === "module statement" ? statements : byLabel;
      const label = u.kind === "module statement" ? `module statements (${graph.rel(u.sf.fileName)})` : graph.label(u);
      into.set(label, [...(into.get(label) ?? []), u]);
    }
    const parts: Record<string, string> = {};
    const part = (label: string, us: readonly Unit[]) => {
      const sorted = [...us].sort((a, b) => a.roots[0]!.pos - b.roots[0]!.pos);
      parts[label] = sorted.length === 1 ? graph.digest(sorted[0]!) : sha256(sorted.map((u) => graph.digest(u)).join("\n"));
      partSources?.set(parts[label]!, sorted.map((u) => graph.sourceText(u)).join("\n"));
    };
    for (const [label, same] of byLabel) {
      if (same.length === 1) part(label, same);
      else for (const u of same) part(graph.label(u, true), [u]);
    }
    for (const [label, same] of statements) part(label, same);
    // a dependency is counted by its version; two copies of one package (nested node_modules) by both
    const versions = new Map<string, Set<string>>();
    for (const d of dependencies) versions.set(d.label, (versions.get(d.label) ?? new Set()).add(d.digest));
    for (const [label, vs] of versions) parts[label] = [...vs].sort().join(", ");

    const files: Record<string, string> = {};
    for (const u of units) files[posix(base, u.sf.fileName)] = fileDigest(u.sf.fileName);
    for (const f of loaded) files[posix(base, f.fileName)] = fileDigest(f.fileName);
    for (const d of dependencies) if (d.packageJson) files[posix(base, d.packageJson)] = fileDigest(d.packageJson);
    stages[name] = { fingerprint: combine(parts), parts, files };
  }
  for (const p of graph.problems) warn(p);
  const sources = program.getSourceFiles().filter((sf) => graph.isProjectFile(sf));
  if (sources.length === 0) {
    const key = `${graph.rel(path.join(root, "tsconfig.json"))}: lists no source files (a solution-style tsconfig? give --project the one that includes the sources)`;
    warnings.set(key, { file: "", line: 0, message: key, stages: new Set() });
  }
  return { stages, warnings: [...warnings.values()], calls: byName, sources: sources.map((sf) => path.resolve(sf.fileName)), packageFiles: [...graph.packages.files], graph };
}

/**
 * Warnings as the file lists them: "src/x.ts:12: message (stage `a`)", by file, then line
 * (numerically), then message.
 *
 * @example
 * formatWarnings([{ file: "src/r.ts", line: 6, message: "eval(...) …", stages: new Set(["risky"]) }]); // ["src/r.ts:6: eval(...) … (stage `risky`)"]
 */
export function formatWarnings(entries: readonly WarningEntry[]): string[] {
  const text = (w: WarningEntry) => (w.file === "" ? w.message : `${w.file}:${w.line}: ${w.message}`);
  return [...entries]
    .sort((a, b) => (a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line !== b.line ? a.line - b.line : text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0))
    .map((w) => (w.stages.size === 0 ? text(w) : `${text(w)} (stage${w.stages.size > 1 ? "s" : ""} ${[...w.stages].sort().map((n) => `\`${n}\``).join(", ")})`));
}

/**
 * A stage's fingerprint: SHA-256 over its `[label, digest]` pairs sorted by label.
 *
 * @example
 * combine({ "stage function (src/p.ts)": "ab…", "dependency `lodash`": "4.17.21" }); // "5e…"
 */
export function combine(parts: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(parts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify(pairs));
}
