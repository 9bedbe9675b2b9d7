/**
 * The cache under faults (issue 7, item 4 and 5): other processes computing the same key, owners
 * killed mid-way, read-only and foreign-owned caches, a full disk, I/O errors, planted links,
 * hostile stage names, a log that grows. Each against the real thing where the machine allows it
 * (child processes, a real tmpfs, another user), bounded in time, cleaned up.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stage, UnrecordableValueError } from "../../src/index.js";
import { DEFAULT_LEASE_MS } from "../../src/runtime/cache/dir-claim.js";
import { DirectoryStore } from "../../src/runtime/cache/directory-store.js";
import type { CacheStore, NewEntry } from "../../src/runtime/cache/types.js";
import { CacheWriteError } from "../../src/runtime/errors.js";
import { readLastRun, trimEvents, type StageEvent } from "../../src/runtime/events.js";
import { escapeText, formatWhy, lastRun } from "../../src/runtime/why.js";
import { entryFiles } from "../helpers/cache-files.js";
import { otherUser } from "../helpers/other-user.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/cached-run.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const isRoot = process.getuid?.() === 0;

interface Result {
  v: number;
  padLength: number;
  status: StageEvent["status"] | null;
  event: StageEvent | null;
  warnings: string[];
}

/** Starts the fixture; `ready` resolves when its modules are loaded (its claim follows at once), `computing` when its stage function starts, `done` with its results. */
function runFixture(dir: string, spec: Record<string, unknown>, as?: { uid: number; gid: number }) {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, dir, JSON.stringify(spec)], { cwd: REPO, ...(as ?? {}) });
  let out = "";
  let err = "";
  let started: () => void = () => {};
  let loaded: () => void = () => {};
  const computing = new Promise<void>((r) => (started = r));
  const ready = new Promise<void>((r) => (loaded = r));
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    if (out.includes("started\n")) loaded();
    if (out.includes("computing\n")) started();
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  // a spawn that fails (EACCES, ENOENT) emits "error" and never "exit": reported as the stderr
  child.on("error", (e) => (err += `spawn failed: ${e.message}\n`));
  const done = new Promise<{ results: Result[]; code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) =>
      resolve({
        results: out
          .split("\n")
          .filter((l) => l.startsWith("RESULT "))
          .map((l) => JSON.parse(l.slice(7)) as Result),
        code,
        signal,
        stderr: err,
      }),
    ),
  );
  return { child, computing, ready, done };
}

let base: string;
let dir: string;
const mounts: string[] = [];
beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), "memopipe-faults-"));
  dir = path.join(base, "cache");
});
afterEach(() => {
  for (const m of mounts.splice(0)) spawnSync("umount", [m]);
  rmSync(base, { recursive: true, force: true });
});

/** Mounts a filesystem for a test (root only); false (and the test says so) where the machine cannot. */
function mount(args: string[], target: string): boolean {
  if (!isRoot) return false;
  const r = spawnSync("mount", [...args, target], { encoding: "utf8" });
  if (r.status !== 0) return false;
  mounts.unshift(target);
  return true;
}

describe("compute once across processes (claim)", () => {
  it("6 processes asking for one key at once: one computation, everyone gets the value", async () => {
    const counter = path.join(base, "computed");
    writeFileSync(counter, "");
    const runs = Array.from({ length: 6 }, () => runFixture(dir, { n: 21, sleepMs: 400, counter }));
    const outcomes = await Promise.all(runs.map((r) => r.done));
    for (const o of outcomes) {
      expect(o.code, o.stderr).toBe(0);
      expect(o.results).toHaveLength(1);
      expect(o.results[0]!.v).toBe(42);
    }
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(1);
    const statuses = outcomes.map((o) => o.results[0]!.status).sort();
    expect(statuses).toEqual(["hit", "hit", "hit", "hit", "hit", "ran"]);
    for (const o of outcomes) if (o.results[0]!.status === "hit") expect(o.results[0]!.event?.waitedMs ?? 0).toBeGreaterThanOrEqual(0);
    expect(entryFiles(dir)).toHaveLength(1);
    expect(readdirSync(path.join(dir, "locks"))).toEqual([]);
  }, 30_000);

  it("an owner SIGKILLed mid-computation is taken over by a waiter, which computes and records", async () => {
    const counter = path.join(base, "computed");
    writeFileSync(counter, "");
    const owner = runFixture(dir, { n: 5, sleepMs: 60_000, counter });
    await owner.computing;
    const waiter = runFixture(dir, { n: 5, sleepMs: 0, counter });
    await waiter.ready;
    await new Promise((r) => setTimeout(r, 300)); // the waiter is polling the owner's lock
    const killedAt = Date.now();
    owner.child.kill("SIGKILL");
    const w = await waiter.done;
    expect(w.code, w.stderr).toBe(0);
    expect(w.results[0]).toMatchObject({ v: 10, status: "ran" });
    // Taken over at once (dead pid), not after the 10 s lease: the waiter's own wait, from its event
    // (wall time would also count its start-up under tsx, seconds on a loaded machine).
    expect(w.results[0]!.event?.waitedMs ?? 0).toBeLessThan(DEFAULT_LEASE_MS / 2);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect((await owner.done).signal).toBe("SIGKILL");
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(2);
    const third = await runFixture(dir, { n: 5, counter }).done;
    expect(third.results[0]).toMatchObject({ v: 10, status: "hit" });
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(2);
  }, 30_000);
});

