import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { digest } from "../src/runtime/cache/canonical.js";
import { FileDigests, resolveFiles } from "../src/runtime/cache/file-digest.js";
import { keyMaterial, keyMaterialSync } from "../src/runtime/cache/key-material.js";
import { FileRef, ResolvedFile } from "../src/runtime/cache/types.js";
import { MemopipeError, UnrecordableValueError } from "../src/runtime/errors.js";

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "memopipe-key-material-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tempFile(contents: string): string {
  const p = join(dir, `k${n++}.txt`);
  writeFileSync(p, contents);
  return p;
}
/** An hour old: outside the racy window, so the stat cache may vouch for it. */
function aged(contents: string): string {
  const p = tempFile(contents);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(p, old, old);
  return p;
}

/**
 * What keyMaterial must equal: resolveFiles, then digest, per input. Files are compared as sets:
 * keyMaterial lists them in the order the encoding meets them (object keys sorted), resolveFiles
 * in the order of its walk (keys in insertion order).
 */
async function reference(inputs: Record<string, unknown>, hashStringPaths: boolean) {
  const out = Object.create(null) as Record<string, { digest: string; files: ResolvedFile[] }>;
  for (const name of Object.keys(inputs).sort()) {
    const { value, files } = await resolveFiles(inputs[name], new FileDigests(), { hashStringPaths });
    out[name] = { digest: digest(value, `inputs.${name}`), files };
  }
  return plain(out);
}
/** A comparable form: plain JSON, files sorted by path. */
function plain(m: Record<string, { digest: string; files: readonly ResolvedFile[] }>): unknown {
  return Object.keys(m).map((name) => [name, m[name]!.digest, [...m[name]!.files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => ({ ...f }))]);
}

