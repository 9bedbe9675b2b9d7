/**
 * The generated fingerprints file, `memopipe.fingerprints.json`: its shape, its deterministic
 * serialisation, and the run-time lookup `codeFingerprint` uses.
 *
 * This module must stay free of ts-morph / TypeScript: the runtime (src/runtime/stage-cache.ts)
 * imports it, and it ends up in users' bundles. Only `node:` modules.
 *
 * ## How the runtime knows the generated data is still valid
 *
 * The runtime sees compiled JavaScript (`Function.prototype.toString`), never the TypeScript the
 * generator read, so it cannot recompute a fingerprint, nor reliably compare one. Instead, every stage
 * entry lists the files its fingerprint was computed from (`files`: path → SHA-256 of the bytes):
 * the TypeScript sources of the stage function and of every helper, constant, class… it reaches,
 * plus the `package.json` of each installed dependency it uses (so an upgrade is seen too). At run
 * time the entry is used only when every listed file still has that digest; files are hashed once
 * per process (the code a process runs was loaded when it started, so later edits on disk are not
 * the code that runs). Any difference — even a comment — makes the entry *stale*: the runtime then
 * warns once ("run memopipe fingerprint") and falls back to hashing the function's own source. That
 * check is strict on purpose: a false "fresh" would return cached results of old code; a false
 * "stale" only costs a re-run until the file is regenerated (which then gives the same fingerprint
 * when only comments or formatting changed, so the old cache entries hit again).
 */
import { createHash } from "../runtime/lazy-builtins.js";
import { readFileSync } from "node:fs";
import path from "node:path";

/** The file name `memopipe fingerprint` writes next to the tsconfig, and the runtime reads from the working directory. */
export const FINGERPRINTS_FILE = "memopipe.fingerprints.json";

/**
 * Environment variable naming the fingerprints file the runtime reads, instead of
 * `./memopipe.fingerprints.json` in the working directory (tests, or a process started elsewhere).
 *
 * @example
 * // MEMOPIPE_FINGERPRINTS=/repo/memopipe.fingerprints.json node dist/pipeline.js
 * process.env[FINGERPRINTS_ENV] = "/repo/memopipe.fingerprints.json";
 */
export const FINGERPRINTS_ENV = "MEMOPIPE_FINGERPRINTS";

/**
 * One stage in the generated file.
 *
 * @example
 * const s: StageFingerprint = {
 *   fingerprint: "9f…",
 *   parts: { "stage function (src/pipeline.ts)": "1a…", "helper `normalize` (src/prep.ts)": "77…" },
 *   files: { "src/pipeline.ts": "c0…", "src/prep.ts": "e4…" },
 * };
 */
