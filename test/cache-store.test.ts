import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemopipeError, UnrecordableValueError } from "../src/runtime/errors.js";
import { encodeOutputs } from "../src/runtime/cache/codec.js";
import { stageDirName } from "../src/runtime/cache/safe-name.js";
import { DirectoryStore } from "../src/runtime/cache/store.js";
import type { EntryRecord, NewEntry } from "../src/runtime/cache/types.js";
import { CRASH_STAGE, bigValue, crashKey, crashValue } from "./fixtures/store-writer.js";

const WRITER = fileURLToPath(new URL("./fixtures/store-writer.ts", import.meta.url));
const REPO = fileURLToPath(new URL("..", import.meta.url));

const keyOf = (s: string): string => createHash("sha256").update(s).digest("hex");
const entry = (outputs: unknown, inputs: NewEntry["inputs"] = {}): NewEntry => ({
  inputs,
  code: { fingerprint: keyOf("code"), source: "function-source" },
  outputs,
});

/** Every file under `dir`, relative to it, sorted (directories are not listed, only what they hold). */
async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, item.name);
    if (item.isDirectory()) {
      const inner = await walk(path, base);
      out.push(...(inner.length > 0 ? inner : [`${relative(base, path)}/`]));
    } else out.push(relative(base, path));
  }
  return out.sort();
}

let base: string;
let dir: string;
let store: DirectoryStore;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "memopipe-store-"));
  dir = join(base, "cache");
  store = new DirectoryStore(dir);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("stage directory names", () => {
  const names = ["register", "../x", "..", ".", "/etc/passwd", "a/b", "a\\b", "a%2Fb", "A/b", "a/B", "CON", "con", "nul.txt", "a\0b", "", "x".repeat(300), "x".repeat(301), "é", "e\u0301", "\uD800", "\uFFFD", "a~b", "Register", "register.", ".hidden", " "];
  it("are single, safe path components, distinct even on case-insensitive file systems", () => {
    const dirs = names.map(stageDirName);
    for (const d of dirs) {
      expect(d).toMatch(/^[A-Za-z0-9._%~-]+$/);
      expect(d === "." || d === ".." || d.startsWith(".") || d.endsWith(".")).toBe(false);
      expect(d.length).toBeLessThanOrEqual(100);
      expect(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(d)).toBe(false);
    }
    expect(new Set(dirs.map((d) => d.toLowerCase())).size).toBe(names.length);
    expect(stageDirName("register")).toBe("register");
    expect(stageDirName("../x")).toBe("%2E.%2Fx");
  });

  it("keep every entry inside <dir>/entries, and nothing outside <dir>", async () => {
    const stages = ["../x", "/abs/path", "a/b", "..", ".", "../../escape", "C:\\win", "a\0b"];
    for (const [i, stage] of stages.entries()) {
      await store.put(stage, keyOf(`k${i}`), entry({ i }));
      expect(await store.get(stage, keyOf(`k${i}`))).toMatchObject({ status: "hit", outputs: { i } });
      expect((await store.latest(stage))?.key).toBe(keyOf(`k${i}`));
    }
    expect(await readdir(base)).toEqual(["cache"]);
    const files = await walk(dir);
    const escapes = (root: string, f: string): boolean => {
      const rel = relative(root, join(dir, f));
      return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    };
    expect(files.filter((f) => escapes(dir, f))).toEqual([]);
    expect(files.filter((f) => f !== "tmp/" && escapes(join(dir, "entries"), f))).toEqual([]);
    expect(files.filter((f) => f.endsWith("entry.json"))).toHaveLength(stages.length);
    expect(new Set((await store.list()).map((e) => e.stage))).toEqual(new Set(stages));
  });

  it("keys must be 64 lowercase hex digits", async () => {
    for (const bad of ["../../x", "ab", keyOf("x").toUpperCase(), `${keyOf("x")}/`, ""]) {
      await expect(store.get("s", bad)).rejects.toBeInstanceOf(MemopipeError);
      await expect(store.put("s", bad, entry(1))).rejects.toBeInstanceOf(MemopipeError);
    }
    expect(await walk(base)).toEqual([]);
  });
});

