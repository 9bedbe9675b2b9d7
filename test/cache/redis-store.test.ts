/**
 * The Redis store against a real redis-server (started by the harness on 127.0.0.1, a free port,
 * stopped by PID): the `CacheStore` contract (verified reads, first-writer-wins publication,
 * claims), blobs, output files, read-only mode, namespaces, and its faults — tampered entries,
 * missing blobs, owners that die or hang, Redis going away. Every wait is bounded.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stage } from "../../src/index.js";
import { encodePayload } from "../../src/runtime/cache/payload.js";
import { VALUE_CODEC } from "../../src/runtime/cache/value-codec.js";
import { RedisStore } from "../../src/runtime/cache/redis-store.js";
import type { NewEntry, ReadResult } from "../../src/runtime/cache/types.js";
import { CacheWriteError } from "../../src/runtime/errors.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { tempDir } from "../helpers/temp.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/redis-cached-run.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

const keyOf = (s: string): string => createHash("sha256").update(s).digest("hex");
const entry = (outputs: unknown, extra: Partial<NewEntry> = {}): NewEntry => ({
  inputs: { n: { digest: keyOf("n"), value: 1 } },
  code: { fingerprint: keyOf("code"), source: "function-source" },
  payload: encodePayload(outputs, "s"),
  ...extra,
});
const hit = (r: ReadResult): Extract<ReadResult, { status: "hit" }> => {
  if (r.status !== "hit") throw new Error(`expected a hit, got ${JSON.stringify(r)}`);
  return r;
};

let redis: RedisServer;
let raw: Redis;
const stores: RedisStore[] = [];
let nsCounter = 0;
/** A store on a namespace of its own (so tests never see each other's keys). */
function newStore(options: ConstructorParameters<typeof RedisStore>[0] = {}): RedisStore {
  const store = new RedisStore({ connection: redis.url, namespace: `t${process.pid}-${nsCounter}`, ...options });
  stores.push(store);
  return store;
}

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  raw.on("error", () => undefined);
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  nsCounter++;
});
afterAll(async () => {
  raw.disconnect();
  await redis.stop();
});

/** The Redis key of an entry (the layout documented in redis-store.ts). */
const entryKey = (store: RedisStore, stage: string, key: string) => `memopipe:${store.namespace}:e:${key}:${stage}`;

describe("RedisStore: the CacheStore contract", () => {
  it("publishes and reads back an entry (JSON and V8 values), with its record and the stage's latest", async () => {
    const store = newStore();
    const k1 = keyOf("1");
    const k2 = keyOf("2");
    expect(await store.get("s", k1)).toEqual({ status: "miss" });
    const record = await store.put("s", k1, entry({ a: 1, list: [1, 2] }));
    expect(record).toMatchObject({ format: 2, stage: "s", key: k1, outputs: { codec: VALUE_CODEC } });
    await store.put("s", k2, entry({ m: new Map([[1, new Float64Array([1, -0, NaN])]]) }));
    const r1 = hit(await store.get("s", k1));
    expect(r1.outputs).toEqual({ a: 1, list: [1, 2] });
    expect(r1.record()).toMatchObject({ key: k1, inputs: { n: { value: 1 } } });
    const r2 = hit(await store.get("s", k2));
    expect((r2.outputs as { m: Map<number, Float64Array> }).m.get(1)).toEqual(new Float64Array([1, -0, NaN]));
    expect((await store.latest("s"))?.key).toBe(k2);
    expect(await store.latest("other")).toBeUndefined();
    // the same bytes as a directory entry file: a checksum line first
    const bytes = await raw.getBuffer(entryKey(store, "s", k1));
    expect(bytes!.toString("latin1", 0, 23)).toBe("memopipe-entry 3 crc32 ");
  });

  it("first writer wins: a second publication of a key keeps the first entry, from any connection", async () => {
    const a = newStore();
    const b = new RedisStore({ connection: redis.url, namespace: a.namespace });
    stores.push(b);
    const k = keyOf("race");
    const [ra, rb] = await Promise.all([a.put("s", k, entry({ who: "a" })), b.put("s", k, entry({ who: "b" }))]);
    const kept = hit(await a.get("s", k)).outputs as { who: string };
    // both callers are told about the one entry that was kept
    expect(ra.createdAt).toBe(rb.createdAt);
    expect(hit(await b.get("s", k)).outputs).toEqual(kept);
    const again = await a.put("s", k, entry({ who: "late" }));
    expect(again.createdAt).toBe(ra.createdAt);
    expect(hit(await a.get("s", k)).outputs).toEqual(kept);
  });

  it("namespaces keep projects apart", async () => {
    const a = newStore({ namespace: `proj-a-${nsCounter}` });
    const b = newStore({ namespace: `proj-b-${nsCounter}` });
    const k = keyOf("ns");
    await a.put("s", k, entry({ v: "a" }));
    expect(await b.get("s", k)).toEqual({ status: "miss" });
    expect(a.location).toBe(`${redis.url}/proj-a-${nsCounter}`);
  });

  it("large payloads are content-addressed blobs: the entry stays small, identical outputs share one blob", async () => {
    const store = newStore({ blobThreshold: 1024 });
    const big = { text: "x".repeat(200_000) };
    const k1 = keyOf("big1");
    const k2 = keyOf("big2");
    await store.put("s", k1, entry(big));
    await store.put("s", k2, entry(big));
    const value = await raw.getBuffer(entryKey(store, "s", k1));
    expect(value!.length).toBeLessThan(2_000);
    const blobs = await raw.keys(`memopipe:${store.namespace}:b:*`);
    expect(blobs).toHaveLength(1);
    const r = hit(await store.get("s", k1));
    expect(r.outputs).toEqual(big);
    expect(r.record().outputs).toEqual({ codec: VALUE_CODEC, size: r.bytes });
    expect(r.bytes).toBeGreaterThan(200_000);
  });
});