describe("a cache that cannot be written still serves hits and returns every value", () => {
  it("another user's cache (read-only for us): hits served, a miss computed and returned, one warning", async () => {
    const nobody = otherUser(REPO);
    if (typeof nobody === "string") return console.warn(`skipped: ${nobody}`);
    // written as root (mode 755/644 under the default umask), read as nobody
    const populate = await runFixture(dir, { n: 1 }).done;
    expect(populate.results[0]).toMatchObject({ v: 2, status: "ran" });
    chmodSync(base, 0o755);
    const r = await runFixture(dir, { n: 1, runs: 1 }, nobody).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.results[0]!.v).toBe(2); // the hit, read from an entry it cannot write
    const miss = await runFixture(dir, { n: 7, runs: 2 }, nobody).done;
    expect(miss.code, miss.stderr).toBe(0);
    expect(miss.results.map((x) => x.v)).toEqual([14, 14]);
    const cacheWarnings = miss.results[1]!.warnings.filter((w) => w.startsWith("MEMOPIPE_CACHE_WRITE"));
    expect(cacheWarnings).toHaveLength(1);
    expect(cacheWarnings[0]).toMatch(/permission denied/);
    expect(cacheWarnings[0]).toContain(dir);
    expect(entryFiles(dir)).toHaveLength(1); // nothing written by the foreign process
  }, 30_000);

  it("a read-only file system (EROFS): hits served, misses computed and returned, one warning", async () => {
    mkdirSync(dir, { recursive: true });
    const populate = await runFixture(dir, { n: 1 }).done;
    expect(populate.results[0]?.status).toBe("ran");
    if (!mount(["--bind", dir], dir) || spawnSync("mount", ["-o", "remount,bind,ro", dir]).status !== 0) {
      return console.warn("skipped: cannot make a read-only bind mount here");
    }
    const r = await runFixture(dir, { n: 1 }).done;
    expect(r.results[0]?.v).toBe(2);
    const miss = await runFixture(dir, { n: 3 }).done;
    expect(miss.code, miss.stderr).toBe(0);
    expect(miss.results[0]?.v).toBe(6);
    const cacheWarnings = miss.results[0]!.warnings.filter((w) => w.startsWith("MEMOPIPE_CACHE_WRITE"));
    expect(cacheWarnings).toHaveLength(1);
    expect(cacheWarnings[0]).toMatch(/read-only/);
  }, 30_000);

  it("a full disk (ENOSPC): the value returned, one warning naming stage and path, nothing corrupt left", async () => {
    mkdirSync(dir, { recursive: true });
    if (!mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs"], dir)) return console.warn("skipped: cannot mount a tmpfs here");
    const big = await runFixture(dir, { n: 2, pad: 1_000_000, runs: 2 }).done;
    expect(big.code, big.stderr).toBe(0);
    expect(big.results.map((x) => [x.v, x.padLength])).toEqual([
      [4, 1_000_000],
      [4, 1_000_000],
    ]);
    expect(big.results.map((x) => x.status)).toEqual(["ran", "ran"]);
    expect(big.results[0]!.event?.warnings?.[0]).toMatch(/stage 'slow'.*could not be recorded.*disk is full/);
    const cacheWarnings = big.results[1]!.warnings.filter((w) => w.startsWith("MEMOPIPE_CACHE_WRITE"));
    expect(cacheWarnings).toHaveLength(1);
    expect(cacheWarnings[0]).toContain("stage 'slow'");
    expect(cacheWarnings[0]).toContain(dir);
    expect(entryFiles(dir)).toEqual([]);
    expect(readdirSync(path.join(dir, "tmp"))).toEqual([]); // the partial temp file was removed
    const small = await runFixture(dir, { n: 2, pad: 10, runs: 2 }).done;
    expect(small.results.map((x) => x.status)).toEqual(["ran", "hit"]);
  }, 30_000);

  it("an I/O error on write (EIO): the value returned, one warning, the event says so", async () => {
    const inner = new DirectoryStore(dir);
    const failing: CacheStore = {
      location: inner.location,
      get: (s, k) => inner.get(s, k),
      latest: (s) => inner.latest(s),
      claim: (s, k, o) => inner.claim(s, k, o),
      put: async (_s: string, _k: string, _e: NewEntry) => {
        throw new CacheWriteError("cannot publish: EIO", path.join(dir, "entries"), "EIO");
      },
    };
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === "MEMOPIPE_CACHE_WRITE") warnings.push(w.message);
    };
    process.on("warning", onWarning);
    try {
      let calls = 0;
      const s = stage("eio", ({ x }: { x: number }) => (calls++, { y: x + 1 }), { cache: { dir, store: failing } });
      expect(await s.run({ x: 1 })).toEqual({ y: 2 });
      expect(await s.run({ x: 1 })).toEqual({ y: 2 });
      expect(calls).toBe(2);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes("stage 'eio'"))).toHaveLength(1);
      const events = (await lastRun(dir, "eio")).events;
      expect(events.at(-1)?.warnings?.[0]).toMatch(/EIO/);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("planted symbolic links", () => {
  it("events.jsonl pointing outside: not written through, the stage works", async () => {
    const outside = path.join(base, "outside.txt");
    writeFileSync(outside, "precious\n");
    mkdirSync(dir, { recursive: true });
    symlinkSync(outside, path.join(dir, "events.jsonl"));
    const r = await runFixture(dir, { n: 4 }).done;
    expect(r.results[0]?.v).toBe(8);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    expect(r.results[0]!.warnings.some((w) => w.includes("events.jsonl"))).toBe(true);
  }, 20_000);

  it("entries/<stage> pointing outside: nothing written there, the value returned", async () => {
    const outside = path.join(base, "outside");
    mkdirSync(outside);
    mkdirSync(path.join(dir, "entries"), { recursive: true });
    symlinkSync(outside, path.join(dir, "entries", "slow"));
    const r = await runFixture(dir, { n: 4, runs: 2 }).done;
    expect(r.results.map((x) => x.v)).toEqual([8, 8]);
    expect(readdirSync(outside)).toEqual([]);
    expect(r.results[1]!.warnings.some((w) => /symbolic link/.test(w))).toBe(true);
  }, 20_000);
});

describe("why, escaped and from the tail", () => {
  it("stage names and reasons with control and bidi characters are escaped", async () => {
    const name = "evil\n\u001b[2J\u202Eemanruo";
    await stage(name, ({ x }: { x: number }) => ({ x }), { cache: { dir } }).run({ x: 1 });
    const lines = formatWhy(await lastRun(dir));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\n\u001b\u202e]/);
    expect(lines[0]).toContain("evil\\u{a}\\u{1b}[2J\\u{202e}emanruo");
    expect(escapeText("plain text: é ü")).toBe("plain text: é ü");
  });

  it("the last run comes from the end of a long log, across chunk boundaries; gc trims old runs", () => {
    mkdirSync(dir, { recursive: true });
    const log = path.join(dir, "events.jsonl");
    const ev = (run: string, i: number) => `${JSON.stringify({ v: 2, run, time: "t", stage: `s${i}`, key: "k", status: "hit", reasons: [], seconds: 0, pad: "p".repeat(i % 300) })}\n`;
    let text = "";
    for (let r = 0; r < 40; r++) for (let i = 0; i < 500; i++) text += ev(`run-${r}`, i);
    for (let i = 0; i < 3000; i++) text += ev("last", i); // ~0.9 MB: spans several 256 KiB chunks
    writeFileSync(log, text);
    appendFileSync(log, '{"torn":'); // a line cut by a crash
    const last = readLastRun(dir);
    expect(last.run).toBe("last");
    expect(last.events.map((e) => e.stage)).toEqual(Array.from({ length: 3000 }, (_, i) => `s${i}`));
    expect(readLastRun(dir, "s7").events).toHaveLength(1);
    const trimmed = trimEvents(dir, { keepRuns: 2 });
    expect(trimmed.droppedBytes).toBeGreaterThan(0);
    const runs = new Set(readFileSync(log, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { run: string }).run));
    expect(runs).toEqual(new Set(["run-39", "last"]));
    expect(readLastRun(dir).events).toHaveLength(3000);
  });
});

