/**
 * Helper of bench/cache.ts (diagnosis, not part of `main`): where a memopipe cache hit spends its
 * time. Run after `cache-worker.ts populate <dir>`:
 *
 *   node --import tsx bench/cache-profile.ts <dir> [entries] [rounds]
 *
 * Re-does the steps of `runCached` (src/runtime/stage-cache.ts) one by one on the populated
 * entries, timing each (median µs per hit); then a prototype of the fixed hit path (same checks,
 * synchronous small-file I/O, memoized fingerprint, event fd kept open) and the codec's share.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { deserialize, serialize } from "node:v8";
import { join } from "node:path";
import { cacheKey, digest } from "../src/runtime/cache/canonical.js";
import { decodeOutputs } from "../src/runtime/cache/codec.js";
import { FileDigests, resolveFiles } from "../src/runtime/cache/file-digest.js";
import { stageDirName } from "../src/runtime/cache/safe-name.js";
import { DirectoryStore } from "../src/runtime/cache/store.js";
import { checkRecord } from "../src/runtime/cache/store-files.js";
import { codeFingerprint } from "../src/runtime/code-fingerprint.js";

function inputsFor(i: number): { params: Record<string, number>; label: string } {
  const params: Record<string, number> = {};
  for (let k = 0; k < 100; k++) params[`p${String(k).padStart(2, "0")}`] = i * 1000 + k * 0.25;
  return { params, label: `sample-${i}` };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const [dir, entriesArg, roundsArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: cache-profile.ts <populated memopipe dir> [entries] [rounds]");
const entries = Number(entriesArg ?? 200);
const rounds = Number(roundsArg ?? 5);
const NAME = "bench-hit";
// must be the same source text as cache-worker.ts's stage function (the fingerprint hashes it)
let computed = 0;
const fn = ({ params, label }: { params: Record<string, number>; label: string }) => {
  computed++;
  return { params, label } as unknown;
};
void computed;

const store = new DirectoryStore(dir);
const digests = new FileDigests(join(dir, "stat-cache.json"));
const t: Record<string, number[]> = {};
const time = async <T>(section: string, f: () => Promise<T> | T): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  (t[section] ??= []).push((performance.now() - t0) * 1000);
  return r;
};

// The cache-worker's function source: read the key from events.jsonl instead of re-hashing a different function.
const events = (await readFile(join(dir, "events.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { key: string; status: string });
const keys = events.filter((e) => e.status === "ran").map((e) => e.key);
if (keys.length < entries) throw new Error(`expected ${entries} 'ran' events, found ${keys.length}`);

for (let r = 0; r < rounds; r++) {
  for (let i = 1; i < entries; i++) {
    const inputs = inputsFor(i) as unknown as Record<string, unknown>;
    const total0 = performance.now();
    // 1. input manifest: resolveFiles (stats the string) + canonical digest, per input
    const manifest: Record<string, string> = {};
    for (const name of Object.keys(inputs).sort()) {
      const { value } = await time("1a resolveFiles (stat of string inputs)", () => resolveFiles(inputs[name], digests, { hashStringPaths: true }));
      manifest[name] = await time("1b canonical digest of inputs", () => digest(value, `inputs.${name}`));
    }
    // 2. code fingerprint (regexes over the source + sha256)
    const code = await time("2  codeFingerprint", () => codeFingerprint(NAME, fn));
    await time("3  cacheKey", () => cacheKey({ stage: NAME, code: code.fingerprint, inputs: manifest }));
    const key = keys[i]!; // the worker's function fingerprint differs from this file's: use the recorded key
    // 4. store.get, as a whole
    const read = await time("4  store.get (whole)", () => store.get(NAME, key));
    if (read.status !== "hit") throw new Error(`expected a hit, got ${read.status}`);
    // 4'. its parts, redone
    const entryDir = join(dir, "entries", stageDirName(NAME), key);
    const text = await time("4a   readFile entry.json", () => readFile(join(entryDir, "entry.json")));
    await time("4b   checkRecord (parse, shape, checksum)", () => checkRecord(text));
    const out = await time("4c   readFile outputs.json", () => readFile(join(entryDir, "outputs.json")));
    await time("4d   sha256 of outputs", () => createHash("sha256").update(out).digest("hex"));
    await time("4e   decode outputs (JSON.parse)", () => decodeOutputs("json", out));
    // 5. the hit event
    await time("5a mkdir cache dir (recursive)", () => mkdir(dir, { recursive: true }));
    await time("5b appendFile events.jsonl", () => appendFile(join(dir, "events-profile.jsonl"), `${JSON.stringify({ run: "x", time: new Date().toISOString(), stage: NAME, key, status: "hit", reasons: [], seconds: 0 })}\n`));
    (t["   sum of 1-5 (excluding 4a-4e)"] ??= []).push((performance.now() - total0) * 1000 - t["4a   readFile entry.json"]!.at(-1)! - t["4b   checkRecord (parse, shape, checksum)"]!.at(-1)! - t["4c   readFile outputs.json"]!.at(-1)! - t["4d   sha256 of outputs"]!.at(-1)! - t["4e   decode outputs (JSON.parse)"]!.at(-1)!);
  }
}

// A prototype of the fixed hit path (same checks, synchronous I/O for small files, the function
// fingerprint memoized per function, the event written to a descriptor kept open with O_APPEND).
const fpMemo = new WeakMap<Function, ReturnType<typeof codeFingerprint>>();
const eventsFd = openSync(join(dir, "events-proto.jsonl"), "a");
for (let r = 0; r < rounds; r++) {
  for (let i = 1; i < entries; i++) {
    const inputs = inputsFor(i) as unknown as Record<string, unknown>;
    await time("P  prototype: whole fixed hit path", async () => {
      const manifest: Record<string, string> = {};
      for (const name of Object.keys(inputs).sort()) {
        const v = inputs[name];
        if (typeof v === "string") statSync(v, { throwIfNoEntry: false }); // the memori string-path check, sync
        manifest[name] = digest(v, `inputs.${name}`);
      }
      let code = fpMemo.get(fn);
      if (!code) fpMemo.set(fn, (code = codeFingerprint(NAME, fn)));
      cacheKey({ stage: NAME, code: code.fingerprint, inputs: manifest });
      const entryDir = join(dir, "entries", stageDirName(NAME), keys[i]!);
      const rec = checkRecord(readFileSync(join(entryDir, "entry.json")));
      if (typeof rec === "string") throw new Error(rec);
      const bytes = readFileSync(join(entryDir, rec.outputs.file));
      if (bytes.length !== rec.outputs.size || createHash("sha256").update(bytes).digest("hex") !== rec.outputs.sha256) throw new Error("mismatch");
      const value = decodeOutputs(rec.outputs.codec, bytes);
      writeSync(eventsFd, `${JSON.stringify({ run: "x", time: new Date().toISOString(), stage: NAME, key: keys[i], status: "hit", reasons: [], seconds: 0 })}\n`);
      return value;
    });
  }
}
closeSync(eventsFd);
// the codec's share: the same value as pretty JSON vs v8
{
  const entryDir = join(dir, "entries", stageDirName(NAME), keys[1]!);
  const json = readFileSync(join(entryDir, "outputs.json"));
  const bin = serialize(JSON.parse(json.toString("utf8")));
  for (let k = 0; k < 2000; k++) {
    await time("C1 codec: JSON.parse + sha256 (11.6 KB pretty JSON)", () => (createHash("sha256").update(json).digest("hex"), JSON.parse(json.toString("utf8"))));
    await time(`C2 codec: v8.deserialize + sha256 (${bin.length} B)`, () => (createHash("sha256").update(bin).digest("hex"), deserialize(bin)));
  }
}

console.log("median µs per hit, by section:");
for (const [section, xs] of Object.entries(t).sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${section.padEnd(48)} ${median(xs).toFixed(1).padStart(8)}  (p90 ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!.toFixed(1)})`);