describe("RedisStore: what it reads is verified", () => {
  it("a tampered entry is corrupt (never a hit), removed, and the stage computes it again", async () => {
    const store = newStore();
    const dir = tempDir("memopipe-redis-stage-");
    let calls = 0;
    const s = stage(
      "double",
      ({ n }: { n: number }) => {
        calls++;
        return { v: n * 2 };
      },
      { cache: { dir, store } },
    );
    expect(await s.run({ n: 21 })).toEqual({ v: 42 });
    expect(await s.run({ n: 21 })).toEqual({ v: 42 });
    expect(calls).toBe(1);
    const [key] = await raw.keys(`memopipe:${store.namespace}:e:*`);
    const bytes = (await raw.getBuffer(key!))!;
    // the payload's last byte (the value 42) changed to 43: a plausible value that decodes, the checksum line left as it was
    const at = bytes.length - 1;
    const tampered = Buffer.from([bytes[at]! ^ 1]);
    await raw.setrange(key!, at, tampered);
    const stageName = key!.slice(key!.lastIndexOf(":") + 1);
    const entryKeyHex = key!.split(":").at(-2)!;
    const read = await store.get(stageName, entryKeyHex);
    expect(read).toEqual({ status: "corrupt", reason: "checksum mismatch" });
    expect(await raw.exists(key!)).toBe(0); // removed
    await raw.set(key!, bytes); // tamper again, then let the stage meet it
    await raw.setrange(key!, at, tampered);
    expect(await s.run({ n: 21 })).toEqual({ v: 42 });
    expect(calls).toBe(2);
    expect(await s.run({ n: 21 })).toEqual({ v: 42 });
    expect(calls).toBe(2); // the recomputed entry replaced the damaged one
  });

  it("an entry moved under another key or stage is refused", async () => {
    const store = newStore();
    const k1 = keyOf("a");
    const k2 = keyOf("b");
    await store.put("s", k1, entry({ v: 1 }));
    await raw.copy(entryKey(store, "s", k1), entryKey(store, "s", k2));
    await raw.copy(entryKey(store, "s", k1), entryKey(store, "t", k1));
    expect(await store.get("s", k2)).toMatchObject({ status: "corrupt", reason: expect.stringContaining("does not match") });
    expect(await store.get("t", k1)).toMatchObject({ status: "corrupt" });
    expect(hit(await store.get("s", k1)).outputs).toEqual({ v: 1 });
  });

  it("a blob that is missing (evicted) or damaged makes its entry corrupt, and the entry can be published again", async () => {
    const store = newStore({ blobThreshold: 100 });
    const k = keyOf("blob");
    await store.put("s", k, entry({ text: "y".repeat(5_000) }));
    const [blob] = await raw.keys(`memopipe:${store.namespace}:b:*`);
    await raw.setrange(blob!, 10, "Z");
    expect(await store.get("s", k)).toMatchObject({ status: "corrupt", reason: expect.stringContaining("fails its checksum") });
    expect(await raw.exists(blob!)).toBe(0);
    await store.put("s", k, entry({ text: "y".repeat(5_000) }));
    expect(hit(await store.get("s", k)).outputs).toEqual({ text: "y".repeat(5_000) });
    await raw.del(blob!);
    expect(await store.get("s", k)).toMatchObject({ status: "corrupt", reason: expect.stringContaining("gone from Redis") });
    expect(await store.get("s", k)).toEqual({ status: "miss" });
  });

  it("a damaged entry in the way of a publication is replaced; a good one published meanwhile is never removed", async () => {
    const store = newStore();
    const k = keyOf("replace");
    await raw.set(entryKey(store, "s", k), "garbage");
    await store.put("s", k, entry({ v: "new" }));
    expect(hit(await store.get("s", k)).outputs).toEqual({ v: "new" });
  });
});

