import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile, copyFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, sep, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheWriteError, MemopipeError } from "../../src/runtime/errors.js";
import { encodePayload } from "../../src/runtime/cache/payload.js";
import { stageDirName } from "../../src/runtime/cache/safe-name.js";
import { DirectoryStore } from "../../src/runtime/cache/directory-store.js";
import { encodeEntry, LINE1_BYTES, parseEntry } from "../../src/runtime/cache/entry-file.js";
import type { EntryRecord, NewEntry, ReadResult } from "../../src/runtime/cache/types.js";
import { CRASH_STAGE, bigValue, crashKey, crashValue } from "../fixtures/store-writer.js";
import { entryFiles } from "../helpers/cache-files.js";
import { otherUser } from "../helpers/other-user.js";

const WRITER = fileURLToPath(new URL("../fixtures/store-writer.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

const keyOf = (s: string): string => createHash("sha256").update(s).digest("hex");
const entry = (outputs: unknown, inputs: NewEntry["inputs"] = {}): NewEntry => ({
  inputs,
  code: { fingerprint: keyOf("code"), source: "function-source" },
  payload: encodePayload(outputs, "s"),
});
const hit = (r: ReadResult): Extract<ReadResult, { status: "hit" }> => {
  if (r.status !== "hit") throw new Error(`expected a hit, got ${JSON.stringify(r)}`);
  return r;
};

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
    expect(files.filter((f) => f.startsWith("entries/") && escapes(join(dir, "entries"), f))).toEqual([]);
    expect(entryFiles(dir)).toHaveLength(stages.length);
    expect(new Set((await store.list()).map((e) => e.stage))).toEqual(new Set(stages));
  });

  it("keys must be 64 lowercase hex digits", async () => {
    for (const bad of ["../../x", "ab", keyOf("x").toUpperCase(), `${keyOf("x")}/`, ""]) {
      expect(() => store.get("s", bad)).toThrow(MemopipeError);
      await expect(store.put("s", bad, entry(1))).rejects.toBeInstanceOf(MemopipeError);
    }
    expect(await walk(base)).toEqual([]);
  });
});