describe("values nobody should lose", () => {
  /** A value nested `depth` levels: `{ next: { next: … { leaf: 1 } } }` (or arrays). */
  const deep = (depth: number, array = false): unknown => {
    let v: unknown = array ? [1] : { leaf: 1 };
    for (let i = 0; i < depth; i++) v = array ? [v] : { next: v };
    return v;
  };

  it("10,000-level inputs and outputs work: keyed, recorded, read back exactly", async () => {
    let calls = 0;
    const s = stage("deep", ({ tree }: { tree: unknown }) => (calls++, { tree, copy: deep(10_000, true) }), { cache: { dir } });
    /** Walks down a deep value without recursion (vitest's toEqual would overflow): its depth and leaf. */
    const walk = (v: unknown): [number, unknown] => {
      let depth = 0;
      for (;;) {
        if (Array.isArray(v) && Array.isArray(v[0])) v = v[0];
        else if (v !== null && typeof v === "object" && "next" in v) v = (v as { next: unknown }).next;
        else return [depth, v];
        depth++;
      }
    };
    await s.run({ tree: deep(10_000) });
    const second = (await s.run({ tree: deep(10_000) })) as { tree: unknown; copy: unknown };
    expect(calls).toBe(1);
    expect(walk(second.tree)).toEqual([10_000, { leaf: 1 }]);
    expect(walk(second.copy)).toEqual([10_000, [1]]);
    expect(await s.run({ tree: deep(9_999) })).toBeDefined();
    expect(calls).toBe(2); // a different depth is a different key
    expect((await lastRun(dir)).events.map((e) => e.status)).toEqual(["ran", "hit", "ran"]);
  });

  it("cyclic outputs are recorded and come back with their cycles; cyclic inputs get a named error", async () => {
    const s = stage("cyclic", ({ n }: { n: number }) => {
      const node: Record<string, unknown> = { n };
      node.self = node;
      return { node, pair: [node, node] };
    }, { cache: { dir } });
    await s.run({ n: 1 });
    const back = (await s.run({ n: 1 })) as { node: Record<string, unknown>; pair: unknown[] };
    expect((await lastRun(dir)).events.at(-1)?.status).toBe("hit");
    expect(back.node.self).toBe(back.node);
    expect(back.pair[0]).toBe(back.node);
    const loop: Record<string, unknown> = {};
    loop.me = loop;
    const t = stage("cyclic-in", ({ o }: { o: unknown }) => ({ ok: o !== undefined }), { cache: { dir } });
    const error = await t.run({ o: loop }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecordableValueError);
    expect((error as Error).message).toMatch(/stage 'cyclic-in'.*inputs\.o\.me.*circular/);
  });

  it("an input named __proto__ is an input like any other (no shared entry with the object without it)", async () => {
    let calls = 0;
    const s = stage("proto", (inputs: Record<string, unknown>) => (calls++, { n: Object.keys(inputs).length }), { cache: { dir } });
    const withProto = JSON.parse('{"__proto__":1,"v":1}') as Record<string, unknown>;
    expect(await s.run({ v: 1 })).toEqual({ n: 1 });
    expect(await s.run(withProto)).toEqual({ n: 2 });
    expect(calls).toBe(2);
    expect(await s.run(JSON.parse('{"__proto__":1,"v":1}') as Record<string, unknown>)).toEqual({ n: 2 });
    expect(calls).toBe(2);
  });
});
