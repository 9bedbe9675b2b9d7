/**
 * The value codec (`mpv1`, src/runtime/cache/value-codec.ts) against `node:v8` and JSON, measured
 * in the same run, on the shapes a cache stores:
 *
 * - `cache value`: the cache benchmark's output (bench/cache-worker.ts), `{ values: 800 floats,
 *   label: "sample-1" }`. Goals on this machine: decode ≤ 3 µs, encode ≤ 5 µs (a verified hit has
 *   ~25 µs in all, issue 7).
 * - `100 fields`: an object of 100 number fields (the cache benchmark's input).
 * - `10k records`: 10,000 `{ id, name, score, active, tag }` (strings, numbers, booleans, null).
 * - `1 MB Float64Array`: 131,072 float64s.
 * - `Map 1,000`: 1,000 entries `"key-i" → { x: number, y: string }`.
 * - `mixed`: records with Dates, BigInts, nested arrays and undefined, a Map, a Set, a Float32Array,
 *   shared references.
 *
 * Every codec is checked to round-trip each shape first (JSON only where the shape survives it;
 * elsewhere its column is empty). JSON is compact `JSON.stringify` + UTF-8 bytes one way,
 * `JSON.parse` of the decoded text the other (a cache stores bytes). Timing: CPU time (see `cpuUs`) of
 * batches of calls sized to ~2 ms, 15 batches per round, rounds rotating the codec order; the figure is the
 * median over rounds of each round's median µs per call.
 *
 *   npx tsx bench/codec.ts         (or `npm run bench -- codec`; figures also in bench/.out/codec.json)
 *   CODEC_SHAPES="cache value,mixed" npx tsx bench/codec.ts     only the named shapes
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { deserialize, serialize } from "node:v8";
import { mulberry32 } from "../src/dsl/sweep/random.js";
import { decodeValue, encodeValue } from "../src/runtime/cache/value-codec.js";
import { runIfEntryPoint } from "./entry.js";

interface Shape {
  readonly name: string;
  readonly value: unknown;
  /** Whether the value survives JSON exactly (else no JSON column). */
  readonly json: boolean;
  readonly goal?: { readonly encodeUs: number; readonly decodeUs: number };
}

interface Codec {
  readonly name: "mpv1" | "v8" | "JSON";
  readonly encode: (v: unknown) => Uint8Array;
  readonly decode: (b: Uint8Array) => unknown;
}

const CODECS: readonly Codec[] = [
  { name: "mpv1", encode: (v) => encodeValue(v).bytes, decode: (b) => decodeValue(b) },
  { name: "v8", encode: (v) => serialize(v), decode: (b) => deserialize(b) },
  {
    name: "JSON",
    encode: (v) => Buffer.from(JSON.stringify(v), "utf8"),
    decode: (b) => JSON.parse((b as Buffer).toString("utf8")) as unknown,
  },
];

export function shapes(): Shape[] {
  const rnd = mulberry32(7);
  const values = new Array<number>(800);
  for (let j = 0; j < 800; j++) values[j] = Math.floor(Math.sin(j + 12345.5) * 1e6 + 0.5) / 1e6;
  const fields: Record<string, number> = {};
  for (let k = 0; k < 100; k++) fields[`p${String(k).padStart(2, "0")}`] = 1000 + k * 0.25;
  const tags = ["red", "green", "blue", null];
  const records = Array.from({ length: 10_000 }, (_, i) => ({
    id: i,
    name: `user-${i}`,
    score: Math.round(rnd() * 1e4) / 100,
    active: rnd() < 0.5,
    tag: tags[i % 4],
  }));
  const f64 = new Float64Array(131_072);
  for (let i = 0; i < f64.length; i++) f64[i] = rnd();
  const map = new Map<string, { x: number; y: string }>();
  for (let i = 0; i < 1000; i++) map.set(`key-${i}`, { x: rnd(), y: `v${i}` });
  const shared = { unit: "ms", scale: 1e-3 };
  const mixed = {
    rows: Array.from({ length: 500 }, (_, i) => ({
      at: new Date(1_700_000_000_000 + i * 1000),
      n: BigInt(i) * 10_000_000_000n,
      xy: [rnd(), rnd()],
      note: i % 7 === 0 ? undefined : `row ${i}`,
      meta: shared,
    })),
    index: new Map(Array.from({ length: 200 }, (_, i) => [i, `r${i}`] as const)),
    seen: new Set(Array.from({ length: 200 }, (_, i) => `s${i}`)),
    weights: new Float32Array(1000).map(() => rnd()),
  };
  return [
    { name: "cache value", value: { values, label: "sample-1" }, json: true, goal: { encodeUs: 5, decodeUs: 3 } },
    { name: "100 fields", value: fields, json: true },
    { name: "10k records", value: records, json: true },
    { name: "1 MB Float64Array", value: f64, json: false },
    { name: "Map 1,000", value: map, json: false },
    { name: "mixed", value: mixed, json: false },
  ];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

let sink = 0;

/**
 * CPU time (user + system, µs) of this process so far. The machine is shared with other work (load
 * averages of 5–10 on 2 cores while this was written): wall time then mostly measures the wait for
 * a core, CPU time what the call costs. Both sides of every ratio are measured the same way.
 */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median CPU µs per call of `fn(arg)` over `samples` batches of ~`batchMs` each. */
function time(fn: (arg: never) => unknown, arg: unknown, samples: number, batchMs: number): number {
  const call = fn as (arg: unknown) => unknown;
  // Calibrate: how many calls fill a batch.
  let n = 1;
  for (;;) {
    const t0 = cpuUs();
    for (let i = 0; i < n; i++) call(arg);
    const ms = (cpuUs() - t0) / 1e3;
    if (ms >= batchMs / 4 || n >= 1 << 20) {
      n = Math.max(1, Math.round((n * batchMs) / Math.max(ms, 1e-3)));
      break;
    }
    n *= 4;
  }
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = cpuUs();
    let r: unknown;
    for (let i = 0; i < n; i++) r = call(arg);
    perCall.push((cpuUs() - t0) / n);
    sink += r === undefined ? 0 : 1;
  }
  return median(perCall);
}

