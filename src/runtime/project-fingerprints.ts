/**
 * The project's code fingerprints as this process can vouch for them, found once per process and
 * project: no step a user can forget (issue 7).
 *
 * In order, the first that applies:
 * 1. the state under the cache directory (`<cache dir>/fingerprints/<project>.json`, state.ts)
 *    when every file and directory it lists is as it recorded — `stat` calls only, no file read;
 * 2. the committed `memopipe.fingerprints.json` when every file it was computed from still has
 *    its digest (each read once) — then recorded as the state, so the next process only stats;
 * 3. a refresh (codegen/refresh.ts, with TypeScript from ts-morph): incremental from the state or
 *    the committed file, a few hundred milliseconds, recorded as the state;
 * 4. without ts-morph (an optional dependency) or without a tsconfig: the committed file's
 *    entries whose files are unchanged, and for every other stage the names of the files that
 *    changed — `codeFingerprint` then runs it without serving or recording a hit.
 *
 * Only step 3 is asynchronous (it loads TypeScript); a process whose sources did not change
 * never takes it.
 */
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fingerprintsPath, sha256File, type FingerprintFile, type StageFingerprint } from "../codegen/generated.js";
import { dirStamps, readState, restamped, statePath, unchanged, writeState, type FileStamp, type FingerprintState } from "../codegen/state.js";
import { projectRoot } from "./project.js";

/**
 * Environment variable: `0` turns the run-time refresh off (only the committed file is used, as
 * before it existed). memopipe's own test suite sets it for the tests that are not about
 * fingerprints, whose project is memopipe itself.
 *
 * @example
 * // MEMOPIPE_FINGERPRINT_REFRESH=0 node pipeline.js
 */
export const REFRESH_ENV = "MEMOPIPE_FINGERPRINT_REFRESH";

/**
 * What a process knows about its project's fingerprints.
 *
 * @example
 * const project = await projectFingerprints(".memopipe");
 * if (project.kind === "current") project.data.stages["clean"]?.fingerprint;
 */
export type ProjectFingerprints =
  /** Up to date: every stage of the project, vouched for. `how`: which step found it. */
  | { readonly kind: "current"; readonly data: FingerprintFile; readonly how: "state" | "committed" | "refreshed"; readonly file: string; readonly tsconfig: string }
  /**
   * Not brought up to date (no ts-morph, no tsconfig, or the refresh failed): the committed
   * file's data if any; `changed` lists, per stage, the files that changed since it was generated.
   */
  | {
      readonly kind: "partial";
      readonly data: FingerprintFile | undefined;
      readonly file: string;
      readonly changed: ReadonlyMap<string, readonly string[]>;
      /** Why it could not be brought up to date, and what to do: "ts-morph is not installed (npm install ts-morph)". */
      readonly why: string;
    };

const known = new Map<string, ProjectFingerprints | Promise<ProjectFingerprints>>();

/**
 * The project's fingerprints (see the file's comment), for a cache directory: a value, or a
 * Promise the first time a refresh is needed. Memoised per process and project.
 *
 * @example
 * const found = projectFingerprints("/repo/.memopipe");
 * const project = found instanceof Promise ? await found : found;
 */
export function projectFingerprints(cacheDir: string): ProjectFingerprints | Promise<ProjectFingerprints> {
  const file = fingerprintsPath();
  const tsconfig = process.env[REFRESH_ENV] === "0" ? undefined : locateTsconfig(file);
  // per project, not per cache directory: the code a process runs does not change while it runs
  const id = `${file}\0${tsconfig ?? ""}`;
  const hit = known.get(id);
  if (hit) return hit;
  const found = find(file, tsconfig, path.resolve(cacheDir));
  known.set(id, found);
  if (found instanceof Promise) void found.then((v) => known.set(id, v));
  return found;
}

/** Forgets what this process found (tests that edit a project and run it again in one process). */
export function forgetProjectFingerprints(): void {
  known.clear();
}

