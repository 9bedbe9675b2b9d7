import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FileDigests, resolveFiles } from "../src/runtime/cache/file-digest.js";
import { FileRef, ResolvedFile } from "../src/runtime/cache/types.js";
import { MemopipeError } from "../src/runtime/errors.js";

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "memopipe-file-digest-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A new file in the temp dir. */
function tempFile(contents: string | Buffer, name = `f${n++}.bin`): string {
  const p = join(dir, name);
  writeFileSync(p, contents);
  return p;
}
const HOUR_AGO = (): Date => new Date(Date.now() - 3_600_000);
/** Sets the mtime an hour back: the file is outside the racy window (no sleeping needed). */
function age(p: string): void {
  utimesSync(p, HOUR_AGO(), HOUR_AGO());
}
function sha256sum(p: string): string {
  return execFileSync("sha256sum", ["-b", p], { encoding: "utf8" }).split(" ")[0]!;
}
/** Counts the reads: `hashContents` is the one place a file's contents are read. */
function spyReads(digests: FileDigests) {
  return vi.spyOn(digests as unknown as { hashContents(p: string): Promise<unknown> }, "hashContents");
}

describe("FileDigests.digest", () => {
  it.each([0, 1, 1000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3.5 * (1 << 20)])("equals sha256sum for %i bytes", async (size) => {
    const p = tempFile(randomBytes(size));
    const f = await new FileDigests().digest(p);
    expect(f).toBeInstanceOf(ResolvedFile);
    expect(f).toEqual(new ResolvedFile(p, sha256sum(p), size));
  });

  it("keeps the path as given", async () => {
    const p = tempFile("x");
    const rel = relative(process.cwd(), p);
    expect((await new FileDigests().digest(rel)).path).toBe(rel);
  });

  it("does not re-read an unchanged file outside the racy window", async () => {
    const p = tempFile("hello");
    age(p);
    const digests = new FileDigests();
    const reads = spyReads(digests);
    const first = await digests.digest(p);
    const second = await digests.digest(p);
    expect(second).toEqual(first);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(digests.stats).toEqual({ hits: 1, hashes: 1 });
  });

  it("returns the recorded digest without reading (proof: a planted record is believed)", async () => {
    // The record claims a digest the file does not have: only a reader that skips the read returns it.
    const p = tempFile("real contents");
    age(p);
    const st = statSync(p, { bigint: true });
    const planted = "f".repeat(64);
    const record = (hashedAtNs: bigint) => ({
      format: "memopipe-stat-cache-v1",
      entries: {
        [p]: { dev: `${st.dev}`, ino: `${st.ino}`, size: `${st.size}`, mtimeNs: `${st.mtimeNs}`, ctimeNs: `${st.ctimeNs}`, hashedAtNs: `${hashedAtNs}`, sha256: planted },
      },
    });
    const cachePath = join(dir, "planted.json");
    writeFileSync(cachePath, JSON.stringify(record(BigInt(Date.now()) * 1_000_000n)));
    expect((await new FileDigests(cachePath).digest(p)).sha256).toBe(planted);

    // The same record, but computed within 2 s of the mtime (racy): not trusted, the file is read.
    writeFileSync(cachePath, JSON.stringify(record(st.mtimeNs + 1_000_000_000n)));
    expect((await new FileDigests(cachePath).digest(p)).sha256).toBe(sha256sum(p));
  });

  it("re-hashes a file modified within the racy window, every time", async () => {
    const p = tempFile("fresh"); // mtime = now
    const digests = new FileDigests();
    const reads = spyReads(digests);
    await digests.digest(p);
    await digests.digest(p);
    expect(reads).toHaveBeenCalledTimes(2);
    expect(digests.stats.hits).toBe(0);
    age(p); // now old enough: hashed once more (ctime moved), then served from the cache
    await digests.digest(p);
    await digests.digest(p);
    expect(reads).toHaveBeenCalledTimes(3);
    expect(digests.stats.hits).toBe(1);
  });

  it("gives a changed file a new digest", async () => {
    const p = tempFile("one");
    age(p);
    const digests = new FileDigests();
    const a = await digests.digest(p);
    writeFileSync(p, "three");
    age(p);
    const b = await digests.digest(p);
    expect(b.sha256).not.toBe(a.sha256);
    expect(b).toEqual(new ResolvedFile(p, sha256sum(p), 5));
  });

  it("sees a same-size edit whose mtime was put back (ctime guard)", async () => {
    const p = tempFile("aaaa");
    const old = HOUR_AGO();
    utimesSync(p, old, old);
    const digests = new FileDigests();
    const a = await digests.digest(p);
    writeFileSync(p, "bbbb");
    utimesSync(p, old, old); // same size, same mtime: only ctime tells
    const b = await digests.digest(p);
    expect(b.sha256).not.toBe(a.sha256);
    expect(b.sha256).toBe(sha256sum(p));
  });

  it("rejects a missing path and a directory", async () => {
    const digests = new FileDigests();
    await expect(digests.digest(join(dir, "nope"))).rejects.toThrow(MemopipeError);
    await expect(digests.digest(join(dir, "nope"))).rejects.toThrow(/does not exist/);
    await expect(digests.digest(dir)).rejects.toThrow(/not a regular file/);
  });

  it("hashes again a file that changes while it is read, then gives up", async () => {
    const p = tempFile("start");
    class Flaky extends FileDigests {
      constructor(private changes: number) {
        super();
      }
      protected override async hashContents(absolute: string) {
        const result = await super.hashContents(absolute);
        if (this.changes-- > 0) appendFileSync(absolute, "+"); // a writer still at work
        return result;
      }
    }
    const once = new Flaky(1);
    const f = await once.digest(p);
    expect(once.stats.hashes).toBe(2);
    expect(f).toEqual(new ResolvedFile(p, sha256sum(p), 6));

    const always = new Flaky(Infinity);
    await expect(always.digest(p)).rejects.toThrow(/changed while it was being hashed \(3 tries\)/);
    expect(always.stats.hashes).toBe(3);
  });
});