describe("entry files", () => {
  it("one file per entry: a checksum line, a header, the readable record, the payload", async () => {
    const key = keyOf("json");
    const outputs = { shift: [1.5, -2, 0], label: "sub-01", ok: true, none: null, nested: { a: [] } };
    const inputs = { ref: { digest: keyOf("ref"), value: "sub-01" }, image: { digest: keyOf("img"), files: [{ path: "sub-01.nii", sha256: keyOf("nii"), size: 352 }] } };
    const record = await store.put("register", key, { ...entry(outputs, inputs), outputFiles: [{ path: "out.nii", sha256: keyOf("o"), size: 9 }] });
    expect(record).toMatchObject({ format: 2, stage: "register", key, inputs, outputFiles: [{ path: "out.nii" }] });
    const read = hit(await store.get("register", key));
    expect(read.outputs).toEqual(outputs);
    expect(read.files).toEqual([{ path: "out.nii", sha256: keyOf("o"), size: 9 }]);
    expect(read.record()).toEqual(record);
    const [file] = entryFiles(dir);
    expect(relative(dir, file!)).toBe(join("entries", "register", key.slice(0, 2), key));
    const lines = (await readFile(file!, "utf8")).split("\n");
    expect(lines[0]).toMatch(/^memopipe-entry 3 crc32 [0-9a-f]{8}$/);
    expect(JSON.parse(lines[1]!)).toMatchObject({ stage: "register", key, files: [{ path: "out.nii" }] });
    expect(JSON.parse(lines[2]!)).toEqual(record); // the record, for people: `head -3` shows it
    expect(await store.latest("register")).toEqual(record);
    expect(await store.show("register")).toEqual({ record, outputs });
    expect(await store.show("register", key.slice(0, 10))).toEqual({ record, outputs });
  });

  it("the encoder and parser agree, and the parser checks every byte", () => {
    const record: EntryRecord = { format: 2, stage: "s", key: keyOf("k"), createdAt: new Date(0).toISOString(), inputs: {}, code: { fingerprint: keyOf("c"), source: "codegen" }, outputs: { codec: "json", size: 3 } };
    const bytes = encodeEntry(record, Buffer.from("[1]"));
    const parsed = parseEntry(bytes, { stage: "s", key: record.key });
    if (typeof parsed === "string") throw new Error(parsed);
    expect(parsed.record()).toEqual(record);
    expect(parsed.bytes.subarray(parsed.payloadStart).toString()).toBe("[1]");
    for (let i = LINE1_BYTES; i < bytes.length; i++) {
      const damaged = Buffer.from(bytes);
      damaged[i]! ^= 0x20;
      expect(parseEntry(damaged, { stage: "s", key: record.key })).toBe("checksum mismatch");
    }
    expect(parseEntry(bytes, { stage: "t", key: record.key })).toMatch(/does not match its location/);
    expect(parseEntry(Buffer.alloc(0), { key: record.key })).toMatch(/empty/);
    expect(parseEntry(Buffer.alloc(bytes.length), { key: record.key })).toMatch(/bad first line/);
  });

  it("an entry of format 2 (a SHA-256 on line 1) is still read, and its checksum still checked", () => {
    const record: EntryRecord = { format: 2, stage: "s", key: keyOf("k2"), createdAt: new Date(0).toISOString(), inputs: {}, code: { fingerprint: keyOf("c"), source: "codegen" }, outputs: { codec: "json", size: 3 } };
    const v3 = encodeEntry(record, Buffer.from("[1]"));
    const rest = v3.subarray(LINE1_BYTES);
    const v2 = Buffer.concat([Buffer.from(`memopipe-entry 2 sha256 ${createHash("sha256").update(rest).digest("hex")}\n`, "latin1"), rest]);
    const parsed = parseEntry(v2, { stage: "s", key: record.key });
    if (typeof parsed === "string") throw new Error(parsed);
    expect(parsed.record()).toEqual(record);
    expect(parsed.bytes.subarray(parsed.payloadStart).toString()).toBe("[1]");
    for (const i of [89, 100, v2.length - 1]) {
      const damaged = Buffer.from(v2);
      damaged[i]! ^= 1;
      expect(parseEntry(damaged, { stage: "s", key: record.key })).toBe("checksum mismatch");
    }
  });

  it("round trips what the payload codec keeps: Map, Set, Date, BigInt, typed arrays, -0, cycles", async () => {
    const cyclic: Record<string, unknown> = { name: "c" };
    cyclic.self = cyclic;
    const outputs = { map: new Map<unknown, unknown>([["a", 1], [2, new Set([3n])]]), date: new Date(1_700_000_000_000), f64: new Float64Array([1.5, -0, NaN]), negZero: -0, cyclic, buf: Buffer.from("b") };
    await store.put("s", keyOf("v8"), entry(outputs));
    const back = hit(await store.get("s", keyOf("v8"))).outputs as typeof outputs;
    expect(back).toEqual(outputs);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.cyclic.self).toBe(back.cyclic);
    expect(Buffer.isBuffer(back.buf)).toBe(true);
  });

  it("every read is a fresh copy", async () => {
    await store.put("s", keyOf("fresh"), entry({ list: [1] }));
    const a = hit(await store.get("s", keyOf("fresh"))).outputs as { list: number[] };
    a.list.push(2);
    expect(hit(await store.get("s", keyOf("fresh"))).outputs).toEqual({ list: [1] });
  });

  it("entries of one stage of very different sizes are read whole, in any order (the read guesses a size from the last one)", async () => {
    const sizes = [10, 100_000, 5, 3_000_000, 20_000, 1, 300_000];
    const value = (n: number, i: number) => ({ i, text: "x".repeat(n) });
    for (const [i, n] of sizes.entries()) await store.put("sizes", keyOf(`size-${i}`), entry(value(n, i)));
    // small after large after small: each read's first guess is wrong in one direction or the other
    for (const order of [[0, 1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1, 0], [3, 0, 1, 5, 6, 2, 4]]) {
      for (const i of order) expect(hit(await store.get("sizes", keyOf(`size-${i}`))).outputs).toEqual(value(sizes[i]!, i));
    }
    // a torn entry whose cut falls past the guessed size is still found out
    const big = entryFiles(dir).find((f) => f.endsWith(keyOf("size-1")))!;
    await writeFile(big, (await readFile(big)).subarray(0, 60_000));
    expect(await store.get("sizes", keyOf("size-1"))).toMatchObject({ status: "corrupt" });
  });

  it("files and directories follow the umask (a group-shared cache works)", async () => {
    const old = process.umask(0o002);
    try {
      await store.put("shared", keyOf("u"), entry(1));
    } finally {
      process.umask(old);
    }
    const [file] = entryFiles(dir);
    expect((await stat(file!)).mode & 0o777).toBe(0o664);
    expect((await stat(dirname(file!))).mode & 0o777).toBe(0o775);
    expect((await stat(join(dir, "entries", "shared"))).mode & 0o777).toBe(0o775);
  });
});