export interface StageFingerprint {
  /** SHA-256 (hex) over the sorted `[label, digest]` pairs of `parts`. */
  readonly fingerprint: string;
  /** What the fingerprint covers: label ("helper `normalize` (src/prep.ts)", "dependency `lodash`@4.17.21") → SHA-256 of its normalised code. */
  readonly parts: Readonly<Record<string, string>>;
  /** The files those parts were read from (paths relative to the fingerprints file) → SHA-256 of their bytes: the run-time staleness check. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * The content of `memopipe.fingerprints.json`. Deterministic: sorted keys, no timestamps.
 *
 * @example
 * const data: FingerprintFile = JSON.parse(readFileSync("memopipe.fingerprints.json", "utf8"));
 * data.stages["register"]?.fingerprint;
 */
export interface FingerprintFile {
  readonly format: 1;
  /** Which generator (and TypeScript version) wrote the file: a different one recomputes instead of reusing it. */
  readonly generator: string;
  readonly stages: Readonly<Record<string, StageFingerprint>>;
  /** Code the generator could not follow, or stage calls it could not read: "src/x.ts:12: eval(...) …". */
  readonly warnings: readonly string[];
  /**
   * Every file the analysis read (project sources, tsconfig files, dependency package.json files)
   * → SHA-256: when none changed, `memopipe fingerprint` reuses this file instead of re-analysing.
   */
  readonly inputs: Readonly<Record<string, string>>;
}

/**
 * JSON with object keys sorted at every level, two-space indented, with a final newline: the same
 * data always gives the same bytes.
 *
 * @example
 * stableStringify({ b: 1, a: [{ d: 2, c: 3 }] }); // '{\n  "a": [\n    {\n      "c": 3, …'
 */
export function stableStringify(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/**
 * SHA-256 (hex) of a string or bytes.
 *
 * @example
 * sha256("abc"); // "ba7816bf…"
 */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * SHA-256 (hex) of a file's bytes, or `undefined` when it cannot be read.
 *
 * @example
 * sha256File("src/prep.ts"); // "e4…"
 */
export function sha256File(file: string): string | undefined {
  try {
    return sha256(readFileSync(file));
  } catch {
    return undefined;
  }
}

/**
 * What the runtime found for a stage (`lookupGenerated`):
 * - `absent`: no fingerprints file;
 * - `fresh`: the stage's entry, every listed file unchanged;
 * - `stale`: the entry exists but files changed (named, relative to the fingerprints file);
 * - `unlisted`: the file exists but has no such stage;
 * - `invalid`: the file cannot be read or parsed, or has another format.
 *
 * @example
 * const found: GeneratedLookup = lookupGenerated("clean"); // { status: "stale", file, changed: ["src/prep.ts"] }
 */
export type GeneratedLookup =
  | { readonly status: "absent" }
  | { readonly status: "fresh"; readonly file: string; readonly stage: StageFingerprint }
  | { readonly status: "stale"; readonly file: string; readonly changed: readonly string[] }
  | { readonly status: "unlisted"; readonly file: string }
  | { readonly status: "invalid"; readonly file: string; readonly reason: string };

/** Parsed fingerprints files by absolute path (read once per process), `null` when absent. */
const loaded = new Map<string, FingerprintFile | null | { readonly error: string }>();
/** File digests by absolute path, computed once per process (`undefined`: unreadable). */
const fileDigests = new Map<string, string | undefined>();

/**
 * Where the runtime reads the generated fingerprints: `$MEMOPIPE_FINGERPRINTS` when set, else
 * `memopipe.fingerprints.json` in the working directory.
 *
 * @example
 * fingerprintsPath(); // "/repo/memopipe.fingerprints.json"
 */
export function fingerprintsPath(): string {
  const fromEnv = process.env[FINGERPRINTS_ENV];
  return fromEnv ? path.resolve(fromEnv) : path.join(process.cwd(), FINGERPRINTS_FILE);
}

/**
 * The generated fingerprint of a stage, if there is one and it is not stale. Reads the file once
 * per process (synchronously: a small JSON file) and hashes each listed source file once per process.
 *
 * @example
 * const found = lookupGenerated("register");
 * if (found.status === "fresh") console.log(found.stage.fingerprint);
 * else if (found.status === "stale") console.warn(`${found.changed.join(", ")} changed: run memopipe fingerprint`);
 */
export function lookupGenerated(stage: string): GeneratedLookup {
  const file = fingerprintsPath();
  let data = loaded.get(file);
  if (data === undefined) {
    data = readFingerprints(file);
    loaded.set(file, data);
  }
  if (data === null) return { status: "absent" };
  if ("error" in data) return { status: "invalid", file, reason: data.error };
  if (!Object.hasOwn(data.stages, stage)) return { status: "unlisted", file };
  const entry = data.stages[stage]!;
  const base = path.dirname(file);
  const changed: string[] = [];
  for (const [rel, expected] of Object.entries(entry.files ?? {})) {
    const abs = path.resolve(base, rel);
    if (!fileDigests.has(abs)) fileDigests.set(abs, sha256File(abs));
    if (fileDigests.get(abs) !== expected) changed.push(rel);
  }
  return changed.length > 0 ? { status: "stale", file, changed } : { status: "fresh", file, stage: entry };
}

function readFingerprints(file: string): FingerprintFile | null | { error: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    return { error: (error as Error).message };
  }
  try {
    const data = JSON.parse(text) as FingerprintFile;
    if (data?.format !== 1 || typeof data.stages !== "object" || data.stages === null) return { error: "not a format-1 fingerprints file" };
    return data;
  } catch (error) {
    return { error: `invalid JSON (${(error as Error).message})` };
  }
}