describe("round trips", () => {
  it("JSON outputs: pretty outputs.json and a human-readable record with the inputs manifest", async () => {
    const key = keyOf("json");
    const outputs = { shift: [1.5, -2, 0], label: "sub-01", ok: true, none: null, nested: { a: [] } };
    const inputs = { ref: { digest: keyOf("ref"), value: "sub-01" }, image: { digest: keyOf("img"), files: [{ path: "sub-01.nii", sha256: keyOf("nii"), size: 352 }] } };
    const record = await store.put("register", key, { ...entry(outputs, inputs), outputFiles: [{ path: "out.nii", sha256: keyOf("o"), size: 9 }] });
    const read = await store.get("register", key);
    expect(read).toEqual({ status: "hit", record, outputs });
    expect(record).toMatchObject({ format: 1, stage: "register", key, inputs, outputs: { codec: "json", file: "outputs.json" } });
    const entryDir = join(dir, "entries", "register", key);
    expect((await readdir(entryDir)).sort()).toEqual(["entry.json", "outputs.json"]);
    const text = await readFile(join(entryDir, "entry.json"), "utf8");
    expect(text).toContain('\n  "inputs": {\n    "ref": {');
    expect(JSON.parse(text)).toEqual(record);
    expect(JSON.parse(await readFile(join(entryDir, "outputs.json"), "utf8"))).toEqual(outputs);
    expect(await readFile(join(entryDir, "outputs.json"), "utf8")).toContain('\n  "shift": [');
    expect(await store.latest("register")).toEqual(record);
  });

  it("v8 outputs: Map, Set, Date, BigInt, typed arrays, Buffer, undefined, -0, NaN, holes, cycles", async () => {
    const cyclic: Record<string, unknown> = { name: "c" };
    cyclic.self = cyclic;
    const shared = { s: 1 };
    const outputs = {
      map: new Map<unknown, unknown>([["a", 1], [2, new Set([3n])]]),
      set: new Set(["x", "y"]),
      date: new Date(1_700_000_000_000),
      big: 2n ** 70n,
      f64: new Float64Array([1.5, -0, NaN]),
      u8: new Uint8Array([1, 2, 3]),
      buf: Buffer.from("bytes"),
      undef: undefined,
      negZero: -0,
      nan: NaN,
      inf: -Infinity,
      holes: [1, , 3],
      cyclic,
      pair: [shared, shared],
      re: /x+/g,
    };
    const key = keyOf("v8");
    const record = await store.put("s", key, entry(outputs));
    expect(record.outputs).toMatchObject({ codec: "v8", file: "outputs.bin" });
    const read = await store.get("s", key);
    if (read.status !== "hit") throw new Error(`expected a hit, got ${JSON.stringify(read)}`);
    const back = read.outputs as typeof outputs;
    expect(back).toEqual(outputs);
    expect(Object.is(back.negZero, -0) && Number.isNaN(back.nan) && Object.is(back.f64[1], -0)).toBe(true);
    expect("undef" in back && 1 in back.holes).toEqual(false);
    expect(back.cyclic.self).toBe(back.cyclic);
    expect(back.pair[0]).toBe(back.pair[1]);
    expect(Buffer.isBuffer(back.buf)).toBe(true);
  });

  it("only values JSON restores exactly take the JSON codec", () => {
    const shared = {};
    for (const v of [{ a: undefined }, [-0], { d: new Date(0) }, [shared, shared], [1, , 2], NaN, 1n, Object.assign([1], { x: 1 }), undefined]) {
      expect(encodeOutputs(v, "s").codec).toBe("v8");
    }
    for (const v of [{ a: [1, "2", null, true, { b: -1.5e300 }] }, [], "s", 0, null, { __proto__x: 1 }]) {
      expect(encodeOutputs(v, "s").codec).toBe("json");
    }
  });
});