describe("FileDigests stat cache persistence", () => {
  it("survives a new instance, written atomically", async () => {
    const sub = join(dir, "persist");
    const cachePath = join(sub, "nested", "stat-cache.json");
    const p = tempFile(randomBytes(5000));
    age(p);
    const first = new FileDigests(cachePath);
    const a = await first.digest(p);
    await first.save();
    expect(readdirSync(join(sub, "nested"))).toEqual(["stat-cache.json"]); // no temp file left

    const second = new FileDigests(cachePath);
    await second.load();
    const reads = spyReads(second);
    expect(await second.digest(p)).toEqual(a);
    expect(reads).not.toHaveBeenCalled();
    expect(second.stats).toEqual({ hits: 1, hashes: 0 });
  });

  it("loads lazily on the first digest", async () => {
    const cachePath = join(dir, "lazy.json");
    const p = tempFile("lazy");
    age(p);
    const first = new FileDigests(cachePath);
    await first.digest(p);
    await first.save();
    const second = new FileDigests(cachePath);
    await second.digest(p);
    expect(second.stats).toEqual({ hits: 1, hashes: 0 });
  });

  it("treats a damaged or foreign stat cache as empty", async () => {
    const p = tempFile("x");
    age(p);
    for (const text of ["{not json", JSON.stringify({ format: "other", entries: {} }), JSON.stringify({ format: "memopipe-stat-cache-v1", entries: { [p]: { sha256: 1 } } })]) {
      const cachePath = join(dir, `damaged-${n++}.json`);
      writeFileSync(cachePath, text);
      const digests = new FileDigests(cachePath);
      expect((await digests.digest(p)).sha256).toBe(sha256sum(p));
      expect(digests.stats.hashes).toBe(1);
    }
  });

  it("save() without a path or changes does nothing", async () => {
    await expect(new FileDigests().save()).resolves.toBeUndefined();
    const cachePath = join(dir, "never-written.json");
    await new FileDigests(cachePath).save();
    expect(() => statSync(cachePath)).toThrow();
  });
});

