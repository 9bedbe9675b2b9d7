import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dag, file, stage, UnrecordableValueError, type FileRef } from "../src/index.js";
import { formatWhy, lastRun } from "../src/runtime/why.js";
import { DirectoryStore } from "../src/runtime/cache/directory-store.js";
import { entryFiles } from "./helpers/cache-files.js";
import { tempDir } from "./helpers/temp.js";

const tmp = () => tempDir("memopipe-cache-");

/** A text file with an mtime safely in the past (outside the stat cache's racy window). */
function writeOld(p: string, text: string): void {
  writeFileSync(p, text);
  const old = new Date(Date.now() - 60_000);
  utimesSync(p, old, old);
}

async function why(dir: string): Promise<string[]> {
  return formatWhy(await lastRun(dir)).map((l) => l.replace(/ \(\d+\.\d+ s\)$/, ""));
}

describe("cached stages", () => {
  it("runs once per distinct input, then returns the recorded outputs", async () => {
    const dir = tmp();
    let calls = 0;
    const s = stage(
      "square",
      ({ n, ref }: { n: number; ref: string }) => {
        calls++;
        return { sq: n * n, ref, at: new Map([["k", [1n, -0, undefined]]]) };
      },
      { cache: { dir }, fixed: { ref: "mni152" } },
    );
    const first = await s.run({ n: 3 });
    const second = await s.run({ n: 3 });
    expect(calls).toBe(1);
    expect(second).toEqual(first);
    expect(second.at.get("k")).toEqual([1n, -0, undefined]);
    expect(Object.is((second.at.get("k") as unknown[])[1], -0)).toBe(true);
    await s.run({ n: 4 });
    expect(calls).toBe(2);
    expect(await why(dir)).toEqual(["ran      square: no record", "hit      square", "re-ran   square: input `n` changed"]);
  });

  it("treats values the way they are: 1 vs '1', -0 vs 0, undefined vs missing", async () => {
    const dir = tmp();
    let calls = 0;
    const s = stage("v", (i: { x?: unknown }) => (calls++, { x: i.x ?? null }), { cache: { dir } });
    await s.run({ x: 1 });
    await s.run({ x: "1" });
    await s.run({ x: 0 });
    await s.run({ x: -0 });
    await s.run({ x: undefined });
    await s.run({});
    expect(calls).toBe(6);
    await s.run({ x: "1" });
    expect(calls).toBe(6);
  });

  it("re-runs when a file's contents change, not when only its mtime is touched, and says which file", async () => {
    const dir = tmp();
    const data = path.join(tmp(), "sub-01.nii");
    writeOld(data, "voxels-1");
    let calls = 0;
    const s = stage(
      "register",
      async ({ img }: { img: FileRef }) => {
        calls++;
        return { size: readFileSync(img.path, "utf8").length };
      },
      { cache: { dir } },
    );
    await s.run({ img: file(data) });
    await s.run({ img: file(data) });
    expect(calls).toBe(1);
    writeOld(data, "voxels-22");
    await s.run({ img: file(data) });
    expect(calls).toBe(2);
    expect((await why(dir)).at(-1)).toBe(`re-ran   register: file \`${data}\` changed`);
    // same contents under another path: a different input (memori returned the old path on a hit)
    const copy = path.join(path.dirname(data), "copy.nii");
    writeOld(copy, "voxels-22");
    await s.run({ img: file(copy) });
    expect(calls).toBe(3);
  });

  it("hashes a string input that names an existing file by its contents (memori's behaviour)", async () => {
    const dir = tmp();
    const p = path.join(tmp(), "table.csv");
    writeOld(p, "a,b\n1,2\n");
    let calls = 0;
    const s = stage("load", ({ csv }: { csv: string }) => (calls++, { lines: readFileSync(csv, "utf8").split("\n").length }), { cache: { dir } });
    await s.run({ csv: p });
    await s.run({ csv: p });
    writeOld(p, "a,b\n1,2\n3,4\n");
    const out = await s.run({ csv: p });
    expect(calls).toBe(2);
    expect(out.lines).toBe(4);
  });

  it("re-runs when the stage's code changes, and says so", async () => {
    const dir = tmp();
    const v1 = stage("model", ({ x }: { x: number }) => ({ y: x + 1 }), { cache: { dir } });
    const v2 = stage("model", ({ x }: { x: number }) => ({ y: x + 2 }), { cache: { dir } });
    expect(await v1.run({ x: 1 })).toEqual({ y: 2 });
    expect(await v2.run({ x: 1 })).toEqual({ y: 3 });
    expect((await why(dir)).at(-1)).toBe("re-ran   model: code changed");
    // formatting and comments do not count
    const v3 = stage(
      "model",
      ({ x }: { x: number }) =>
        // a comment
        ({ y: x + 2 }),
      { cache: { dir } },
    );
    expect(await v3.run({ x: 1 })).toEqual({ y: 3 });
    expect((await why(dir)).at(-1)).toBe("hit      model");
  });

  it("sees a change inside a string literal, though it ignores formatting and comments", async () => {
    const dir = tmp();
    const a = stage("lit", new Function("return ({ x }) => ({ y: 'a  b' + x })")() as (i: { x: number }) => { y: string }, { cache: { dir } });
    const b = stage("lit", new Function("return ({ x }) => ({ y: 'a b' + x })")() as (i: { x: number }) => { y: string }, { cache: { dir } });
    const c = stage("lit", new Function("return ({ x }) => ({ y: 'a//b' + x })")() as (i: { x: number }) => { y: string }, { cache: { dir } });
    expect(await a.run({ x: 1 })).toEqual({ y: "a  b1" });
    expect(await b.run({ x: 1 })).toEqual({ y: "a b1" });
    expect(await c.run({ x: 1 })).toEqual({ y: "a//b1" });
  });

  it("shows plain-JSON inputs in the record, for people reading it", async () => {
    const dir = tmp();
    await stage("shown", ({ cfg }: { cfg: { paths: string[]; k: number } }) => ({ n: cfg.k }), { cache: { dir } }).run({ cfg: { paths: ["a", "b"], k: 2 } });
    const [entry] = entryFiles(dir);
    // line 1: the checksum; line 2: the hot header; line 3: the record, readable JSON
    const record = JSON.parse(readFileSync(entry!, "utf8").split("\n")[2]!);
    expect(record.inputs.cfg.value).toEqual({ paths: ["a", "b"], k: 2 });
    expect(record.stage).toBe("shown");
    expect((await new DirectoryStore(dir).show("shown"))?.record.inputs.cfg?.value).toEqual({ paths: ["a", "b"], k: 2 });
  });

  it("refuses an input it cannot record, names the stage, writes nothing, and the next run works", async () => {
    const dir = tmp();
    const s = stage("opts", ({ o }: { o: { cb?: unknown; n: number } }) => ({ n: o.n }), { cache: { dir } });
    const err = await s.run({ o: { cb: () => 1, n: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecordableValueError);
    expect((err as Error).message).toContain("stage 'opts'");
    expect((err as Error).message).toContain("inputs.o.cb");
    expect(existsSync(path.join(dir, "entries"))).toBe(false);
    expect(await s.run({ o: { n: 2 } })).toEqual({ n: 2 });
  });

  it("recomputes a damaged record and says so", async () => {
    const dir = tmp();
    let calls = 0;
    const s = stage("fragile", ({ x }: { x: number }) => (calls++, { y: x * 10 }), { cache: { dir } });
    await s.run({ x: 1 });
    const [entry] = entryFiles(dir);
    const bytes = readFileSync(entry!);
    bytes[bytes.length - 2]! ^= 0x01; // one bit of the payload
    writeFileSync(entry!, bytes);
    expect(await s.run({ x: 1 })).toEqual({ y: 10 });
    expect(calls).toBe(2);
    expect((await why(dir)).at(-1)).toMatch(/^re-ran   fragile: the record was damaged/);
    expect(await s.run({ x: 1 })).toEqual({ y: 10 });
    expect(calls).toBe(2);
  });

  it("re-runs when an output file it wrote was deleted or edited", async () => {
    const dir = tmp();
    const outDir = tmp();
    let calls = 0;
    const s = stage(
      "writer",
      ({ name }: { name: string }) => {
        calls++;
        const p = path.join(outDir, `${name}.txt`);
        writeFileSync(p, `hello ${name}`);
        return { out: p };
      },
      { cache: { dir } },
    );
    const { out } = await s.run({ name: "a" });
    await s.run({ name: "a" });
    expect(calls).toBe(1);
    rmSync(out);
    await s.run({ name: "a" });
    expect(calls).toBe(2);
    expect((await why(dir)).at(-1)).toBe(`re-ran   writer: output file \`${out}\` changed or is missing`);
  });

  it("passes files between cached stages: a FileRef output is recorded, verified and given back", async () => {
    const dir = tmp();
    const work = tmp();
    const input = path.join(work, "sub-01.nii");
    writeOld(input, "raw");
    let registered = 0;
    const register = stage(
      "register-f",
      ({ img }: { img: FileRef }) => {
        registered++;
        const out = path.join(work, "sub-01.reg.nii");
        writeFileSync(out, readFileSync(img.path, "utf8") + "+reg");
        return { out: file(out) };
      },
      { cache: { dir } },
    );
    const segment = stage("segment-f", ({ out }: { out: FileRef }) => ({ mask: readFileSync(out.path, "utf8").length }), { cache: { dir } });
    const g = dag().start(register).edge(register, segment);
    expect(await g.run({ img: file(input) })).toEqual({ mask: 7 });
    const again = await register.run({ img: file(input) });
    expect(registered).toBe(1);
    expect(again.out).toBeInstanceOf(Object.getPrototypeOf(file("x")).constructor);
    expect(again.out.path).toBe(path.join(work, "sub-01.reg.nii"));
    writeFileSync(again.out.path, "tampered"); // an output file edited behind the cache's back
    await register.run({ img: file(input) });
    expect(registered).toBe(2);
  });

  it("does not record a run during which an input file changed", async () => {
    const dir = tmp();
    const p = path.join(tmp(), "live.txt");
    writeOld(p, "v1");
    let calls = 0;
    const s = stage(
      "live",
      ({ src }: { src: FileRef }) => {
        calls++;
        writeOld(src.path, `v${calls + 1}-changed-during-run`);
        return { ok: true };
      },
      { cache: { dir } },
    );
    await s.run({ src: file(p) });
    expect((await why(dir)).at(-1)).toContain("an input file changed while the stage ran: not recorded");
    expect(existsSync(path.join(dir, "entries"))).toBe(false);
  });

  it("runs a key once when it is asked for twice at the same time", async () => {
    const dir = tmp();
    let calls = 0;
    const s = stage(
      "slow",
      async ({ x }: { x: number }) => {
        calls++;
        await new Promise((r) => setTimeout(r, 30));
        return { y: x };
      },
      { cache: { dir } },
    );
    const [a, b] = await Promise.all([s.run({ x: 1 }), s.run({ x: 1 })]);
    expect(calls).toBe(1);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it("caches the stages of a DAG: a second run is all hits", async () => {
    const dir = tmp();
    const calls: string[] = [];
    const s0 = stage("d0", ({ subject }: { subject: string }) => (calls.push("d0"), { raw: subject.length }), { cache: { dir } });
    const s1 = stage("d1", ({ raw }: { raw: number }) => (calls.push("d1"), { a: raw * 2 }), { cache: { dir } });
    const s2 = stage("d2", ({ raw }: { raw: number }) => (calls.push("d2"), { b: raw + 1 }), { cache: { dir } });
    const s3 = stage("d3", ({ a, b }: { a: number; b: number }) => (calls.push("d3"), { total: a + b }), { cache: { dir } });
    const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
    expect(await g.run({ subject: "abc" })).toEqual({ total: 10 });
    expect(await g.run({ subject: "abc" })).toEqual({ total: 10 });
    expect(calls.sort()).toEqual(["d0", "d1", "d2", "d3"]);
    const lines = await why(dir);
    expect(lines.slice(-4).every((l) => l.startsWith("hit"))).toBe(true);
  });

  it("keeps stage names that look like paths inside the cache directory", async () => {
    const dir = tmp();
    for (const name of ["../escape", "/abs/olute", "a/b", ".."]) {
      await stage(name, ({ x }: { x: number }) => ({ y: x }), { cache: { dir } }).run({ x: 1 });
    }
    expect(existsSync(path.join(path.dirname(dir), "escape"))).toBe(false);
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)]));
    for (const f of walk(dir)) expect(path.relative(dir, f).startsWith("..")).toBe(false);
  });
});

export { renameSync };

describe("the event of a hit", () => {
  it("is a whole format-2 event, whatever the stage is called", async () => {
    const dir = tmp();
    const name = 'we"ird\nname\u2028';
    const s = stage(name, ({ x }: { x: number }) => ({ y: x }), { cache: { dir } });
    await s.run({ x: 1 });
    await s.run({ x: 1 });
    const [ran, hit] = (await lastRun(dir)).events;
    expect(hit).toMatchObject({ v: 2, stage: name, key: ran!.key, status: "hit", reasons: [], outputBytes: ran!.outputBytes, worker: ran!.worker, run: ran!.run });
    expect(hit!.start! <= hit!.end!).toBe(true);
    expect(Object.keys(hit!).sort()).toEqual(["end", "key", "outputBytes", "reasons", "run", "seconds", "stage", "start", "status", "time", "v", "worker"]);
  });
});