describe("keyMaterial", () => {
  it("equals resolveFiles + digest, with files in values, Map values, Sets, and not in Map keys", async () => {
    const a = aged("A");
    const b = aged("BB");
    const fresh = tempFile("fresh"); // within the racy window: read, not vouched for
    const folder = join(dir, "folder");
    mkdirSync(folder, { recursive: true });
    const inputs = {
      ref: new FileRef(a),
      list: [b, folder, join(dir, "missing"), "plain", 3, fresh],
      nested: { deep: [{ again: new FileRef(a) }], asString: a },
      map: new Map<unknown, unknown>([[b, b], [{ key: a }, 1]]),
      set: new Set([b, new FileRef(fresh)]),
      n: 1.5,
    };
    for (const hashStringPaths of [true, false]) {
      const got = await keyMaterial(inputs, new FileDigests(), { hashStringPaths });
      expect(plain(got)).toEqual(await reference(inputs, hashStringPaths));
    }
    const got = await keyMaterial(inputs, new FileDigests(), { hashStringPaths: true });
    expect(got.list!.files.map((f) => f.path)).toEqual([b, fresh]); // in the order met
    expect(got.nested!.files.map((f) => f.path)).toEqual([a]); // each path once
    expect(got.map!.files.map((f) => f.path)).toEqual([b]); // the key {key: a} is not resolved
    expect(got.n).toEqual({ digest: digest(1.5, "inputs.n"), files: [] });
  });

  it("answers a hit from the stat cache without reading, and reads once what it cannot vouch for", async () => {
    const a = aged("vouched");
    const fresh = tempFile("racy");
    const digests = new FileDigests();
    const reads = vi.spyOn(digests as unknown as { hashContents(p: string): Promise<unknown> }, "hashContents");
    await keyMaterial({ a: new FileRef(a), s: [a] }, digests, { hashStringPaths: true });
    expect(reads).toHaveBeenCalledTimes(1); // a, once, for both inputs
    await keyMaterial({ a: new FileRef(a), s: [a] }, digests, { hashStringPaths: true });
    expect(reads).toHaveBeenCalledTimes(1);
    expect(digests.stats.hits).toBe(1); // one stat-cache answer per path per call, shared by the inputs
    await keyMaterial({ f: new FileRef(fresh), g: fresh }, digests, { hashStringPaths: true });
    expect(reads).toHaveBeenCalledTimes(2); // racy: read (once for the call: both inputs share the answer)
  });

  it("sees an edited file", async () => {
    const p = aged("one");
    const digests = new FileDigests();
    const before = await keyMaterial({ p: new FileRef(p) }, digests, { hashStringPaths: false });
    writeFileSync(p, "two");
    const after = await keyMaterial({ p: new FileRef(p) }, digests, { hashStringPaths: false });
    expect(after.p!.digest).not.toBe(before.p!.digest);
    expect(after.p!.files[0]!.size).toBe(3);
  });

  it("fails on a file() that does not exist, and names the stage and path of an unrecordable value", async () => {
    await expect(keyMaterial({ f: new FileRef(join(dir, "absent")) }, new FileDigests(), { hashStringPaths: true })).rejects.toThrow(MemopipeError);
    await expect(keyMaterial({ f: new FileRef(join(dir, "absent")) }, new FileDigests(), { hashStringPaths: true })).rejects.toThrow(/does not exist/);
    const cyclic: Record<string, unknown> = { x: aged("c") };
    cyclic.self = cyclic;
    const error = await keyMaterial({ opts: { cb: () => 1 } }, new FileDigests(), { hashStringPaths: true, stage: "train" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecordableValueError);
    expect((error as Error).message).toBe(
      "stage 'train': inputs.opts.cb is a function, which cannot be recorded in the cache; pass plain data (or turn cache off for this stage)",
    );
    const cycle = await keyMaterial({ c: cyclic }, new FileDigests(), { hashStringPaths: true }).catch((e: unknown) => e);
    expect(cycle).toBeInstanceOf(UnrecordableValueError);
    expect((cycle as UnrecordableValueError).path).toBe("inputs.c.self");
    expect((cycle as UnrecordableValueError).kind).toBe("circular reference");
  });

  it("keeps an own __proto__ key, and an input named __proto__", async () => {
    const p = aged("proto");
    const json = JSON.parse(`{"__proto__": ${JSON.stringify(p)}, "v": 1}`) as Record<string, unknown>;
    const inputs = Object.defineProperty({ x: json } as Record<string, unknown>, "__proto__", { value: 2, enumerable: true });
    const got = await keyMaterial(inputs, new FileDigests(), { hashStringPaths: true });
    expect(Object.keys(got)).toEqual(["__proto__", "x"]);
    expect(got.x!.files.map((f) => f.path)).toEqual([p]);
    expect(got.x!.digest).not.toBe((await keyMaterial({ x: { v: 1 } }, new FileDigests(), { hashStringPaths: true })).x!.digest);
    expect(plain(got)).toEqual(await reference(inputs, true));
  });

  it.each([10_000, 100_000])("walks %i levels, with a file at the bottom", async (depth) => {
    const p = aged("bottom");
    let v: unknown = [new FileRef(p), p];
    for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
    const got = await keyMaterial({ v }, new FileDigests(), { hashStringPaths: true });
    expect(got.v!.files.map((f) => f.path)).toEqual([p]);
    expect(plain(got)).toEqual(await reference({ v }, true));
  });

  it("property: equals resolveFiles + digest for random values mixing file names and other data", async () => {
    const files = [aged("p1"), aged("p2"), tempFile("p3 racy")];
    const leaf = fc.oneof(
      fc.constantFrom<unknown>(...files, join(dir, "nope"), dir, "", "x", 0, -0, NaN, null, undefined, 1n),
      fc.constantFrom(...files).map((p) => new FileRef(p)),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom("a", "b", "__proto__"), tie("v"), { maxKeys: 3 }),
        fc.array(fc.tuple(fc.oneof(leaf.filter((x) => !(x instanceof FileRef)), fc.constant({})), tie("v")), { maxLength: 2 }).map((es) => new Map(es)),
        fc.array(tie("v"), { maxLength: 3 }).map((xs) => new Set(xs)),
      ),
    })).v;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom("a", "b", "c"), value, { minKeys: 1, maxKeys: 3 }), fc.boolean(), async (inputs, hashStringPaths) => {
        expect(plain(await keyMaterial(inputs, new FileDigests(), { hashStringPaths }))).toEqual(await reference(inputs, hashStringPaths));
      }),
      { numRuns: 150 },
    );
  });
});

describe("keyMaterialSync (the hit path's manifest without a promise)", () => {
  it("answers as keyMaterial does once the stat cache vouches for every file, and not before", async () => {
    const a = aged("sync-a");
    const b = aged("sync-b");
    const inputs = { ref: new FileRef(a), list: [b, 1, "x"], n: 3, __proto__: 0 } as Record<string, unknown>;
    Object.defineProperty(inputs, "__proto__", { value: 0, enumerable: true });
    const digests = new FileDigests();
    const options = { hashStringPaths: true, stage: "s" };
    expect(keyMaterialSync(inputs, digests, options)).toBeUndefined(); // the stat cache is not loaded yet
    const full = await keyMaterial(inputs, digests, options); // loads, reads and hashes both files
    expect(Object.keys(full)).toEqual(["__proto__", "list", "n", "ref"]);
    const sync = keyMaterialSync(inputs, digests, options);
    expect(sync).toEqual(full);
    // a file the stat cache does not know: it must be read, so the synchronous answer is "ask the other"
    const c = aged("sync-c");
    expect(keyMaterialSync({ ...inputs, more: new FileRef(c) }, digests, options)).toBeUndefined();
    expect(() => keyMaterialSync({ f: () => 1 }, digests, options)).toThrow(UnrecordableValueError);
    expect(() => keyMaterialSync({ f: () => 1 }, digests, options)).toThrow(/stage 's'/);
  });
});
