/**
 * Cache-key material: the binary key encoding (memopipe-key-v2) against the first, text one
 * (memopipe-key-v1, kept in bench/keys-v1.ts) and `JSON.stringify` of the same value, in one run;
 * then the key material of the cache benchmark's inputs (resolveFiles + digest vs keyMaterial).
 *
 *   npx tsx bench/keys.ts        (writes bench/.out/keys.json; also `npm run bench -- keys`)
 *
 * `JSON.stringify` is a speed reference only: it is not a key (it loses Map, Set, -0, undefined…,
 * caching-anchors.md), and it does not hash. Goals (issue 7): digest of the 100-number object
 * ≤ 4 µs, of a short string ≤ 0.8 µs, cacheKey ≤ 1.5 µs.
 *
 * Measurement: each variant runs batches of calls (sized to ~20 ms) timed in CPU time
 * (`process.cpuUsage`: on a machine shared by several people, wall time also counts the waits for a
 * core); rounds rotate the variant order; the fastest round is reported (the least disturbed one:
 * on a loaded machine the median mostly measures the neighbours, and the garbage one variant leaves
 * is collected during another's batch). The key-material row
 * is async (a file() input), so it is timed in wall time, awaited call after call. Compare the
 * ratios, measured in the same run, more than the µs.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKey, digest } from "../src/runtime/cache/canonical.js";
import { FileDigests, resolveFiles } from "../src/runtime/cache/file-digest.js";
import { keyMaterial } from "../src/runtime/cache/key-material.js";
import { FileRef } from "../src/runtime/cache/types.js";
import { runIfEntryPoint } from "./entry.js";
import * as v1 from "./keys-v1.js";

/** Options of `main`. */
export interface KeysBenchOptions {
  /** Rounds (the fastest is reported). Default 7. */
  readonly rounds?: number;
  /** Print the table. Default true. */
  readonly print?: boolean;
  /** Where the JSON goes. Default bench/.out/keys.json. */
  readonly outFile?: string;
}

/** One case's figures, µs per call (`error` when a variant threw, e.g. v1's RangeError on deep values). */
export interface KeyCaseResult {
  readonly name: string;
  readonly us: Record<string, number | { error: string }>;
  /** v1 / v2 (how many times faster the new encoding is), and v2 / JSON.stringify. */
  readonly speedup?: number;
  readonly vsJson?: number;
}

type Variant = () => unknown;

/** CPU ns per call of `f`, in a batch of `batch` calls. */
function timeBatch(f: Variant, batch: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < batch; i++) f();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / batch;
}

/** A batch size taking ~20 ms of CPU, from a warm-up of up to 200 calls or 200 ms (at least 1). */
function calibrate(f: Variant): number {
  const c0 = process.cpuUsage();
  let calls = 0;
  let elapsed = 0;
  while (calls < 200 && elapsed < 200e6) {
    f();
    calls++;
    const c = process.cpuUsage(c0);
    elapsed = (c.user + c.system) * 1000;
  }
  return Math.max(1, Math.round(20e6 / Math.max(elapsed / calls, 1)));
}

function measure(variants: Record<string, Variant>, rounds: number): Record<string, number | { error: string }> {
  const out: Record<string, number | { error: string }> = {};
  const live: [string, Variant, number][] = [];
  for (const [name, f] of Object.entries(variants)) {
    try {
      live.push([name, f, calibrate(f)]);
    } catch (error) {
      out[name] = { error: error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error) };
    }
  }
  const samples = new Map<string, number[]>(live.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < live.length; k++) {
      const [name, f, batch] = live[(k + r) % live.length]!;
      samples.get(name)!.push(timeBatch(f, batch));
    }
  }
  for (const [name] of live) out[name] = Math.min(...samples.get(name)!) / 1000;
  return out;
}

/** The cache benchmark's inputs (bench/cache-worker.ts): 100 numbers assigned one by one (V8 keeps such an object in dictionary mode) and a label. */
function inputsFor(i: number): { params: Record<string, number>; label: string } {
  const params: Record<string, number> = {};
  for (let k = 0; k < 100; k++) params[`p${String(k).padStart(2, "0")}`] = i * 1000 + k * 0.25;
  return { params, label: `sample-${i}` };
}