describe("FileDigests.cachedDigest (the synchronous stat-cache hit)", () => {
  it("answers synchronously from the stat cache, null for what is not a regular file, undefined for what must be read", async () => {
    const p = tempFile("sync");
    age(p);
    const digests = new FileDigests();
    expect(digests.cachedDigest(p)).toBeUndefined(); // not loaded yet: digest() loads
    const first = await digests.digest(p);
    const reads = spyReads(digests);
    const hit = digests.cachedDigest(p);
    expect(hit).toBeInstanceOf(ResolvedFile); // a value, not a promise
    expect(hit).toEqual(first);
    expect(reads).not.toHaveBeenCalled();
    expect(digests.cachedDigest(join(dir, "nope"))).toBeNull();
    expect(digests.cachedDigest(dir)).toBeNull();
    expect(digests.cachedDigest(join(p, "below-a-file"))).toBeNull(); // ENOTDIR
    writeFileSync(p, "changed");
    age(p);
    expect(digests.cachedDigest(p)).toBeUndefined(); // changed: must be read
    const fresh = tempFile("fresh");
    await digests.digest(fresh);
    expect(digests.cachedDigest(fresh)).toBeUndefined(); // racy window: never vouched for
  });
});

describe("FileDigests.verify", () => {
  it("is true while the file is unchanged, false once changed or gone", async () => {
    const p = tempFile("v1");
    age(p);
    const digests = new FileDigests();
    const f = await digests.digest(p);
    expect(await digests.verify(f)).toBe(true);
    writeFileSync(p, "v2");
    expect(await digests.verify(f)).toBe(false);
    rmSync(p);
    expect(await digests.verify(f)).toBe(false);
  });
});