describe("unrecordable outputs", () => {
  class Model {
    weights = [1];
  }
  it.each([
    ["a function", { fit: () => 1 }, "outputs.fit", "function"],
    ["a symbol", [1, Symbol("s")], "outputs[1]", "symbol"],
    ["a class instance", { model: new Model() }, "outputs.model", "Model instance"],
    ["a nested function in a Map", new Map([["k", { f() {} }]]), "outputs.<value 0>.f", "function"],
    ["a WeakMap", { w: new WeakMap() }, "outputs.w", "WeakMap instance"],
    ["symbol-keyed properties", { [Symbol("k")]: 1 }, "outputs", "object with symbol-keyed properties"],
  ])("%s: a named error, nothing written, and the next put works", async (_, outputs, path, kind) => {
    const key = keyOf("u");
    const error = await store.put("stage-u", key, entry(outputs)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecordableValueError);
    expect(error).toMatchObject({ path, kind, stage: "stage-u" });
    expect((error as Error).message).toContain(`stage 'stage-u': ${path} is a ${kind}`);
    expect(await walk(base)).toEqual([]);
    expect(await store.get("stage-u", key)).toEqual({ status: "miss" });
    await store.put("stage-u", key, entry({ ok: 1 }));
    expect(await store.get("stage-u", key)).toMatchObject({ status: "hit", outputs: { ok: 1 } });
    expect(await walk(join(dir, "tmp"))).toEqual([]);
  });

  it("an inputs manifest JSON cannot hold: a named error, nothing written", async () => {
    const error = await store.put("s", keyOf("m"), entry(1, { n: { digest: keyOf("n"), value: 1n } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecordableValueError);
    expect(await walk(base)).toEqual([]);
  });
});

describe("damaged entries", () => {
  const key = keyOf("damage");
  const entryDir = (): string => join(dir, "entries", "s", key);
  const damages: [string, (outputsFile: string) => Promise<void>, RegExp][] = [
    ["truncated entry.json", async () => {
      const text = await readFile(join(entryDir(), "entry.json"), "utf8");
      await writeFile(join(entryDir(), "entry.json"), text.slice(0, text.length / 2));
    }, /entry\.json is not valid JSON/],
    ["edited entry.json (the manifest)", async () => {
      const text = await readFile(join(entryDir(), "entry.json"), "utf8");
      await writeFile(join(entryDir(), "entry.json"), text.replace('"value": "v"', '"value": "w"'));
    }, /checksum mismatch \(the record was edited\)/],
    ["edited entry.json (key)", async () => {
      const record = JSON.parse(await readFile(join(entryDir(), "entry.json"), "utf8")) as Record<string, unknown>;
      await writeFile(join(entryDir(), "entry.json"), JSON.stringify({ ...record, key: keyOf("other") }));
    }, /checksum mismatch/],
    ["an entry copied under another key", async () => {
      const other = join(dir, "entries", "s", keyOf("elsewhere"));
      await store.put("s", keyOf("elsewhere"), entry({ n: 1 }, { i: { digest: keyOf("i"), value: "v" } }));
      await rm(entryDir(), { recursive: true });
      await cp(other, entryDir(), { recursive: true });
    }, /record's key\/stage does not match its location/],
    ["edited outputs (same size)", async (file) => {
      const bytes = await readFile(join(entryDir(), file));
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
      await writeFile(join(entryDir(), file), bytes);
    }, /outputs\.(json|bin) checksum mismatch/],
    ["truncated outputs", async (file) => {
      const bytes = await readFile(join(entryDir(), file));
      await writeFile(join(entryDir(), file), bytes.subarray(0, 10));
    }, /size mismatch/],
    ["missing outputs", async (file) => unlink(join(entryDir(), file)), /outputs\.(json|bin) is missing/],
  ];
  describe.each([
    ["json", { n: 1, text: "hello" }],
    ["v8", { n: 1, text: "hello", m: new Map([[1, 2]]) }],
  ])("%s codec", (_, outputs) => {
    it.each(damages)("%s: corrupt with a reason, moved aside, recomputed cleanly", async (_name, damage, reason) => {
      const record = await store.put("s", key, entry(outputs, { i: { digest: keyOf("i"), value: "v" } }));
      await damage(record.outputs.file);
      const read = await store.get("s", key);
      expect(read.status).toBe("corrupt");
      expect(read.status === "corrupt" && read.reason).toMatch(reason);
      expect(await readdir(join(dir, "entries", "s"))).not.toContain(key);
      expect((await readdir(join(dir, "tmp"))).some((n) => n.startsWith("corrupt-"))).toBe(true);
      expect(await store.get("s", key)).toEqual({ status: "miss" });
      await store.put("s", key, entry(outputs));
      expect(await store.get("s", key)).toMatchObject({ status: "hit", outputs });
      await store.gc();
      expect(await readdir(join(dir, "tmp"))).toEqual([]);
    });
  });

  it("put replaces a damaged entry in its way, and keeps a valid one (first writer wins)", async () => {
    await store.put("s", key, entry({ first: true }));
    await writeFile(join(entryDir(), "entry.json"), "{");
    const replaced = await store.put("s", key, entry({ second: true }));
    expect(await store.get("s", key)).toEqual({ status: "hit", record: replaced, outputs: { second: true } });
    const kept = await store.put("s", key, entry({ third: true }));
    expect(kept).toEqual(replaced);
    expect(await store.get("s", key)).toMatchObject({ outputs: { second: true } });
    expect(await walk(join(dir, "tmp"))).toEqual(expect.arrayContaining([expect.stringMatching(/^corrupt-/)]));
    expect((await walk(join(dir, "tmp"))).filter((f) => !f.startsWith("corrupt-") && !f.startsWith("latest-"))).toEqual([]);
  });

  it("latest ignores a pointer to a missing or damaged entry", async () => {
    await store.put("s", key, entry(1));
    expect((await store.latest("s"))?.key).toBe(key);
    await writeFile(join(entryDir(), "outputs.json"), "2\n");
    expect(await store.latest("s")).toBeUndefined();
    await writeFile(join(dir, "entries", "s", "latest"), "not json");
    expect(await store.latest("s")).toBeUndefined();
    expect(await store.latest("never")).toBeUndefined();
  });
});

/** Spawns the fixture writer; resolves once it printed `ready`. */
function spawnWriter(args: string[]): { child: ChildProcessWithoutNullStreams; ready: Promise<void>; output: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, ...args], { cwd: REPO });
  let out = "";
  let err = "";
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((done) => (signalReady = done));
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes("ready\n")) signalReady();
  });
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const output = new Promise<string>((done, fail) =>
    child.on("exit", (code, signal) => (code === 0 || signal === "SIGKILL" ? done(out) : fail(new Error(`writer exited ${code ?? signal}: ${err}`)))),
  );
  return { child, ready, output };
}

