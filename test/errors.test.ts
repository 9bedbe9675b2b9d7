/**
 * Error codes and `instanceof` across the two builds. Both dist builds (dist/index.js for `import`,
 * dist/index.cjs for `require`: `npm test` builds first) are loaded in this one process, as an ESM
 * app that uses a CommonJS tool that uses memopipe would, and errors thrown by one are checked
 * against the classes of the other.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const dist = path.resolve(import.meta.dirname, "..", "dist");
type Api = typeof import("../src/index.js");
const esm = (await import(path.join(dist, "index.js"))) as Api;
const cjs = createRequire(import.meta.url)(path.join(dist, "index.cjs")) as Api;
const builds = { esm, cjs } as const;

type ErrorClass = (abstract new (...args: never[]) => Error) & { code?: unknown };
/** Every exported class that makes Errors, by export name. */
function errorClasses(api: Api): [string, ErrorClass][] {
  return (Object.entries(api) as [string, unknown][]).filter(
    (e): e is [string, ErrorClass] => typeof e[1] === "function" && (e[1] as { prototype?: unknown }).prototype instanceof Error,
  );
}

/** An instance of each exported class, made with arguments of the right shape. */
const makeArgs: Record<string, unknown[]> = {
  UnknownMemoryKeyError: ["k", ["a"]],
  DuplicateMemoryKeyError: ["k"],
  IngestNotAllowedError: ["k", "this step was marked memorizable(f, { allowIngest: false })"],
  NotATupleError: ["merge(h)", 5],
  PipelineStepError: [1, "f", new Error("boom")],
  UnrecordableValueError: ["inputs.f", "function", "s"],
  StageRunError: ["s", new Error("boom")],
  RunAbortedError: [[{ n: 1 }, undefined], new Error("enough")],
  MissingPackageError: ["vega", "plot", "npm install vega@~6.4.0 vega-lite@~6.4.0", new Error("Cannot find package 'vega'")],
};
const make = (api: Api, name: string): Error => new (api[name as keyof Api] as new (...a: unknown[]) => Error)(...(makeArgs[name] ?? ["a message"]));

/** Real errors, thrown by the library itself (not constructed by the test). */
function thrownBy(api: Api) {
  const catching = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected a throw");
  };
  return {
    unknownKey: catching(() => (api.pipe<number>().step((x: number) => x) as any).ingestAfter("nope")),
    duplicateKey: catching(() => (api.pipe<number>().store("x") as any).store("x")),
    stepFailed: catching(() =>
      api
        .pipe<number>()
        .step((): number => {
          throw new RangeError("no");
        })
        .run(1),
    ),
  };
}

describe("error codes", () => {
  it("every exported error class, in both builds, has its own stable MEMOPIPE_ code, and each is different", () => {
    for (const [build, api] of Object.entries(builds)) {
      const classes = errorClasses(api);
      expect(classes.length, build).toBeGreaterThanOrEqual(12);
      const codes = new Map<string, string>();
      for (const [name, cls] of classes) {
        // a class without its own line `static override readonly code = "MEMOPIPE_…"` inherits its parent's
        expect(Object.hasOwn(cls, "code"), `${build}: ${name} declares no code of its own`).toBe(true);
        expect(cls.code, `${build}: ${name}`).toMatch(/^MEMOPIPE_[A-Z0-9_]+$/);
        expect(codes.get(cls.code as string), `${build}: ${name} reuses a code`).toBeUndefined();
        codes.set(cls.code as string, name);
        const e = make(api, name);
        expect(e.name).toBe(name);
        expect((e as { code?: unknown }).code).toBe(cls.code);
      }
    }
    expect(Object.fromEntries(errorClasses(esm).map(([n, c]) => [n, c.code]))).toEqual(Object.fromEntries(errorClasses(cjs).map(([n, c]) => [n, c.code])));
  });

  it("the errors thrown carry the documented codes", () => {
    for (const api of [esm, cjs]) {
      const t = thrownBy(api);
      expect((t.unknownKey as { code?: string }).code).toBe("MEMOPIPE_UNKNOWN_KEY");
      expect((t.duplicateKey as { code?: string }).code).toBe("MEMOPIPE_DUPLICATE_KEY");
      expect((t.stepFailed as { code?: string }).code).toBe("MEMOPIPE_STEP_FAILED");
      expect(t.stepFailed.cause).toBeInstanceOf(RangeError);
    }
  });

  it("the README's errors table lists every code with its class", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, "..", "README.md"), "utf8");
    for (const [name, cls] of errorClasses(esm)) {
      expect(readme, `README: no row for ${name}`).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*\`${cls.code as string}\`\\s*\\|`));
    }
  });
});