/** Runs the benchmark; prints a table and writes bench/.out/keys.json. */
export async function main(options: KeysBenchOptions = {}): Promise<KeyCaseResult[]> {
  const rounds = options.rounds ?? 7;
  const print = options.print ?? true;
  const here = dirname(fileURLToPath(import.meta.url));
  const outFile = options.outFile ?? join(here, ".out", "keys.json");

  const { params, label } = inputsFor(7);
  const literal = JSON.parse(JSON.stringify(params)) as Record<string, number>; // fast-mode object, same data
  const config = { lr: 0.001, epochs: 20, layers: [784, 128, 10], name: "mlp-small", seed: 42, augment: false };
  const points = Array.from({ length: 1000 }, (_, i) => ({ x: i * 0.5, y: i * 0.25 }));
  const map = new Map(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i] as const));
  const million = Array.from({ length: 1_000_000 }, (_, i) => i * 0.5);
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  const hex = "3f".repeat(32);
  const keyParts = { stage: "bench-hit", code: hex, inputs: { params: hex, label: hex } };

  const cases: [string, unknown][] = [
    ["digest: object of 100 numbers (assigned, dictionary mode)", params],
    ["digest: object of 100 numbers (literal, fast mode)", literal],
    ["digest: short string", label],
    ["digest: config object (6 fields, an array)", config],
    ["digest: 1,000 {x, y} points", points],
    ["digest: Map of 1,000 entries", map],
    ["digest: 1M-number array", million],
    ["digest: 10,000 nested arrays", deep],
  ];
  const results: KeyCaseResult[] = [];
  const add = (name: string, us: Record<string, number | { error: string }>): void => {
    const [old, now, json] = [us["v1 text"], us["v2 binary"], us["JSON.stringify"]];
    results.push({
      name,
      us,
      ...(typeof old === "number" && typeof now === "number" ? { speedup: old / now } : {}),
      ...(typeof json === "number" && typeof now === "number" ? { vsJson: now / json } : {}),
    });
  };
  for (const [name, value] of cases) {
    add(name, measure({ "v1 text": () => v1.digest(value), "v2 binary": () => digest(value), "JSON.stringify": () => JSON.stringify(value) }, rounds));
  }
  add("cacheKey: stage, code, 2 input digests", measure({ "v1 text": () => v1.cacheKey(keyParts), "v2 binary": () => cacheKey(keyParts), "JSON.stringify": () => JSON.stringify(keyParts) }, rounds));

  // The key material of a hit, as stage-cache.ts builds it: string paths hashed by content, so the
  // label is stat'ed (not a file); plus a file() input the stat cache vouches for.
  const dir = mkdtempSync(join(tmpdir(), "memopipe-bench-keys-"));
  try {
    const path = join(dir, "ref.bin");
    writeFileSync(path, "x".repeat(4096));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path, old, old);
    const digests = new FileDigests();
    await digests.digest(path);
    const inputs = { params, label, ref: new FileRef(path) };
    const viaResolve = async (): Promise<void> => {
      for (const name of Object.keys(inputs).sort()) {
        const { value } = await resolveFiles(inputs[name as keyof typeof inputs], digests, { hashStringPaths: true });
        digest(value, `inputs.${name}`);
      }
    };
    const viaKeyMaterial = async (): Promise<void> => void (await keyMaterial(inputs, digests, { hashStringPaths: true }));
    const asyncUs = async (f: () => Promise<void>): Promise<number> => {
      for (let i = 0; i < 500; i++) await f();
      const per: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < 2000; i++) await f();
        per.push(Number(process.hrtime.bigint() - t0) / 2000 / 1000);
      }
      return Math.min(...per);
    };
    const resolveUs = await asyncUs(viaResolve);
    const materialUs = await asyncUs(viaKeyMaterial);
    results.push({ name: "key material of a hit {params, label, file()}: resolveFiles+digest, keyMaterial", us: { "resolveFiles + digest": resolveUs, keyMaterial: materialUs }, speedup: resolveUs / materialUs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (print) {
    const cell = (x: number | { error: string } | undefined): string => (x === undefined ? "" : typeof x === "number" ? x.toFixed(x < 10 ? 2 : 0) : x.error.split(":")[0]!);
    console.log(`${"case".padEnd(62)}${"v1 µs".padStart(11)}${"v2 µs".padStart(11)}${"JSON µs".padStart(11)}${"v1/v2".padStart(8)}${"v2/JSON".padStart(9)}`);
    for (const r of results) {
      const [a, b, c] = r.us["v2 binary"] !== undefined ? [r.us["v1 text"], r.us["v2 binary"], r.us["JSON.stringify"]] : Object.values(r.us);
      console.log(
        `${r.name.slice(0, 61).padEnd(62)}${cell(a).padStart(11)}${cell(b).padStart(11)}${cell(c).padStart(11)}${(r.speedup ? `${r.speedup.toFixed(1)}×` : "").padStart(8)}${(r.vsJson ? r.vsJson.toFixed(2) : "").padStart(9)}`,
      );
    }
    console.log(`(CPU µs per call, fastest of ${rounds} rounds; last row: wall µs, the columns are resolveFiles + digest, then keyMaterial; ${cpus().length} CPUs, Node ${process.version}, machine shared)`);
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, rounds, results }, null, 2)}\n`);
  return results;
}

runIfEntryPoint(import.meta.url, () => main());