describe("resolveFiles", () => {
  it("replaces FileRefs and path strings in a copy, leaving the input untouched", async () => {
    const a = tempFile("A");
    const b = tempFile("BB");
    const c = tempFile("CCC");
    const folder = join(dir, "a-folder");
    mkdirSync(folder, { recursive: true });
    const missing = join(dir, "missing.txt");
    const ref = new FileRef(a);
    const input = {
      ref,
      list: [b, folder, missing, "plain text", 3],
      nested: { deep: [{ again: new FileRef(a) }] },
      map: new Map<unknown, unknown>([[c, c]]),
      set: new Set([b]),
      date: new Date(0),
    };
    const before = structuredClone(input);
    const digests = new FileDigests();
    const { value, files } = await resolveFiles(input, digests, { hashStringPaths: true });

    // the input is as it was, the FileRef object included
    expect(input).toEqual(before);
    expect(input.ref).toBe(ref);
    expect(input.list[0]).toBe(b);

    const out = value as typeof input;
    const fa = new ResolvedFile(a, sha256sum(a), 1);
    const fb = new ResolvedFile(b, sha256sum(b), 2);
    const fc = new ResolvedFile(c, sha256sum(c), 3);
    expect(out.ref).toEqual(fa);
    expect(out.list).toEqual([fb, folder, missing, "plain text", 3]);
    expect(out.nested.deep[0]!.again).toEqual(fa);
    expect([...out.map]).toEqual([[c, fc]]); // keys are left alone, values resolved
    expect([...out.set]).toEqual([fb]);
    expect(out.date).toBe(input.date);
    expect(files.map((f) => f.path).sort()).toEqual([a, b, c].sort()); // each once
    expect(digests.stats.hashes).toBe(3);
  });

  it("leaves path strings alone without hashStringPaths, and resolves relative paths against the cwd", async () => {
    const p = tempFile("rel");
    const rel = relative(process.cwd(), p);
    const off = await resolveFiles([rel, new FileRef(rel)], new FileDigests(), { hashStringPaths: false });
    expect(off.value).toEqual([rel, new ResolvedFile(rel, sha256sum(p), 3)]);
    const on = await resolveFiles([rel], new FileDigests(), { hashStringPaths: true });
    expect(on.value).toEqual([new ResolvedFile(rel, sha256sum(p), 3)]);
  });

  it("fails on a file() that does not exist", async () => {
    await expect(resolveFiles({ f: new FileRef(join(dir, "absent")) }, new FileDigests(), { hashStringPaths: true })).rejects.toThrow(
      /does not exist/,
    );
  });

  it("keeps holes, null prototypes, __proto__ keys, and terminates on cycles", async () => {
    const p = tempFile("h");
    const holey: unknown[] = [];
    holey[2] = p;
    const bare = Object.create(null) as Record<string, unknown>;
    bare.f = p;
    const json = JSON.parse(`{"__proto__": 1, "g": ${JSON.stringify(p)}}`) as Record<string, unknown>;
    const cyclic: Record<string, unknown> = { p };
    cyclic.self = cyclic;
    const { value } = await resolveFiles({ holey, bare, json, cyclic }, new FileDigests(), { hashStringPaths: true });
    const out = value as { holey: unknown[]; bare: Record<string, unknown>; json: Record<string, unknown>; cyclic: Record<string, unknown> };
    expect(0 in out.holey).toBe(false);
    expect(out.holey[2]).toBeInstanceOf(ResolvedFile);
    expect(Object.getPrototypeOf(out.bare)).toBe(null);
    expect(out.bare.f).toBeInstanceOf(ResolvedFile);
    expect(Object.keys(out.json)).toEqual(["__proto__", "g"]);
    expect(Object.getPrototypeOf(out.json)).toBe(Object.prototype);
    expect(out.cyclic.self).toBe(out.cyclic);
    expect(out.cyclic.p).toBeInstanceOf(ResolvedFile);
  });

  it("keeps a Set's size when two of its elements name one file", async () => {
    const p = tempFile("same");
    const { value } = await resolveFiles(new Set<unknown>([p, new FileRef(p), new FileRef(p)]), new FileDigests(), { hashStringPaths: true });
    const out = value as Set<unknown>;
    expect(out.size).toBe(3);
    for (const f of out) expect(f).toEqual(new ResolvedFile(p, sha256sum(p), 4));
  });

  it.each([10_000, 100_000])("walks %i levels (explicit stack), copying with sharing, holes, Maps and Sets intact", async (depth) => {
    const p = tempFile("deep");
    const shared = { s: [p] };
    let v: unknown = [new FileRef(p), shared];
    for (let i = 0; i < depth; i++) {
      const holey: unknown[] = [];
      holey[2] = v;
      v = [{ k: holey, shared }, new Map([["m", new Set([v])]])][i % 2];
    }
    const { value, files } = await resolveFiles(v, new FileDigests(), { hashStringPaths: true });
    expect(files.map((f) => f.path)).toEqual([p]);
    // Walk the copy down to the bottom.
    let cur: unknown = value;
    let sharedCopy: unknown;
    for (let i = depth - 1; i >= 0; i--) {
      if (i % 2 === 0) {
        const o = cur as { k: unknown[]; shared: unknown };
        expect(0 in o.k).toBe(false);
        if (sharedCopy === undefined) sharedCopy = o.shared;
        expect(o.shared).toBe(sharedCopy); // one copy, shared as in the input
        cur = o.k[2];
      } else cur = [...((cur as Map<string, Set<unknown>>).get("m")!)][0];
    }
    const bottom = cur as [ResolvedFile, { s: unknown[] }];
    expect(bottom[0]).toEqual(new ResolvedFile(p, sha256sum(p), 4));
    expect(bottom[1]).toBe(sharedCopy);
    expect(bottom[1].s[0]).toBe(bottom[0]);
  });

  it("returns the value itself for a deep value naming no file", async () => {
    let v: unknown = "no file here";
    for (let i = 0; i < 100_000; i++) v = { k: [v] };
    expect((await resolveFiles(v, new FileDigests(), { hashStringPaths: true })).value).toBe(v);
  });

  it("returns primitives and empty values as they are", async () => {
    const digests = new FileDigests();
    for (const v of [undefined, null, 1, "", "no such file here", [], {}]) {
      expect((await resolveFiles(v, digests, { hashStringPaths: true })).value).toEqual(v);
    }
  });
});
