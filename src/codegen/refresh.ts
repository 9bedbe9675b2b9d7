/**
 * The runtime's own `memopipe fingerprint`, incremental: given the previous state (state.ts) or
 * the committed file, bring the fingerprints up to date re-reading only what changed.
 *
 * How, and why it gives what a full analysis gives:
 * 1. Every input is stamped (size, mtime; re-hashed only where those changed). No change: the
 *    previous fingerprints stand (no TypeScript work at all).
 * 2. A tsconfig change, another generator, or no previous data: the full analysis.
 * 3. Otherwise the *affected* stages are those whose `files` (their closure's files, the barrels
 *    their imports go through, their factories' call sites, their packages' package.json) contain
 *    a changed or removed file, the new stages, and those a changed file now calls a factory of.
 *    A stage none of whose files changed has the same closure and the same code, so the same
 *    fingerprint: its closure can only grow through a file in it. The program is built from the
 *    changed files and the affected stages' files (TypeScript follows their imports), and only
 *    the affected stages are fingerprinted again, by the same code as the full analysis
 *    (analysis.ts). When the first program shows more affected stages whose files it lacks, it is
 *    extended (re-using every source file already parsed) and those are done too.
 */
import path from "node:path";
import { analyseProgram, analysisProgram, compilerSetup, fileDigests, formatWarnings, GENERATOR, type WarningEntry } from "./analysis.js";
import type { FingerprintFile, StageFingerprint } from "./generated.js";
import { dirStamps, stamp, type FileStamp, type FingerprintState } from "./state.js";

/**
 * What `refreshFingerprints` did.
 *
 * @example
 * const { state, mode, changed, analysed } = refreshFingerprints({ tsconfig, previous });
 * // mode: "incremental", changed: ["src/prep.ts"], analysed: ["clean"]
 */
export interface RefreshResult {
  readonly state: FingerprintState;
  /** `unchanged`: no file changed (stamps only); `incremental`: some stages re-analysed; `full`: the whole project. */
  readonly mode: "unchanged" | "incremental" | "full";
  /** Files whose contents changed, were added or removed (relative to the tsconfig's directory). */
  readonly changed: readonly string[];
  /** The stages fingerprinted again. */
  readonly analysed: readonly string[];
  /** Each part's source text by digest, for the parts analysed (the report's diffs). */
  readonly partSources: ReadonlyMap<string, string>;
}

/**
 * Options of `refreshFingerprints`.
 *
 * @example
 * refreshFingerprints({ tsconfig: "/repo/tsconfig.json", previous: readState(file) ?? fromCommitted });
 */
export interface RefreshOptions {
  readonly tsconfig: string;
  /** The last state, or one made from the committed file (`stateFromFile`); none: a full analysis. */
  readonly previous?: FingerprintState;
}

const posix = (from: string, to: string) => path.relative(from, to).split(path.sep).join("/");
const isSourceFileName = (f: string) => !/\.d\.([^.]+\.)?[cm]?ts$/.test(f) && !/[\\/]node_modules[\\/]/.test(f);

/**
 * Brings the fingerprints of a project up to date (see the file's comment). Synchronous: the
 * compiler API is.
 *
 * @example
 * const { state } = refreshFingerprints({ tsconfig: "/repo/tsconfig.json", previous });
 * state.data.stages["clean"]?.fingerprint;
 */