/** The tsconfig next to the fingerprints file, else at the project root; `undefined` when there is none. */
function locateTsconfig(file: string): string | undefined {
  for (const candidate of [path.join(path.dirname(file), "tsconfig.json"), path.join(projectRoot(), "tsconfig.json")]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function find(file: string, tsconfig: string | undefined, cacheDir: string): ProjectFingerprints | Promise<ProjectFingerprints> {
  const committed = readCommitted(file);
  if (!tsconfig) return partial(file, committed, "no tsconfig.json was found to analyse (next to the fingerprints file or at the project root)");
  const where = statePath(cacheDir, tsconfig);
  const state = readState(where);
  if (state && state.tsconfig === path.resolve(tsconfig)) {
    if (unchanged(state)) return { kind: "current", data: state.data, how: "state", file, tsconfig };
    const same = restamped(state);
    if (same) {
      saveState(where, same);
      return { kind: "current", data: same.data, how: "state", file, tsconfig };
    }
  }
  if (committed && committedIsFresh(committed, file)) {
    saveState(where, stateOfCommitted(committed, file, tsconfig));
    return { kind: "current", data: committed, how: "committed", file, tsconfig };
  }
  return refresh(file, tsconfig, where, state, committed, cacheDir);
}

async function refresh(
  file: string,
  tsconfig: string,
  where: string,
  state: FingerprintState | undefined,
  committed: FingerprintFile | undefined,
  cacheDir: string,
): Promise<ProjectFingerprints> {
  let mod: typeof import("../codegen/refresh.js");
  try {
    mod = await loadRefresh();
  } catch (error) {
    const missing = /ts-morph|typescript/i.test(String((error as Error)?.message)) || (error as { code?: string })?.code === "ERR_MODULE_NOT_FOUND";
    return partial(file, committed, missing ? "ts-morph is not installed to bring them up to date (npm install ts-morph)" : `they could not be brought up to date (${(error as Error).message})`);
  }
  try {
    const previous = state && state.tsconfig === path.resolve(tsconfig) ? state : committed ? mod.stateFromFile(committed, file, tsconfig) : undefined;
    const result = mod.refreshFingerprints({ tsconfig, ...(previous ? { previous } : {}) });
    saveState(where, result.state);
    savePartSources(cacheDir, result.partSources);
    return { kind: "current", data: result.state.data, how: "refreshed", file, tsconfig };
  } catch (error) {
    return partial(file, committed, `they could not be brought up to date (${(error as Error).message.split("\n")[0]})`);
  }
}

/**
 * The refresh module, with TypeScript: the built `fingerprint-refresh.js` beside this bundle, or
 * the source when memopipe runs from its sources (tests, tsx). Imported by a path in a variable,
 * so a bundler never pulls TypeScript into a user's bundle (a bundled program finds no file
 * there and takes step 4).
 */
async function loadRefresh(): Promise<typeof import("../codegen/refresh.js")> {
  const here = fileURLToPath(import.meta.url);
  const candidates = [path.join(path.dirname(here), "fingerprint-refresh.js"), path.join(path.dirname(here), "..", "codegen", "refresh.ts")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw Object.assign(new Error("the fingerprint refresh module is not beside this build"), { code: "MEMOPIPE_NO_REFRESH" });
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ found)) as typeof import("../codegen/refresh.js");
}

function readCommitted(file: string): FingerprintFile | undefined {
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as FingerprintFile;
    return data?.format === 1 && typeof data.stages === "object" && data.stages !== null ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Every input the committed file lists has its digest (each file read once). */
function committedIsFresh(data: FingerprintFile, file: string): boolean {
  const base = path.dirname(file);
  const inputs = Object.entries(data.inputs ?? {});
  return inputs.length > 0 && inputs.every(([rel, sha]) => digestOf(path.resolve(base, rel)) === sha);
}

const digests = new Map<string, string | undefined>();
function digestOf(abs: string): string | undefined {
  if (!digests.has(abs)) digests.set(abs, sha256File(abs));
  return digests.get(abs);
}

function stateOfCommitted(data: FingerprintFile, file: string, tsconfig: string): FingerprintState {
  const base = path.dirname(file);
  const files: Record<string, FileStamp> = {};
  for (const rel of Object.keys(data.inputs ?? {})) {
    const abs = path.resolve(base, rel);
    const st = statSync(abs, { throwIfNoEntry: false });
    const sha = digestOf(abs);
    if (st && sha) files[abs] = [st.size, st.mtimeMs, sha];
    else return { format: 1, tsconfig: path.resolve(tsconfig), files: {}, dirs: {}, data }; // vanished meanwhile: never trusted by stat
  }
  return { format: 1, tsconfig: path.resolve(tsconfig), files, dirs: dirStamps(Object.keys(files).filter((f) => !f.endsWith("package.json")), [path.dirname(path.resolve(tsconfig))]), data };
}

/** Step 4: per stage of the committed file, the listed files whose digest changed. */
function partial(file: string, data: FingerprintFile | undefined, why: string): ProjectFingerprints {
  const changed = new Map<string, string[]>();
  const base = path.dirname(file);
  for (const [name, stage] of Object.entries(data?.stages ?? {}) as [string, StageFingerprint][]) {
    const files = Object.entries(stage.files ?? {})
      .filter(([rel, sha]) => digestOf(path.resolve(base, rel)) !== sha)
      .map(([rel]) => rel);
    if (files.length > 0) changed.set(name, files);
  }
  return { kind: "partial", data, file, changed, why };
}

/** A state that cannot be written (a read-only cache) is only a lost shortcut: the next process refreshes again. */
function saveState(where: string, state: FingerprintState): void {
  try {
    writeState(where, state);
  } catch {
    // read-only or full: nothing is wrong, only slower next time
  }
}

/**
 * The parts' source texts, by digest, in `<cache dir>/fingerprints/sources.json` (merged with
 * what is there): `memopipe report` shows a changed helper's old and new code from them.
 */
function savePartSources(cacheDir: string, sources: ReadonlyMap<string, string>): void {
  if (sources.size === 0) return;
  const file = path.join(cacheDir, "fingerprints", "sources.json");
  try {
    const all = readPartSources(cacheDir);
    for (const [digest, text] of sources) all[digest] = text;
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all));
    renameSync(tmp, file);
  } catch {
    // read-only: the report shows digests instead
  }
}

/**
 * The part sources kept in a cache directory (digest → source text), `{}` when there are none.
 *
 * @example
 * readPartSources(".memopipe")["77ab…"]; // "function round(x: number) {\n  return Math.round(x);\n}"
 */
export function readPartSources(cacheDir: string): Record<string, string> {
  try {
    const all = JSON.parse(readFileSync(path.join(cacheDir, "fingerprints", "sources.json"), "utf8")) as unknown;
    return all !== null && typeof all === "object" ? (all as Record<string, string>) : {};
  } catch {
    return {};
  }
}
