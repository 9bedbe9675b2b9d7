/**
 * A stage's code fingerprint at run time, and how two fingerprints differ (the `code` / `helper` /
 * `dependency` reasons of a re-run). The seam between the cache (stage-cache.ts) and the generated
 * fingerprints (`memopipe fingerprint`, src/codegen): the cache only calls `codeFingerprint` and
 * `explainCode`.
 */
import { createHash } from "./lazy-builtins.js";
import type { CodeRecord } from "./cache/types.js";
import type { Reason } from "./events.js";
import { projectFingerprints, type ProjectFingerprints } from "./project-fingerprints.js";
import { normalizeSource } from "./source-normalize.js";

let warnedFallback = false;
let warnedStale = false;
const fingerprints = new WeakMap<Function, Map<string, CodeRecord>>();
/** Fingerprints this process cannot vouch for, with the reason the stage runs uncached. */
const unvouched = new WeakMap<CodeRecord, Reason>();

/**
 * The code fingerprint of a stage: its entry in the project's fingerprints (the stage function
 * and everything in the project it uses, see codegen/), kept up to date by the runtime itself
 * (project-fingerprints.ts): from the state under the cache directory after a `stat` of each
 * source, from a fresh committed `memopipe.fingerprints.json`, or by an incremental refresh when a
 * file changed (the only case that returns a Promise: it loads TypeScript).
 *
 * Where it cannot be brought up to date (ts-morph not installed, no tsconfig), a stage whose
 * files changed since the committed file was generated gets a fingerprint marked unvouched
 * (`unvouchedReason`): the cache runs it without serving or recording a hit, naming the files.
 * A stage the project's fingerprints do not have (a non-literal name, a file outside the
 * tsconfig, no fingerprints at all) falls back to its function's own source, with one warning
 * that says how to fix it.
 *
 * Memoized per (function, stage name) for the life of the process: the code a process runs cannot
 * change while it runs.
 *
 * @example
 * const found = codeFingerprint("register", fn, ".memopipe");
 * const code = found instanceof Promise ? await found : found; // { fingerprint: "9f…", source: "codegen", parts: {…} }
 */
export function codeFingerprint(name: string, fn: Function, cacheDir = ".memopipe"): CodeRecord | Promise<CodeRecord> {
  let byName = fingerprints.get(fn);
  if (!byName) fingerprints.set(fn, (byName = new Map()));
  const known = byName.get(name);
  if (known) return known;
  const project = projectFingerprints(cacheDir);
  const remember = (p: ProjectFingerprints) => {
    const computed = computeFingerprint(name, fn, p);
    byName.set(name, computed);
    return computed;
  };
  return project instanceof Promise ? project.then(remember) : remember(project);
}

/**
 * Why a fingerprint cannot be vouched for (a stage's source files changed since the committed
 * fingerprints, and they could not be brought up to date), or `undefined` when it can.
 *
 * @example
 * unvouchedReason(code); // { kind: "code", detail: "src/prep.ts changed since memopipe.fingerprints.json was generated, …" }
 */
export function unvouchedReason(code: CodeRecord): Reason | undefined {
  return unvouched.get(code);
}