export function refreshFingerprints(options: RefreshOptions): RefreshResult {
  const tsconfig = path.resolve(options.tsconfig);
  const root = path.dirname(tsconfig);
  const previous = options.previous?.tsconfig === tsconfig && options.previous.data.generator === GENERATOR ? options.previous : undefined;
  const setup = compilerSetup(tsconfig);
  const sources = setup.fileNames.filter(isSourceFileName);
  const packageFiles = new Set<string>();
  for (const s of Object.values(previous?.data.stages ?? {})) {
    for (const f of Object.keys(s.files)) if (f.endsWith("package.json")) packageFiles.add(path.resolve(root, f));
  }
  const stamps: Record<string, FileStamp> = {};
  const changed = new Set<string>();
  for (const f of [...setup.configFiles, ...sources, ...packageFiles]) {
    const s = stamp(f, previous?.files[f]);
    if (s) stamps[f] = s;
    if (!previous || previous.files[f]?.[2] !== s?.[2]) changed.add(f);
  }
  for (const f of Object.keys(previous?.files ?? {})) if (!(f in stamps)) changed.add(f); // removed
  const rel = (fs: Iterable<string>) => [...fs].map((f) => posix(root, f)).sort();
  const stateOf = (data: FingerprintFile, files: Record<string, FileStamp>): FingerprintState => ({
    format: 1,
    tsconfig,
    files,
    dirs: dirStamps(Object.keys(files).filter((f) => !f.endsWith("package.json")), [root]),
    data,
  });

  if (previous && changed.size === 0) {
    return { state: stateOf(previous.data, stamps), mode: "unchanged", changed: [], analysed: [], partSources: new Map() };
  }
  const partSources = new Map<string, string>();
  const digest = fileDigests();
  if (!previous || setup.configFiles.some((f) => changed.has(f))) {
    const program = analysisProgram(setup.fileNames, setup.options);
    const result = analyseProgram(program, root, { base: root, fileDigest: digest, partSources });
    const files = { ...stamps };
    for (const f of result.packageFiles) files[f] ??= stamp(f)!;
    const inputs = Object.fromEntries(Object.entries(files).map(([f, s]) => [posix(root, f), s[2]]));
    const data: FingerprintFile = { format: 1, generator: GENERATOR, stages: result.stages, warnings: formatWarnings(result.warnings), inputs };
    return { state: stateOf(data, files), mode: "full", changed: rel(changed), analysed: Object.keys(result.stages).sort(), partSources };
  }

  // the incremental path
  const stageFiles = (s: StageFingerprint) => Object.keys(s.files).map((f) => path.resolve(root, f));
  const affected = new Set<string>();
  for (const [name, s] of Object.entries(previous.data.stages)) if (stageFiles(s).some((f) => changed.has(f))) affected.add(name);
  const sourceSet = new Set(sources);
  const rootsFor = (names: Iterable<string>) => {
    const roots = new Set([...changed].filter((f) => sourceSet.has(f)));
    for (const n of names) {
      const s = Object.hasOwn(previous.data.stages, n) ? previous.data.stages[n] : undefined;
      if (s) for (const f of stageFiles(s)) if (sourceSet.has(f)) roots.add(f);
    }
    return roots;
  };
  let roots = rootsFor(affected);
  let program = analysisProgram([...roots], setup.options);
  for (let round = 0; ; round++) {
    // a stage defined or made (a factory called) in a changed file, or new, is affected too
    const probe = analyseProgram(program, root, { base: root, fileDigest: digest, only: new Set() });
    for (const [name, calls] of probe.calls) {
      if (!(name in previous.data.stages)) affected.add(name);
      else if (calls.some((c) => changed.has(path.resolve(c.call.getSourceFile().fileName)))) affected.add(name);
      else if (calls.some((c) => probe.graph.stageStart(c).some((u) => changed.has(path.resolve(u.sf.fileName))))) affected.add(name);
    }
    const needed = rootsFor(affected);
    if ([...needed].every((f) => roots.has(f)) || round > 3) break;
    roots = needed;
    program = analysisProgram([...roots], setup.options, program);
  }
  const result = analyseProgram(program, root, { base: root, fileDigest: digest, only: affected, partSources });
  const stages: Record<string, StageFingerprint> = {};
  for (const [name, s] of Object.entries(previous.data.stages)) if (!affected.has(name)) stages[name] = s;
  Object.assign(stages, result.stages); // an affected stage the program no longer has is gone
  const sorted = Object.fromEntries(Object.keys(stages).sort().map((k) => [k, stages[k]!]));

  const files: Record<string, FileStamp> = { ...stamps };
  for (const f of result.packageFiles) files[f] ??= stamp(f)!;
  const inputs = Object.fromEntries(Object.entries(files).map(([f, s]) => [posix(root, f), s[2]]));
  // warnings: the previous ones about files this program did not read, and this program's
  const read = new Set(result.sources.map((f) => posix(root, f)));
  const kept = previous.data.warnings.filter((w) => !read.has(w.split(":")[0]!));
  const fresh = formatWarnings(result.warnings.filter((w: WarningEntry) => w.file === "" || read.has(w.file)));
  const warnings = [...new Set([...kept, ...fresh])].sort();
  const data: FingerprintFile = { format: 1, generator: GENERATOR, stages: sorted, warnings, inputs };
  return { state: stateOf(data, files), mode: "incremental", changed: rel(changed), analysed: [...affected].sort(), partSources };
}

/**
 * A state made from a committed fingerprints file (`memopipe.fingerprints.json`): its inputs with
 * no stamps yet (each is hashed once, then compared), so a refresh starting from it re-analyses
 * only what changed since it was generated.
 *
 * @example
 * const previous = stateFromFile(readFingerprintFile("memopipe.fingerprints.json")!, "/repo/memopipe.fingerprints.json", tsconfig);
 */
export function stateFromFile(data: FingerprintFile, file: string, tsconfig: string): FingerprintState {
  const base = path.dirname(path.resolve(file));
  const files: Record<string, FileStamp> = {};
  for (const [rel, sha] of Object.entries(data.inputs ?? {})) files[path.resolve(base, rel)] = [-1, -1, sha];
  return { format: 1, tsconfig: path.resolve(tsconfig), files, dirs: {}, data };
}