describe("processes", () => {
  it("4 processes publishing one key at once: one entry, every process gets the same valid record", async () => {
    const key = keyOf("race");
    const writers = Array.from({ length: 4 }, () => spawnWriter(["publish", dir, "race", key, String(1_000_000)]));
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.child.stdin.write("go\n");
    const records = (await Promise.all(writers.map((w) => w.output))).map((o) => JSON.parse(o.split("\n")[1]!) as EntryRecord);
    const read = await store.get("race", key);
    if (read.status !== "hit") throw new Error(`expected a hit, got ${JSON.stringify(read)}`);
    for (const r of records) expect(r).toEqual(read.record);
    expect(read.outputs).toEqual(bigValue(1_000_000));
    expect((await readdir(join(dir, "entries", "race"))).sort()).toEqual([key, "latest"]);
    expect((await readdir(join(dir, "tmp"))).filter((n) => n.startsWith("put-"))).toEqual([]);
  });

  it("a writer SIGKILLed at random points never leaves a corrupt or wrong entry", async () => {
    const trials = 20;
    const count = 8;
    const started = Date.now();
    let hits = 0;
    for (let trial = 0; trial < trials && Date.now() - started < 20_000; trial++) {
      const writer = spawnWriter(["loop", dir, String(trial), String(count)]);
      await writer.ready;
      await new Promise((done) => setTimeout(done, 5 + Math.random() * 55));
      writer.child.kill("SIGKILL");
      await writer.output;
      for (let t = 0; t <= trial; t++) {
        for (let i = 0; i < count; i++) {
          const read = await store.get(CRASH_STAGE, crashKey(t, i));
          if (read.status === "corrupt") throw new Error(`trial ${trial}: entry ${t}/${i} is corrupt: ${read.reason}`);
          if (read.status === "hit") {
            hits++;
            expect(read.outputs).toEqual(crashValue(t, i));
            expect(read.record.key).toBe(crashKey(t, i));
          }
        }
      }
      const latest = await store.latest(CRASH_STAGE);
      if (latest) expect(latest.stage).toBe(CRASH_STAGE);
    }
    expect(hits).toBeGreaterThan(0);
    // crash leftovers are only in tmp/, and gc collects them once they are an hour old
    await store.gc({ now: Date.now() + 2 * 3_600_000 });
    const files = await walk(dir);
    for (const f of files) expect(f).toMatch(/^(entries\/crash%2Floop\/([0-9a-f]{64}\/(entry\.json|outputs\.json|outputs\.bin)|latest)|tmp\/)$/);
    for (const e of await store.list()) expect(await store.get(CRASH_STAGE, e.key)).toMatchObject({ status: "hit" });
  }, 40_000);
});