function computeFingerprint(name: string, fn: Function, project: ProjectFingerprints): CodeRecord {
  const entry = project.data && Object.hasOwn(project.data.stages, name) ? project.data.stages[name] : undefined;
  if (project.kind === "current" && entry) return { fingerprint: entry.fingerprint, source: "codegen", parts: entry.parts };
  if (project.kind === "partial" && entry) {
    const changed = project.changed.get(name);
    const code: CodeRecord = { fingerprint: entry.fingerprint, source: "codegen", parts: entry.parts };
    if (!changed) return code;
    const files = changed.join(", ");
    const detail = `${files} changed since ${project.file} was generated, and ${project.why}: run memopipe fingerprint; until then this stage is neither served from nor recorded in the cache`;
    unvouched.set(code, { kind: "code", name: changed[0]!, detail });
    if (!warnedStale) {
      warnedStale = true;
      process.emitWarning(`stage '${name}': ${detail}`, { code: "MEMOPIPE_FINGERPRINT_STALE" });
    }
    return code;
  }
  if (!warnedFallback) {
    warnedFallback = true;
    const why =
      project.kind === "current"
        ? `the project's fingerprints have no stage '${name}' (its name is not a string literal, or its file is not in ${project.tsconfig})`
        : project.data
          ? `${project.file} has no stage '${name}' and ${project.why}`
          : `there is no ${project.file} and ${project.why}`;
    const fix =
      project.kind === "current"
        ? "To fix it, give the stage a string literal as its name, or include its file in the tsconfig"
        : "To fix it, install ts-morph (npm install ts-morph: memopipe then keeps the fingerprints up to date itself), or run npx memopipe fingerprint after each change";
    process.emitWarning(
      `stage '${name}': code fingerprints fall back to each stage function's own source, so a change in the helpers it calls is not seen: ${why}. ${fix}`,
      { code: "MEMOPIPE_FINGERPRINT_FALLBACK" },
    );
  }
  const normalized = normalizeSource(Function.prototype.toString.call(fn));
  return { fingerprint: createHash("sha256").update(normalized).digest("hex"), source: "function-source" };
}

/**
 * Why a stage's code differs from what was recorded: one reason per changed part (the stage
 * function, a helper, a dependency), or one `code` reason when the parts cannot be compared.
 * Empty when the fingerprints are equal.
 *
 * @example
 * explainCode(latest.code, code); // [{ kind: "helper", name: "helper `round` (src/prep.ts)", before: "1a…", after: "77…" }]
 */
export function explainCode(before: CodeRecord, now: CodeRecord): Reason[] {
  if (before.fingerprint === now.fingerprint) return [];
  if (before.source !== now.source) {
    // The parts of two kinds of fingerprint are not comparable: name the switch instead.
    const how = (s: CodeRecord["source"]) => (s === "codegen" ? "memopipe fingerprint" : "the stage function's own source (no fresh memopipe fingerprint)");
    return [{ kind: "code", detail: `code changed or its fingerprint changed kind: now from ${how(now.source)}, before from ${how(before.source)}` }];
  }
  const was = withVersionsAsValues(before.parts);
  const is = withVersionsAsValues(now.parts);
  const parts = Object.keys({ ...was, ...is }).filter((p) => was?.[p] !== is?.[p]);
  if (parts.length === 0) return [{ kind: "code", before: before.fingerprint, after: now.fingerprint }];
  // Labels are "stage function (src/x.ts)", "helper `round` (src/prep.ts)", "factory call `build`
  // (src/p.ts)", "module statements (src/p.ts)", "dependency `lodash`" (its value: the version)…
  return parts.map((p): Reason => {
    const b = was?.[p];
    const a = is?.[p];
    const dependency = /^dependency `(.+)`$/.exec(p);
    if (dependency) {
      const detail = b === undefined ? `dependency \`${dependency[1]}\` added (${a})` : a === undefined ? `dependency \`${dependency[1]}\` no longer used` : undefined;
      return { kind: "dependency", name: dependency[1]!, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}), ...(detail ? { detail } : {}) };
    }
    const detail = b === undefined ? `${p} added` : a === undefined ? `${p} no longer used` : undefined;
    return {
      kind: p.startsWith("stage function") ? "code" : "helper",
      name: p,
      ...(b !== undefined ? { before: b } : {}),
      ...(a !== undefined ? { after: a } : {}),
      ...(detail ? { detail } : {}),
    };
  });
}

/**
 * Parts with the labels of this generator: a record written by the first one labelled a
 * dependency with its version ("dependency `lodash`@4.17.21" → a digest); now the label is
 * "dependency `lodash`" and the value the version, so an upgrade compares as one change.
 */
function withVersionsAsValues(parts: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  if (!parts || !Object.keys(parts).some((k) => k.startsWith("dependency ") && k.endsWith("`") === false)) return parts;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parts)) {
    const old = /^(dependency `.+`)@(.+)$/.exec(k);
    if (old) out[old[1]!] = old[2]!;
    else out[k] = v;
  }
  return out;
}
