/**
 * The fingerprint state kept under the cache directory (`<cache dir>/fingerprints/<project>.json`):
 * the project's fingerprints as the runtime last brought them up to date, with the size, mtime and
 * SHA-256 of every file they were computed from and the mtime of the directories those files are
 * in. A process that finds every file and directory as recorded (a `stat` each, nothing read)
 * uses the fingerprints as they are; otherwise `refresh.ts` re-analyses what changed.
 *
 * Like generated.ts, this module uses only `node:` modules: the runtime imports it, and TypeScript
 * is loaded only when something changed (and only where ts-morph is installed).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sha256, sha256File, type FingerprintFile } from "./generated.js";

/**
 * A file as the state saw it: `[size, mtimeMs, sha256]`.
 *
 * @example
 * const seen: FileStamp = [1234, 1764669601000.5, "9f…"];
 */
export type FileStamp = readonly [size: number, mtimeMs: number, sha256: string];

/**
 * The state file's content.
 *
 * @example
 * const state = readState(statePath(".memopipe", "/repo/tsconfig.json"));
 * state?.data.stages["clean"]?.fingerprint;
 */
export interface FingerprintState {
  readonly format: 1;
  /** The tsconfig analysed (absolute). */
  readonly tsconfig: string;
  /** Every input of the analysis (sources, tsconfig files, dependencies' package.json), absolute → stamp. */
  readonly files: Readonly<Record<string, FileStamp>>;
  /**
   * The directories the sources are in, and the tsconfig's: absolute → `[mtimeMs, listing]`, the
   * listing a digest of the names of the source files and sub-directories in it (a file added or
   * removed changes the mtime; when only the mtime changed — a log file, the cache directory
   * created — the listing tells that the project's files did not).
   */
  readonly dirs: Readonly<Record<string, readonly [mtimeMs: number, listing: string]>>;
  /** The fingerprints, as `memopipe fingerprint` would write them. */
  readonly data: FingerprintFile;
}

/**
 * Where the state of a project lives in a cache directory: one file per tsconfig.
 *
 * @example
 * statePath("/repo/.memopipe", "/repo/tsconfig.json"); // "/repo/.memopipe/fingerprints/repo-1f2e3d4c5b6a.json"
 */
export function statePath(cacheDir: string, tsconfig: string): string {
  const name = path.basename(path.dirname(tsconfig)).replace(/[^A-Za-z0-9._-]/g, "_") || "project";
  return path.join(cacheDir, "fingerprints", `${name}-${sha256(tsconfig).slice(0, 12)}.json`);
}

/**
 * Reads a state file, or `undefined` when it is missing, unreadable or of another format.
 *
 * @example
 * const state = readState("/repo/.memopipe/fingerprints/repo-1f2e3d4c5b6a.json");
 */
export function readState(file: string): FingerprintState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as FingerprintState;
    if (state?.format !== 1 || typeof state.files !== "object" || typeof state.dirs !== "object" || state.data?.format !== 1) return undefined;
    return state;
  } catch {
    return undefined;
  }
}

/**
 * Whether every file and directory the state lists still has the size and mtime it recorded
 * (directories: the mtime). Only `stat` calls; `false` at the first difference.
 *
 * @example
 * if (state && unchanged(state)) useFingerprints(state.data);
 */
export function unchanged(state: FingerprintState): boolean {
  for (const [file, [size, mtime]] of Object.entries(state.files)) {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtime) return false;
  }
  for (const [dir, [mtime]] of Object.entries(state.dirs)) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st || st.mtimeMs !== mtime) return false;
  }
  return true;
}

/**
 * When the stats differ but nothing that matters changed (a file touched or rewritten with the
 * same bytes, a directory with a new log file or cache directory in it): the state with fresh
 * stamps, computed with no TypeScript (files whose size or mtime changed are hashed, directories
 * listed). `undefined` when a file's contents, or a directory's source files, changed.
 *
 * @example
 * const same = unchanged(state) ? state : restamped(state); // undefined: refresh
 */
export function restamped(state: FingerprintState): FingerprintState | undefined {
  const files: Record<string, FileStamp> = {};
  for (const [file, previous] of Object.entries(state.files)) {
    const now = stamp(file, previous);
    if (!now || now[2] !== previous[2]) return undefined;
    files[file] = now;
  }
  const dirs: Record<string, readonly [number, string]> = {};
  for (const [dir, previous] of Object.entries(state.dirs)) {
    const now = dirStamp(dir);
    if (!now || now[1] !== previous[1]) return undefined;
    dirs[dir] = now;
  }
  return { ...state, files, dirs };
}

const SOURCE = /\.(?:[cm]?[jt]sx?)$/;

/** A directory's mtime and the digest of its source files' and sub-directories' names (dot entries and node_modules left out). */
function dirStamp(dir: string): readonly [number, string] | undefined {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith(".") && e.name !== "node_modules" && (e.isDirectory() || SOURCE.test(e.name) || e.name.endsWith(".json")))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort();
  } catch {
    return undefined;
  }
  return [st.mtimeMs, sha256(names.join("\n"))];
}

/**
 * The stamp of a file now, reusing the recorded SHA-256 when size and mtime did not change (a
 * file is read only when it did); `undefined` when it cannot be read.
 *
 * @example
 * stamp("/repo/src/prep.ts", previous.files["/repo/src/prep.ts"]); // [812, 1764669601000.5, "e4…"]
 */
export function stamp(file: string, previous?: FileStamp): FileStamp | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (previous && previous[0] === st.size && previous[1] === st.mtimeMs) return previous;
  const digest = sha256File(file);
  return digest === undefined ? undefined : [st.size, st.mtimeMs, digest];
}

/**
 * The stamps (mtime, listing) of the directories of some files (and of `extra` directories).
 *
 * @example
 * dirStamps(["/repo/src/a.ts", "/repo/src/lib/b.ts"], ["/repo"]); // { "/repo/src": [mtime, "3f…"], … }
 */
export function dirStamps(files: Iterable<string>, extra: readonly string[] = []): Record<string, readonly [number, string]> {
  const dirs: Record<string, readonly [number, string]> = {};
  for (const dir of [...new Set([...[...files].map((f) => path.dirname(f)), ...extra])].sort()) {
    const st = dirStamp(dir);
    if (st) dirs[dir] = st;
  }
  return dirs;
}

/**
 * Writes a state file atomically (temp file and rename: another process reads the old or the new
 * one, never half of one). Failures are the caller's (a read-only cache keeps no state).
 *
 * @example
 * writeState(statePath(".memopipe", tsconfig), state);
 */
export function writeState(file: string, state: FingerprintState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // the directories again: making the cache directory may just have changed the project root's mtime
  const dirs: Record<string, readonly [number, string]> = {};
  for (const [dir, previous] of Object.entries(state.dirs)) {
    const now = dirStamp(dir);
    if (now && now[1] === previous[1]) dirs[dir] = now;
    else dirs[dir] = previous;
  }
  state = { ...state, dirs };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}