describe("management", () => {
  async function putAt(stage: string, name: string, outputs: unknown, createdAt: string): Promise<void> {
    // publish, then back-date the record (re-checksummed) so gc has ages to work with
    const key = keyOf(name);
    const record = await store.put(stage, key, entry(outputs));
    const { checksum: _, ...body } = { ...record, createdAt };
    const checksum = createHash("sha256").update(JSON.stringify(body, null, 2)).digest("hex");
    await writeFile(join(dir, "entries", stageDirName(stage), key, "entry.json"), `${JSON.stringify({ ...body, checksum }, null, 2)}\n`);
  }
  const day = 86_400_000;
  const now = Date.parse("2030-01-10T00:00:00Z");
  const iso = (daysAgo: number): string => new Date(now - daysAgo * day).toISOString();

  it("list and stats count valid entries and their bytes", async () => {
    await putAt("a", "a1", { x: "1".repeat(1000) }, iso(3));
    await putAt("a", "a2", new Map([[1, "2".repeat(500)]]), iso(2));
    await putAt("B/c", "b1", [1, 2, 3], iso(1));
    const listed = await store.list();
    expect(listed.map((e) => e.key)).toEqual([keyOf("a1"), keyOf("a2"), keyOf("b1")]);
    for (const e of listed) {
      const entryDir = join(dir, "entries", stageDirName(e.stage), e.key);
      expect(e.bytes).toBe((await stat(join(entryDir, "entry.json"))).size + (await stat(join(entryDir, e.outputs.file))).size);
    }
    const stats = await store.stats();
    expect(stats.entries).toBe(3);
    expect(stats.bytes).toBe(listed.reduce((s, e) => s + e.bytes, 0));
    expect(stats.stages).toEqual({
      a: { entries: 2, bytes: listed[0]!.bytes + listed[1]!.bytes },
      "B/c": { entries: 1, bytes: listed[2]!.bytes },
    });
  });

  it("gc by age and by size, oldest first, repoints latest, leaves no orphan", async () => {
    for (let d = 10; d >= 1; d--) await putAt(d % 2 ? "odd" : "even", `e${d}`, { d, pad: "p".repeat(2000) }, iso(d));
    // damage: an entry, a stray, a dead put and a fresh one
    await writeFile(join(dir, "entries", "odd", keyOf("e9"), "outputs.json"), "{}");
    await writeFile(join(dir, "entries", "odd", "stray.txt"), "x");
    await mkdir(join(dir, "tmp", "put-dead"), { recursive: true });
    await writeFile(join(dir, "tmp", "put-dead", "outputs.json"), "1");
    await utimes(join(dir, "tmp", "put-dead"), new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
    await mkdir(join(dir, "tmp", "put-live"));
    await utimes(join(dir, "tmp", "put-live"), new Date(now - 60_000), new Date(now - 60_000));

    const byAge = await store.gc({ maxAgeMs: 7.5 * day, now });
    expect(byAge.removed).toBe(3); // e10, e8 (age) and e9 (damaged)
    expect((await store.list()).map((e) => e.key)).toEqual([7, 6, 5, 4, 3, 2, 1].map((d) => keyOf(`e${d}`)));
    expect(await readdir(join(dir, "tmp"))).toEqual(["put-live"]);
    expect(await readdir(join(dir, "entries", "odd"))).not.toContain("stray.txt");

    const sizes = (await store.list()).map((e) => e.bytes);
    const bySize = await store.gc({ maxBytes: sizes.slice(-3).reduce((s, b) => s + b, 0), now });
    expect(bySize.removed).toBe(4);
    expect(bySize.freedBytes).toBe(sizes.slice(0, 4).reduce((s, b) => s + b, 0));
    const left = await store.list();
    expect(left.map((e) => e.key)).toEqual([keyOf("e3"), keyOf("e2"), keyOf("e1")]);
    expect((await store.latest("odd"))?.key).toBe(keyOf("e1"));
    expect((await store.latest("even"))?.key).toBe(keyOf("e2"));

    // an emptied stage loses its directory and its pointer
    await store.gc({ maxBytes: 0, now });
    expect(await store.latest("odd")).toBeUndefined();
    expect(await walk(dir)).toEqual(["entries/", "tmp/put-live/"]);
  });

  it("latest pointers to an entry removed by gc move to the newest remaining one", async () => {
    await putAt("s", "old", 1, iso(5));
    await putAt("s", "new", 2, iso(1));
    await writeFile(join(dir, "entries", "s", "latest"), JSON.stringify({ stage: "s", key: keyOf("gone") }));
    await store.gc({ now });
    expect((await store.latest("s"))?.key).toBe(keyOf("new"));
  });

  it("clear removes everything", async () => {
    await store.put("a", keyOf("1"), entry(1));
    await store.put("b/c", keyOf("2"), entry(new Set([2])));
    await mkdir(join(dir, "tmp", "put-x"), { recursive: true });
    await store.clear();
    expect(await walk(dir)).toEqual([]);
    expect(await store.get("a", keyOf("1"))).toEqual({ status: "miss" });
    expect(await store.stats()).toEqual({ entries: 0, bytes: 0, stages: {} });
    await store.put("a", keyOf("1"), entry(1));
    expect(await store.get("a", keyOf("1"))).toMatchObject({ status: "hit", outputs: 1 });
  });
});