describe("RedisStore: the local copy (local: dir)", () => {
  it("keeps a verified copy of what it reads or publishes, reads it first, and goes back to Redis when the copy is damaged", async () => {
    const dir = tempDir("memopipe-redis-local-");
    const writer = newStore();
    const reader = newStore({ namespace: writer.namespace, local: dir });
    const k = keyOf("local");
    await writer.put("s", k, entry({ v: "shared" }));
    expect(hit(await reader.get("s", k)).outputs).toEqual({ v: "shared" });
    await new Promise((r) => setTimeout(r, 50)); // the copy is written in the background
    const { DirectoryStore } = await import("../../src/runtime/cache/directory-store.js");
    const copy = new DirectoryStore(dir);
    expect(hit(await copy.get("s", k)).outputs).toEqual({ v: "shared" });
    // Redis forgets it: the copy still answers (an entry never changes once published)
    await raw.del(entryKey(writer, "s", k));
    expect(hit(await reader.get("s", k)).outputs).toEqual({ v: "shared" });
    // a damaged copy is moved aside, and Redis asked again
    await writer.put("s", k, entry({ v: "shared" }));
    writeFileSync(copy.entryPath("s", k), "garbage");
    expect(hit(await reader.get("s", k)).outputs).toEqual({ v: "shared" });
    // what this machine publishes is kept locally too
    const k2 = keyOf("published");
    await reader.put("s", k2, entry({ v: "mine" }));
    await new Promise((r) => setTimeout(r, 50));
    expect(hit(await copy.get("s", k2)).outputs).toEqual({ v: "mine" });
  });
});

