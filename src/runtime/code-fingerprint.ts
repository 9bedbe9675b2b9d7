/**
 * A stage's code fingerprint at run time, and how two fingerprints differ (the `code` / `helper` /
 * `dependency` reasons of a re-run). The seam between the cache (stage-cache.ts) and the generated
 * fingerprints (`memopipe fingerprint`, src/codegen): the cache only calls `codeFingerprint` and
 * `explainCode`.
 */
import { createHash } from "./lazy-builtins.js";
import { lookupGenerated } from "../codegen/generated.js";
import type { CodeRecord } from "./cache/types.js";
import type { Reason } from "./events.js";
import { normalizeSource } from "./source-normalize.js";

let warnedFallback = false;
let warnedStale = false;
const fingerprints = new WeakMap<Function, Map<string, CodeRecord>>();

/**
 * The code fingerprint of a stage. `memopipe fingerprint` generates one per stage (covering the
 * helpers it calls) into `memopipe.fingerprints.json`, read from the working directory or from
 * `$MEMOPIPE_FINGERPRINTS` (see codegen/generated.ts). It is used while every source file it was
 * computed from is unchanged (SHA-256 of the files listed with it, hashed once per process). When
 * it is stale (or the file lacks the stage), one warning names the changed files and says to run
 * `memopipe fingerprint`; without the file, a warning says once that helpers are not covered. In
 * both cases the function's own source is hashed instead, with comments and formatting removed.
 *
 * Memoized per (function, stage name) for the life of the process: the code a process runs cannot
 * change while it runs.
 *
 * @example
 * const code = codeFingerprint("register", fn); // { fingerprint: "9f…", source: "codegen", parts: {…} }
 */
export function codeFingerprint(name: string, fn: Function): CodeRecord {
  let byName = fingerprints.get(fn);
  if (!byName) fingerprints.set(fn, (byName = new Map()));
  const known = byName.get(name);
  if (known) return known;
  const computed = computeFingerprint(name, fn);
  byName.set(name, computed);
  return computed;
}

function computeFingerprint(name: string, fn: Function): CodeRecord {
  const generated = lookupGenerated(name);
  if (generated.status === "fresh") {
    return { fingerprint: generated.stage.fingerprint, source: "codegen", parts: generated.stage.parts };
  }
  if (generated.status !== "absent") {
    if (!warnedStale) {
      warnedStale = true;
      warnedFallback = true;
      const why =
        generated.status === "stale"
          ? `${generated.file} is stale (${generated.changed.join(", ")} changed since it was generated)`
          : generated.status === "unlisted"
            ? `${generated.file} has no stage '${name}'`
            : `${generated.file} cannot be used (${generated.reason})`;
      process.emitWarning(
        `stage '${name}': ${why}: run memopipe fingerprint. Until then, code fingerprints fall back to each stage function's own source`,
        { code: "MEMOPIPE_FINGERPRINT_STALE" },
      );
    }
  } else if (!warnedFallback) {
    warnedFallback = true;
    process.emitWarning(
      `stage '${name}': code fingerprints fall back to each stage function's own source; changes in the helpers it calls are not detected`,
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