describe("damaged entries", () => {
  const key = keyOf("damage");
  const file = (): string => entryFiles(dir).find((f) => f.endsWith(key))!;
  const damages: [string, () => Promise<void>, RegExp][] = [
    ["an empty file (a torn write after a power loss)", async () => writeFile(file(), ""), /empty/],
    ["zeros (a torn write)", async () => writeFile(file(), Buffer.alloc((await stat(file())).size)), /bad first line/],
    ["truncated", async () => writeFile(file(), (await readFile(file())).subarray(0, 200)), /checksum mismatch/],
    ["an edited record (the manifest)", async () => writeFile(file(), (await readFile(file(), "utf8")).replace('"value":"v"', '"value":"w"')), /checksum mismatch/],
    ["one bit of the payload", async () => {
      const bytes = await readFile(file());
      bytes[bytes.length - 3]! ^= 1;
      await writeFile(file(), bytes);
    }, /checksum mismatch/],
    ["an entry copied under another key", async () => {
      await store.put("s", keyOf("elsewhere"), entry({ n: 1 }, { i: { digest: keyOf("i"), value: "v" } }));
      await copyFile(entryFiles(dir).find((f) => f.endsWith(keyOf("elsewhere")))!, file());
    }, /does not match its location/],
    ["an entry with its checksum recomputed but its sizes wrong", async () => {
      const bytes = await readFile(file());
      const text = bytes.toString("latin1");
      const grown = Buffer.concat([bytes, Buffer.from("xx")]);
      const rehashed = `memopipe-entry 3 crc32 ${crc32(grown.subarray(LINE1_BYTES)).toString(16).padStart(8, "0")}\n`;
      grown.write(rehashed, 0, "latin1");
      expect(text.length).toBeGreaterThan(0);
      await writeFile(file(), grown);
    }, /size mismatch/],
  ];
  it.each(damages)("%s: corrupt with a reason, moved aside, recomputed cleanly", async (_name, damage, reason) => {
    await store.put("s", key, entry({ n: 1, text: "hello" }, { i: { digest: keyOf("i"), value: "v" } }));
    await damage();
    const read = await store.get("s", key);
    expect(read.status).toBe("corrupt");
    expect(read.status === "corrupt" && read.reason).toMatch(reason);
    expect(entryFiles(dir).some((f) => f.endsWith(key))).toBe(false);
    expect((await readdir(join(dir, "tmp"))).some((n) => n.startsWith("corrupt-"))).toBe(true);
    expect(await store.get("s", key)).toEqual({ status: "miss" });
    await store.put("s", key, entry({ n: 2 }));
    expect(await store.get("s", key)).toMatchObject({ status: "hit", outputs: { n: 2 } });
    await store.gc();
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("put replaces a damaged entry in its way, and keeps a valid one (first writer wins)", async () => {
    await store.put("s", key, entry({ first: true }));
    await writeFile(file(), "{");
    const replaced = await store.put("s", key, entry({ second: true }));
    expect(hit(await store.get("s", key)).outputs).toEqual({ second: true });
    const kept = await store.put("s", key, entry({ third: true }));
    expect(kept).toEqual(replaced);
    expect(hit(await store.get("s", key)).outputs).toEqual({ second: true });
    expect((await walk(join(dir, "tmp"))).filter((f) => !f.startsWith("corrupt-"))).toEqual([]);
  });

  it("latest ignores a pointer to a missing or damaged entry", async () => {
    await store.put("s", key, entry(1));
    expect((await store.latest("s"))?.key).toBe(key);
    await writeFile(file(), "2\n");
    expect(await store.latest("s")).toBeUndefined();
    await writeFile(join(dir, "entries", "s", "latest"), "not json");
    expect(await store.latest("s")).toBeUndefined();
    expect(await store.latest("never")).toBeUndefined();
  });

  it("a directory where the entry file belongs (an old-format entry) is a miss, then replaced", async () => {
    await mkdir(join(dir, "entries", "s", key.slice(0, 2), key), { recursive: true });
    expect((await store.get("s", key)).status).toBe("corrupt");
    await store.put("s", key, entry(3));
    expect(hit(await store.get("s", key)).outputs).toBe(3);
  });
});

describe("planted symbolic links never redirect a write outside the cache", () => {
  let outside: string;
  beforeEach(async () => {
    outside = join(base, "outside");
    await mkdir(outside);
  });
  const plants: [string, () => Promise<void>][] = [
    ["entries", async () => symlink(outside, join(dir, "entries"))],
    ["entries/<stage>", async () => {
      await mkdir(join(dir, "entries"), { recursive: true });
      await symlink(outside, join(dir, "entries", "s"));
    }],
    ["entries/<stage>/<shard>", async () => {
      await mkdir(join(dir, "entries", "s"), { recursive: true });
      await symlink(outside, join(dir, "entries", "s", keyOf("p").slice(0, 2)));
    }],
    ["tmp", async () => symlink(outside, join(dir, "tmp"))],
    ["the entry file itself", async () => {
      await mkdir(join(dir, "entries", "s", keyOf("p").slice(0, 2)), { recursive: true });
      await symlink(join(outside, "victim"), join(dir, "entries", "s", keyOf("p").slice(0, 2), keyOf("p")));
    }],
  ];
  it.each(plants)("%s", async (_name, plant) => {
    await mkdir(dir, { recursive: true });
    await plant();
    const result = await store.put("s", keyOf("p"), entry({ secret: 1 })).then(
      () => "written",
      (e: unknown) => e,
    );
    expect(await walk(outside)).toEqual([]);
    if (result !== "written") {
      expect(result).toBeInstanceOf(CacheWriteError);
      expect((result as Error).message).toMatch(/symbolic link|not a directory|in the way/);
    }
    const again = await store.get("s", keyOf("p"));
    expect(again.status === "hit" ? again.outputs : undefined).not.toEqual({ victim: true });
  });

  it("the claim's lock directory", async () => {
    await mkdir(dir, { recursive: true });
    await symlink(outside, join(dir, "locks"));
    const claim = await store.claim("s", keyOf("p"));
    expect(claim.owned).toBe(true); // no coordination possible, but no write outside either
    claim.release();
    expect(await walk(outside)).toEqual([]);
  });
});

describe("claims", () => {
  it("the first claimant owns the key; a second waits until the entry is published", async () => {
    const key = keyOf("claim");
    const first = await store.claim("s", key);
    expect(first).toMatchObject({ owned: true, waitedMs: 0 });
    let second: { owned: boolean } | undefined;
    const waiting = store.claim("s", key).then((c) => (second = c));
    await new Promise((r) => setTimeout(r, 30));
    expect(second).toBeUndefined();
    await store.put("s", key, entry(42));
    await waiting;
    expect(second).toMatchObject({ owned: false });
    first.release();
    // released: the next claim owns it at once
    const third = await store.claim("s", key);
    expect(third.owned).toBe(true);
    third.release();
    // no lock left: only this process's owner file, which every lock of it links to
    expect((await readdir(join(dir, "locks"))).filter((n) => !n.startsWith(".owner-"))).toEqual([]);
  });

  it("a claimant that gives up without publishing hands the key to a waiter", async () => {
    const key = keyOf("give-up");
    const first = await store.claim("s", key);
    const waiting = store.claim("s", key);
    setTimeout(() => first.release(), 20);
    const second = await waiting;
    expect(second.owned).toBe(true);
    expect(second.waitedMs).toBeGreaterThan(0);
    second.release();
  });

  it("a lock left by a process that is gone is taken over at once", async () => {
    const key = keyOf("dead");
    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => dead.on("exit", r));
    await mkdir(join(dir, "locks"), { recursive: true });
    const { hostname } = await import("node:os");
    await writeFile(join(dir, "locks", `${key}.lock`), JSON.stringify({ host: hostname(), pid: dead.pid, token: "x" }));
    const started = Date.now();
    const claim = await store.claim("s", key);
    expect(claim.owned).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    claim.release();
  });

  it("a lock of another host is trusted for its lease, then taken over", async () => {
    const key = keyOf("remote");
    await mkdir(join(dir, "locks"), { recursive: true });
    await writeFile(join(dir, "locks", `${key}.lock`), JSON.stringify({ host: "elsewhere.example", pid: 1, token: "x" }));
    const started = Date.now();
    const claim = await store.claim("s", key, { leaseMs: 150 });
    expect(claim.owned).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    claim.release();
  });

  it("a waiter stops when its signal aborts", async () => {
    const key = keyOf("abort");
    const first = await store.claim("s", key);
    const controller = new AbortController();
    const waiting = store.claim("s", key, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toThrow();
    first.release();
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
    const read = hit(await store.get("race", key));
    for (const r of records) expect(r).toEqual(read.record());
    expect(read.outputs).toEqual(bigValue(1_000_000));
    expect(entryFiles(dir)).toHaveLength(1);
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
            expect(read.record().key).toBe(crashKey(t, i));
          }
        }
      }
      const latest = await store.latest(CRASH_STAGE);
      if (latest) expect(latest.stage).toBe(CRASH_STAGE);
    }
    expect(hits).toBeGreaterThan(0);
    // crash leftovers are only in tmp/, and gc collects them once they are an hour old
    await store.gc({ now: Date.now() + 2 * 3_600_000 });
    for (const f of await walk(dir)) expect(f).toMatch(/^(entries\/crash%2Floop\/([0-9a-f]{2}\/[0-9a-f]{64}|latest)|tmp\/|locks\/|CACHEDIR\.TAG)$/);
    for (const e of await store.list()) expect(await store.get(CRASH_STAGE, e.key)).toMatchObject({ status: "hit" });
  }, 40_000);
});