describe("RedisStore: output files travel as blobs", () => {
  it("a machine without an entry's output file gets it restored (inside the working directory only)", async () => {
    const store = newStore();
    const dir = tempDir("memopipe-redis-files-");
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      mkdirSync("out");
      writeFileSync("out/result.bin", "the bytes");
      const sha = createHash("sha256").update("the bytes").digest("hex");
      const k = keyOf("files");
      await store.put("s", k, entry({ file: "out/result.bin" }, { outputFiles: [{ path: "out/result.bin", sha256: sha, size: 9 }] }));
      // another machine: the file is not there
      writeFileSync("out/result.bin", "");
      const { rmSync } = await import("node:fs");
      rmSync("out", { recursive: true });
      const r = hit(await store.get("s", k));
      expect(r.files).toEqual([{ path: "out/result.bin", sha256: sha, size: 9 }]);
      expect(readFileSync("out/result.bin", "utf8")).toBe("the bytes");
      // an entry naming a file outside the working directory never writes there
      const k2 = keyOf("escape");
      await store.put("s", k2, entry({}, { outputFiles: [{ path: "../escaped.bin", sha256: sha, size: 9 }] }));
      hit(await store.get("s", k2));
      expect(existsSync(path.join(dir, "..", "escaped.bin"))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("RedisStore: read-only mode (an untrusted machine)", () => {
  it("serves hits, never writes, and a stage still returns what it computes, with one warning", async () => {
    const writer = newStore();
    const reader = newStore({ namespace: writer.namespace, readOnly: true });
    const k = keyOf("ro");
    await writer.put("s", k, entry({ v: 1 }));
    expect(hit(await reader.get("s", k)).outputs).toEqual({ v: 1 });
    await expect(reader.put("s", keyOf("other"), entry({ v: 2 }))).rejects.toBeInstanceOf(CacheWriteError);
    expect((await reader.claim("s", k)).owned).toBe(true);
    // a damaged entry is reported, but left for a trusted machine to replace
    await raw.setrange(entryKey(writer, "s", k), 100, "#");
    expect(await reader.get("s", k)).toMatchObject({ status: "corrupt" });
    expect(await raw.exists(entryKey(writer, "s", k))).toBe(1);

    const before = await raw.dbsize();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const s = stage("ro-stage", ({ n }: { n: number }) => ({ v: n + 1 }), { cache: { dir: tempDir("memopipe-redis-ro-"), store: reader } });
      expect(await s.run({ n: 1 })).toEqual({ v: 2 });
      expect(await s.run({ n: 2 })).toEqual({ v: 3 });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.includes("read-only"))).toHaveLength(1);
    expect(await raw.dbsize()).toBe(before);
  });

  it("with the read-only Redis user of docs/cluster.md: hits served, and a store that tries to write is refused (EACCES), not believed", async () => {
    const writer = newStore();
    const k = keyOf("acl");
    await writer.put("s", k, entry({ v: "main's" }));
    const ns = writer.namespace;
    await raw.call("ACL", "SETUSER", "ci-untrusted", "reset", "on", ">pw", `~memopipe:${ns}:*`, "+@read", "+info", "-@write");
    try {
      const url = redis.url.replace("redis://", "redis://ci-untrusted:pw@");
      const reader = newStore({ connection: url, namespace: ns, readOnly: true });
      expect(hit(await reader.get("s", k)).outputs).toEqual({ v: "main's" });
      expect(reader.location).not.toContain("pw");
      // a machine that forgot readOnly: Redis refuses, the store says so
      const careless = newStore({ connection: url, namespace: ns });
      const error = await careless.put("s", keyOf("poison"), entry({ v: "poison" })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheWriteError);
      expect((error as CacheWriteError).errno).toBe("EACCES");
      expect(await raw.exists(entryKey(writer, "s", keyOf("poison")))).toBe(0);
    } finally {
      await raw.call("ACL", "DELUSER", "ci-untrusted");
    }
  });
});

describe("RedisStore: claims (compute once across machines)", () => {
  it("a waiter is woken by the owner's release (pub/sub), and reads the owner's entry", async () => {
    const a = newStore();
    const b = newStore({ namespace: a.namespace });
    const k = keyOf("claim");
    const owner = await a.claim("s", k);
    expect(owner).toMatchObject({ owned: true, waitedMs: 0 });
    const waiting = b.claim("s", k);
    await new Promise((r) => setTimeout(r, 200));
    await a.put("s", k, entry({ v: "owner's" }));
    const releasedAt = Date.now();
    owner.release();
    const waiter = await waiting;
    const wokenAfter = Date.now() - releasedAt;
    expect(waiter.owned).toBe(false);
    expect(waiter.waitedMs).toBeGreaterThanOrEqual(150);
    expect(wokenAfter).toBeLessThan(2_000); // by the message, not by the 10 s lease
    expect(hit(await b.get("s", k)).outputs).toEqual({ v: "owner's" });
  });

  it("an owner that gives up without publishing hands the claim to a waiter", async () => {
    const a = newStore();
    const b = newStore({ namespace: a.namespace });
    const k = keyOf("give-up");
    const owner = await a.claim("s", k);
    const waiting = b.claim("s", k);
    await new Promise((r) => setTimeout(r, 100));
    owner.release();
    const next = await waiting;
    expect(next.owned).toBe(true);
    expect(next.waitedMs).toBeGreaterThan(0);
    next.release();
  });

  it("an owner on another machine that stops renewing is taken over within lease + 0.5 s", async () => {
    const store = newStore();
    const k = keyOf("remote-owner");
    const leaseMs = 1_000;
    // what a claim from another host looks like, never renewed (that host died)
    const lock = `memopipe:${store.namespace}:lock:${k}:s`;
    const diedAt = Date.now();
    await raw.set(lock, JSON.stringify({ host: "elsewhere", pid: 4242, token: "t" }), "PX", leaseMs);
    const taken = await store.claim("s", k, { leaseMs });
    const after = Date.now() - diedAt;
    expect(taken.owned).toBe(true);
    expect(after).toBeGreaterThanOrEqual(leaseMs - 50);
    expect(after).toBeLessThan(leaseMs + 500);
    taken.release();
  });

  it("6 processes asking for one key at once: one computation, everyone gets the value", async () => {
    const store = newStore();
    const dir = tempDir("memopipe-redis-claims-");
    const counter = path.join(dir, "computed");
    writeFileSync(counter, "");
    const runs = Array.from({ length: 6 }, () => runFixture(store.namespace, dir, { n: 21, sleepMs: 500, counter }));
    const outcomes = await Promise.all(runs.map((r) => r.done));
    for (const o of outcomes) {
      expect(o.code, o.stderr).toBe(0);
      expect(o.result).toEqual({ v: 42 });
    }
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(1);
  }, 60_000);

  it("an owner SIGKILLed mid-computation on this host is taken over at once (dead pid); one that hangs (SIGSTOP) after its lease", async () => {
    const store = newStore();
    const dir = tempDir("memopipe-redis-kill-");
    const counter = path.join(dir, "computed");
    writeFileSync(counter, "");
    const owner = runFixture(store.namespace, dir, { n: 5, sleepMs: 60_000, counter, leaseMs: 30_000 });
    await owner.computing;
    const waiter = runFixture(store.namespace, dir, { n: 5, counter, leaseMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1_000)); // the waiter is waiting on the owner's lock
    const killedAt = Date.now();
    owner.child.kill("SIGKILL");
    const w = await waiter.done;
    expect(w.code, w.stderr).toBe(0);
    expect(w.result).toEqual({ v: 10 });
    // Not the 30 s lease: a takeover by lease would come ≥ 29 s after the kill. The bound leaves room
    // for the waiter's own start-up (tsx), which took up to 17 s on a machine loaded 18 deep.
    expect(Date.now() - killedAt).toBeLessThan(25_000);
    expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(2);

    // alive but silent (stopped): its lease (1 s) decides
    const hung = runFixture(store.namespace, dir, { n: 6, sleepMs: 60_000, counter, leaseMs: 1_000 });
    await hung.computing;
    hung.child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    const next = await runFixture(store.namespace, dir, { n: 6, counter, leaseMs: 1_000 }).done;
    expect(next.code, next.stderr).toBe(0);
    expect(next.result).toEqual({ v: 12 });
    expect(Date.now() - stoppedAt).toBeLessThan(30_000); // lease + process start-up (tsx) on a loaded machine; never the hung owner's 60 s
    hung.child.kill("SIGKILL");
    await hung.done;
  }, 120_000);
});

describe("RedisStore: when Redis is away", () => {
  it("a read is unreadable and a write a CacheWriteError, within seconds; the store works again once Redis is back", async () => {
    const own = await startRedis();
    const store = new RedisStore({ connection: own.url, namespace: "away" });
    stores.push(store);
    const k = keyOf("away");
    await store.put("s", k, entry({ v: 1 }));
    await own.kill();
    const started = Date.now();
    const read = await store.get("s", k);
    expect(read.status).toBe("unreadable");
    await expect(store.put("s", keyOf("x"), entry({ v: 2 }))).rejects.toBeInstanceOf(CacheWriteError);
    expect(Date.now() - started).toBeLessThan(10_000);
    await own.start();
    // nothing persisted (no save, no AOF): a miss now, and writes work again
    let after: ReadResult = { status: "unreadable", reason: "" };
    for (let i = 0; i < 50 && after.status === "unreadable"; i++) {
      after = await store.get("s", k);
      if (after.status === "unreadable") await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toEqual({ status: "miss" });
    await store.put("s", k, entry({ v: 3 }));
    expect(hit(await store.get("s", k)).outputs).toEqual({ v: 3 });
    await store.close();
    await own.stop();
  }, 30_000);
});

/** Starts the fixture process; `computing` resolves when its stage function starts, `done` with its result. */
function runFixture(namespace: string, dir: string, spec: Record<string, unknown>) {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, redis.url, namespace, dir, JSON.stringify(spec)], { cwd: REPO });
  let out = "";
  let err = "";
  let started: () => void = () => {};
  const computing = new Promise<void>((r) => (started = r));
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    if (out.includes("computing\n")) started();
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const done = new Promise<{ result: unknown; code: number | null; stderr: string }>((resolve) =>
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({ result: line ? JSON.parse(line.slice(7)) : undefined, code, stderr: err });
    }),
  );
  return { child, computing, done };
}