export interface CodecFigures {
  readonly bytes: number;
  readonly encodeUs: number;
  readonly decodeUs: number;
}
export interface ShapeResult {
  readonly shape: string;
  readonly codecs: Partial<Record<Codec["name"], CodecFigures>>;
  /** baseline µs ÷ mpv1 µs (> 1: mpv1 is faster). */
  readonly ratios: Partial<Record<"v8" | "JSON", { readonly encode: number; readonly decode: number }>>;
}

export async function main(options: { rounds?: number; print?: boolean; outFile?: string | false } = {}): Promise<ShapeResult[]> {
  const rounds = options.rounds ?? 5;
  const print = options.print ?? true;
  const outFile = options.outFile ?? join(dirname(fileURLToPath(import.meta.url)), ".out", "codec.json");
  const only = process.env.CODEC_SHAPES?.split(",");
  const all = shapes().filter((s) => !only || only.includes(s.name));

  for (const shape of all) {
    for (const codec of CODECS) {
      if (codec.name === "JSON" && !shape.json) continue;
      const back = codec.decode(codec.encode(shape.value));
      if (!isDeepStrictEqual(back, shape.value)) throw new Error(`${codec.name} does not round-trip ${shape.name}`);
    }
  }

  const results: ShapeResult[] = [];
  for (const shape of all) {
    const codecs = CODECS.filter((c) => c.name !== "JSON" || shape.json);
    const enc = new Map<string, number[]>();
    const dec = new Map<string, number[]>();
    const bytes = new Map<string, number>();
    for (const c of codecs) {
      enc.set(c.name, []);
      dec.set(c.name, []);
      bytes.set(c.name, c.encode(shape.value).byteLength);
    }
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < codecs.length; k++) {
        const c = codecs[(k + r) % codecs.length]!;
        const encoded = c.encode(shape.value);
        enc.get(c.name)!.push(time(c.encode, shape.value, 15, 2));
        dec.get(c.name)!.push(time(c.decode, encoded, 15, 2));
      }
    }
    const figures: ShapeResult["codecs"] = {};
    for (const c of codecs) figures[c.name] = { bytes: bytes.get(c.name)!, encodeUs: median(enc.get(c.name)!), decodeUs: median(dec.get(c.name)!) };
    const ours = figures.mpv1!;
    const ratios: ShapeResult["ratios"] = {};
    for (const base of ["v8", "JSON"] as const) {
      const f = figures[base];
      if (f) ratios[base] = { encode: f.encodeUs / ours.encodeUs, decode: f.decodeUs / ours.decodeUs };
    }
    results.push({ shape: shape.name, codecs: figures, ratios });
  }

  const goals = all
    .filter((s) => s.goal)
    .flatMap((s) => {
      const f = results.find((r) => r.shape === s.name)!.codecs.mpv1!;
      return [
        { name: `${s.name}: mpv1 decode µs`, value: f.decodeUs, target: `<= ${s.goal!.decodeUs}`, met: f.decodeUs <= s.goal!.decodeUs },
        { name: `${s.name}: mpv1 encode µs`, value: f.encodeUs, target: `<= ${s.goal!.encodeUs}`, met: f.encodeUs <= s.goal!.encodeUs },
      ];
    });

  if (print) {
    const us = (x: number | undefined) => (x === undefined ? "—" : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));
    const ratio = (x: number | undefined) => (x === undefined ? "—" : `${x.toFixed(1)}×`);
    console.log("CPU µs per call, median; ratio = baseline ÷ mpv1 (> 1: mpv1 faster); machine shared with other work\n");
    console.log(
      ["shape", "bytes mpv1/v8/JSON", "enc mpv1", "enc v8", "enc JSON", "dec mpv1", "dec v8", "dec JSON", "enc ×v8", "enc ×JSON", "dec ×v8", "dec ×JSON"].join(" | "),
    );
    for (const r of results) {
      const c = r.codecs;
      console.log(
        [
          r.shape,
          `${c.mpv1!.bytes}/${c.v8!.bytes}/${c.JSON?.bytes ?? "—"}`,
          us(c.mpv1!.encodeUs),
          us(c.v8!.encodeUs),
          us(c.JSON?.encodeUs),
          us(c.mpv1!.decodeUs),
          us(c.v8!.decodeUs),
          us(c.JSON?.decodeUs),
          ratio(r.ratios.v8?.encode),
          ratio(r.ratios.JSON?.encode),
          ratio(r.ratios.v8?.decode),
          ratio(r.ratios.JSON?.decode),
        ].join(" | "),
      );
    }
    for (const g of goals) console.log(`${g.met ? "goal met" : "GOAL MISSED"}: ${g.name} = ${g.value.toFixed(2)} (target ${g.target})`);
  }
  if (outFile !== false) {
    mkdirSync(dirname(outFile), { recursive: true });
    const meta = { benchmark: "codec", date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, rounds };
    writeFileSync(outFile, `${JSON.stringify({ meta, results, goals, sink }, null, 2)}\n`);
    if (print) console.log(`\nfigures written to ${outFile}`);
  }
  return results;
}

runIfEntryPoint(import.meta.url, () => main());