describe("management", () => {
  /** Publishes, then back-dates the entry (re-encoded with its checksum) so gc has ages to work with. */
  async function putAt(stage: string, name: string, outputs: unknown, createdAt: string): Promise<void> {
    const key = keyOf(name);
    const e = entry(outputs);
    const record = await store.put(stage, key, e);
    await writeFile(store.entryPath(stage, key), encodeEntry({ ...record, createdAt }, e.payload.bytes));
  }
  const day = 86_400_000;
  const now = Date.parse("2030-01-10T00:00:00Z");
  const iso = (daysAgo: number): string => new Date(now - daysAgo * day).toISOString();

  it("list and stats count entries and their bytes", async () => {
    await putAt("a", "a1", { x: "1".repeat(1000) }, iso(3));
    await putAt("a", "a2", new Map([[1, "2".repeat(500)]]), iso(2));
    await putAt("B/c", "b1", [1, 2, 3], iso(1));
    const listed = await store.list();
    expect(listed.map((e) => e.key)).toEqual([keyOf("a1"), keyOf("a2"), keyOf("b1")]);
    for (const e of listed) expect(e.bytes).toBe((await stat(store.entryPath(e.stage, e.key))).size);
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
    // damage: an entry, strays (an old-format entry directory among them), a dead put and a fresh one
    await writeFile(store.entryPath("odd", keyOf("e9")), "{}");
    await writeFile(join(dir, "entries", "odd", "stray.txt"), "x");
    await mkdir(join(dir, "entries", "odd", keyOf("format-1")), { recursive: true });
    await writeFile(join(dir, "entries", "odd", keyOf("format-1"), "entry.json"), "{}");
    await writeFile(join(dir, "tmp", "put-dead"), "1");
    await utimes(join(dir, "tmp", "put-dead"), new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
    await writeFile(join(dir, "tmp", "put-live"), "1");
    await utimes(join(dir, "tmp", "put-live"), new Date(now - 60_000), new Date(now - 60_000));

    const byAge = await store.gc({ maxAgeMs: 7.5 * day, now });
    expect(byAge.removed).toBe(3); // e10, e8 (age) and e9 (damaged)
    expect((await store.list()).map((e) => e.key)).toEqual([7, 6, 5, 4, 3, 2, 1].map((d) => keyOf(`e${d}`)));
    expect((await readdir(join(dir, "tmp"))).filter((n) => !n.startsWith("trash-"))).toEqual(["put-live"]);
    expect(await readdir(join(dir, "entries", "odd"))).not.toContain("stray.txt");
    expect(await readdir(join(dir, "entries", "odd"))).not.toContain(keyOf("format-1"));

    const sizes = (await store.list()).map((e) => e.bytes);
    const bySize = await store.gc({ maxBytes: sizes.slice(-3).reduce((s, b) => s + b, 0), now });
    expect(bySize.removed).toBe(4);
    expect(bySize.freedBytes).toBe(sizes.slice(0, 4).reduce((s, b) => s + b, 0));
    expect((await store.list()).map((e) => e.key)).toEqual([keyOf("e3"), keyOf("e2"), keyOf("e1")]);
    expect((await store.latest("odd"))?.key).toBe(keyOf("e1"));
    expect((await store.latest("even"))?.key).toBe(keyOf("e2"));

    // an emptied stage loses its directory and its pointer
    await store.gc({ maxBytes: 0, now });
    expect(await store.latest("odd")).toBeUndefined();
    expect(await readdir(join(dir, "entries"))).toEqual([]);
  });

  it("latest pointers to an entry removed by gc move to the newest remaining one", async () => {
    await putAt("s", "old", 1, iso(5));
    await putAt("s", "new", 2, iso(1));
    await writeFile(join(dir, "entries", "s", "latest"), JSON.stringify({ stage: "s", key: keyOf("gone") }));
    await store.gc({ now });
    expect((await store.latest("s"))?.key).toBe(keyOf("new"));
  });

  it("clear removes everything, and a store keeps working after it", async () => {
    await store.put("a", keyOf("1"), entry(1));
    await store.put("b/c", keyOf("2"), entry(new Set([2])));
    await store.clear();
    expect(entryFiles(dir)).toEqual([]);
    expect(await store.get("a", keyOf("1"))).toEqual({ status: "miss" });
    expect(await store.stats()).toEqual({ entries: 0, bytes: 0, stages: {} });
    await store.put("a", keyOf("1"), entry(1));
    expect(await store.get("a", keyOf("1"))).toMatchObject({ status: "hit", outputs: 1 });
  });

  it("a permission error on read is `unreadable`, not corruption, and the entry is left alone", async () => {
    await store.put("s", keyOf("perm"), entry(1));
    const file = store.entryPath("s", keyOf("perm"));
    await chmod(file, 0o000);
    // root reads anything: read as another user in a child process where this runs as root
    const nobody = otherUser(REPO);
    if (typeof nobody !== "string") {
      await chmod(base, 0o755);
      await chmod(dir, 0o755);
      const script = `import("${join(REPO, "src/runtime/cache/directory-store.ts")}").then(async (m) => { const r = await new m.DirectoryStore(${JSON.stringify(dir)}).get("s", ${JSON.stringify(keyOf("perm"))}); console.log(JSON.stringify(r)); })`;
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: REPO, ...nobody });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      await new Promise((r) => child.on("exit", r));
      expect(err).toBe("");
      const r = JSON.parse(out) as ReadResult;
      expect(r.status).toBe("unreadable");
      expect(r.status === "unreadable" && r.reason).toMatch(/permission denied/);
    } else if (process.getuid?.() === 0) {
      console.warn(`skipped the read as another user: ${nobody}`); // root reads anything
    } else {
      const r = await store.get("s", keyOf("perm"));
      expect(r.status).toBe("unreadable");
    }
    expect(entryFiles(dir)).toHaveLength(1);
  });
});

describe("another process removes directories under a running store", () => {
  it("a store keeps writing after another store's clear and gc removed its directories", async () => {
    await store.put("s", keyOf("1"), entry(1));
    await new DirectoryStore(dir).clear();
    await store.put("s", keyOf("2"), entry(2));
    expect(hit(await store.get("s", keyOf("2"))).outputs).toBe(2);
    await new DirectoryStore(dir).gc({ maxBytes: 0 });
    expect(entryFiles(dir)).toEqual([]);
    await store.put("s", keyOf("3"), entry(3));
    expect(hit(await store.get("s", keyOf("3"))).outputs).toBe(3);
  });
});