describe("instanceof across the ESM and CJS builds", () => {
  it("the two builds really are two copies of every class", () => {
    expect(esm.UnknownMemoryKeyError).not.toBe(cjs.UnknownMemoryKeyError);
    expect(Object.getPrototypeOf(thrownBy(cjs).unknownKey)).not.toBe(esm.UnknownMemoryKeyError.prototype);
  });

  it("an error thrown by one build is an instance of its class and its ancestors in the other, and of no other class", () => {
    for (const [from, to] of [
      [esm, cjs],
      [cjs, esm],
      [esm, esm],
      [cjs, cjs],
    ] as const) {
      const t = thrownBy(from);
      expect(t.unknownKey instanceof to.UnknownMemoryKeyError).toBe(true);
      expect(t.unknownKey instanceof to.MemopipeError).toBe(true);
      expect(t.unknownKey instanceof Error).toBe(true);
      expect(t.unknownKey instanceof to.DuplicateMemoryKeyError).toBe(false);
      expect(t.duplicateKey instanceof to.DuplicateMemoryKeyError).toBe(true);
      expect(t.duplicateKey instanceof to.UnknownMemoryKeyError).toBe(false);
      expect(t.stepFailed instanceof to.PipelineStepError).toBe(true);
      expect(t.stepFailed instanceof to.PipelineDefinitionError).toBe(false);
      expect(t.stepFailed.cause instanceof to.MemopipeError).toBe(false);
    }
  });

  it("every class against every other, both ways: true exactly for the class itself and MemopipeError", () => {
    const names = errorClasses(esm).map(([n]) => n);
    for (const [from, to] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      for (const made of names) {
        const e = make(from, made);
        for (const tested of names) {
          const expected = tested === made || tested === "MemopipeError";
          expect(e instanceof (to[tested as keyof Api] as ErrorClass), `${made} instanceof ${tested}`).toBe(expected);
        }
      }
    }
  });

  it("other values are no memopipe error: plain errors, look-alikes with a code, null, primitives", () => {
    for (const api of [esm, cjs]) {
      for (const v of [new Error("x"), Object.assign(new Error("x"), { code: "MEMOPIPE_UNKNOWN_KEY", name: "UnknownMemoryKeyError" }), null, undefined, 42, "MEMOPIPE_ERROR", {}]) {
        expect(v instanceof api.MemopipeError).toBe(false);
        expect(v instanceof api.UnknownMemoryKeyError).toBe(false);
      }
    }
  });

  it("a user's subclass works as usual: with no code of its own it never claims its parent's errors", () => {
    class MyError extends esm.LoggerError {}
    class Coded extends esm.LoggerError {
      static override readonly code = "MYAPP_CODED";
    }
    const mine = new MyError("mine");
    expect(mine instanceof MyError).toBe(true);
    expect(mine instanceof cjs.LoggerError).toBe(true);
    expect(mine instanceof cjs.MemopipeError).toBe(true);
    expect(mine.code).toBe("MEMOPIPE_LOGGER");
    expect(new cjs.LoggerError("theirs") instanceof MyError).toBe(false);
    expect(new esm.LoggerError("theirs") instanceof MyError).toBe(false);
    const coded = new Coded("c");
    expect(coded.code).toBe("MYAPP_CODED");
    expect(coded instanceof cjs.LoggerError).toBe(true);
    expect(new esm.LoggerError("theirs") instanceof Coded).toBe(false);
  });

  it("the brand stays out of JSON and of the printed error", () => {
    const e = thrownBy(cjs).unknownKey;
    expect(Object.keys(e)).not.toContain(Symbol.for("memopipe.error"));
    expect(JSON.parse(JSON.stringify(e))).toEqual({ key: "nope", storedKeys: [], code: "MEMOPIPE_UNKNOWN_KEY", name: "UnknownMemoryKeyError" });
  });
});
