import { describe, expect, it } from "vitest";
import { grid, randomGrid } from "../src/dsl/sweep/grid.js";
import { mulberry32, shuffleInPlace } from "../src/dsl/sweep/random.js";
import { ignoreError, timeTaken } from "../src/dsl/sweep/wrappers.js";
import { MemopipeError } from "../src/runtime/errors.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("grid", () => {
  it("gives every combination in argument order, the last key varying fastest", () => {
    expect(grid({ a: [1, 2], b: ["x", "y"] })).toEqual([
      { a: 1, b: "x" },
      { a: 1, b: "y" },
      { a: 2, b: "x" },
      { a: 2, b: "y" },
    ]);
    const three = grid({ a: [1, 2], b: [true, false], c: ["p", "q", "r"] });
    expect(three).toHaveLength(12);
    expect(three.slice(0, 4)).toEqual([
      { a: 1, b: true, c: "p" },
      { a: 1, b: true, c: "q" },
      { a: 1, b: true, c: "r" },
      { a: 1, b: false, c: "p" },
    ]);
    expect(Object.keys(three[0]!)).toEqual(["a", "b", "c"]);
    // the order follows the arguments, not the alphabet
    expect(grid({ z: [1, 2], a: [3] })).toEqual([
      { z: 1, a: 3 },
      { z: 2, a: 3 },
    ]);
  });

  it("an empty list gives no points; no keys give one empty point", () => {
    expect(grid({ a: [1, 2], b: [] })).toEqual([]);
    expect(grid({})).toEqual([{}]);
  });

  it("does not shuffle unless asked", () => {
    const ordered = grid({ n: Array.from({ length: 20 }, (_, i) => i) });
    expect(ordered.map((p) => p.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(grid({ n: [1, 2, 3] }, { shuffle: false, seed: 5 }).map((p) => p.n)).toEqual([1, 2, 3]);
  });

  it("shuffles reproducibly with a seed; another seed gives another order; same points either way", () => {
    const spec = { n: Array.from({ length: 10 }, (_, i) => i), s: ["a", "b", "c"] };
    const a = grid(spec, { shuffle: true, seed: 42 });
    const b = grid(spec, { shuffle: true, seed: 42 });
    const c = grid(spec, { shuffle: true, seed: 43 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(a).not.toEqual(grid(spec));
    const key = (p: { n: number; s: string }) => `${p.n}${p.s}`;
    expect(a.map(key).sort()).toEqual(grid(spec).map(key).sort());
    expect(c.map(key).sort()).toEqual(grid(spec).map(key).sort());
  });

  it("refuses a value that is not an array at run time too, naming the key", () => {
    expect(() => grid({ n: 1 } as never)).toThrow(MemopipeError);
    expect(() => grid({ n: [1], s: "abc" } as never)).toThrow(/'s' must be an array/);
    expect(() => grid([1, 2] as never)).toThrow(/one object/);
    expect(() => grid({ n: [1] }, { shuffle: true, seed: 1.5 })).toThrow(/seed must be an integer/);
  });
});

describe("randomGrid", () => {
  const spec = { lr: [0.1, 0.01, 0.001], batch: [16, 32, 64, 128], opt: ["adam", "sgd"] };

  it("draws n points, each value from its list", () => {
    const points = randomGrid(spec, { n: 50, seed: 1 });
    expect(points).toHaveLength(50);
    for (const p of points) {
      expect(Object.keys(p)).toEqual(["lr", "batch", "opt"]);
      expect(spec.lr).toContain(p.lr);
      expect(spec.batch).toContain(p.batch);
      expect(spec.opt).toContain(p.opt);
    }
    // each point is drawn independently: with 24 combinations and 50 draws, repeats must occur
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBeLessThan(50);
  });

  it("is reproducible with a seed and differs with another", () => {
    expect(randomGrid(spec, { n: 20, seed: 7 })).toEqual(randomGrid(spec, { n: 20, seed: 7 }));
    expect(randomGrid(spec, { n: 20, seed: 8 })).not.toEqual(randomGrid(spec, { n: 20, seed: 7 }));
  });

  it("n = 0 gives nothing; an empty list cannot be drawn from", () => {
    expect(randomGrid(spec, { n: 0, seed: 1 })).toEqual([]);
    expect(randomGrid({}, { n: 2 })).toEqual([{}, {}]);
    expect(() => randomGrid({ a: [1], b: [] }, { n: 1 })).toThrow(/'b' from an empty array/);
    expect(() => randomGrid({ a: [1] }, { n: -1 })).toThrow(/non-negative integer/);
  });
});

describe("seeded generator", () => {
  it("mulberry32 is deterministic and spreads over [0, 1)", () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it("Fisher–Yates reaches every permutation of 3 about equally often", () => {
    const next = mulberry32(9);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const key = shuffleInPlace([1, 2, 3], next).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(c).toBeGreaterThan(850);
  });
});

describe("timeTaken", () => {
  it("adds the seconds a call took to its result", () => {
    const f = timeTaken()(({ n }: { n: number }) => {
      const end = performance.now() + 20;
      while (performance.now() < end);
      return { n2: n * 2 };
    });
    const r = f({ n: 4 });
    expect(r.n2).toBe(8);
    expect(typeof r.timeTaken).toBe("number");
    expect(r.timeTaken).toBeGreaterThanOrEqual(0.019);
    expect(r.timeTaken).toBeLessThan(1);
    expect(Object.keys(r)).toEqual(["n2", "timeTaken"]);
  });

  it("times async functions until they settle, and replaces a returned timeTaken", async () => {
    const f = timeTaken({ digits: 3 })(async ({ ms }: { ms: number }) => {
      await sleep(ms);
      return { ok: true, timeTaken: "mine" };
    });
    const pending = f({ ms: 30 });
    expect(pending).toBeInstanceOf(Promise);
    const r = await pending;
    expect(r.ok).toBe(true);
    expect(r.timeTaken).toBeGreaterThanOrEqual(0.025);
    expect(Number(r.timeTaken.toFixed(3))).toBe(r.timeTaken);
  });

  it("with { start: true } also records when the call started, as an ISO time (memo's time_start)", async () => {
    const f = timeTaken({ start: true })(({ n }: { n: number }) => ({ n2: n * 2, timeStart: "mine" }));
    const before = Date.now();
    const r = f({ n: 4 });
    const after = Date.now();
    expect(Object.keys(r)).toEqual(["n2", "timeStart", "timeTaken"]);
    expect(r.timeStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(new Date(r.timeStart).toISOString()).toBe(r.timeStart);
    expect(Date.parse(r.timeStart)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(r.timeStart)).toBeLessThanOrEqual(after);
    // async: the start is taken when the call begins, not when it settles
    const g = timeTaken({ start: true, digits: 2 })(async ({ ms }: { ms: number }) => (await sleep(ms), { ok: true }));
    const called = Date.now();
    const s = await g({ ms: 40 });
    expect(Date.parse(s.timeStart) - called).toBeLessThan(30);
    expect(s.timeTaken).toBeGreaterThanOrEqual(0.03);
    // without start, nothing is added (and a returned timeStart is the function's own)
    expect(Object.keys(timeTaken({ start: false })(({ n }: { n: number }) => ({ n }))({ n: 1 }))).toEqual(["n", "timeTaken"]);
    expect(() => timeTaken({ start: "yes" as never })).toThrow(/start must be true or false/);
  });

  it("lets errors through and refuses a result that is not an object", async () => {
    const boom = timeTaken()(({ n }: { n: number }) => {
      if (n) throw new Error("boom");
      return {};
    });
    expect(() => boom({ n: 1 })).toThrow("boom");
    const bad = timeTaken()((() => 42) as never) as unknown as (a: object) => unknown;
    expect(() => bad({})).toThrow(/must return an object/);
  });
});

describe("ignoreError", () => {
  const inv = ({ n }: { n: number }) => {
    if (n === 0) throw new RangeError("n must not be 0");
    return { inv: 1 / n };
  };

  it("returns the result, or an error record with the arguments", () => {
    const safe = ignoreError(inv);
    expect(safe({ n: 2 })).toEqual({ inv: 0.5 });
    expect(safe({ n: 0 })).toEqual({ n: 0, error: { name: "RangeError", message: "n must not be 0" } });
  });

  it("keeps a sweep going: every point gets a result or a record", () => {
    const safe = ignoreError(inv);
    const results = grid({ n: [1, 0, 4] }).map(safe);
    expect(results).toEqual([{ inv: 1 }, { n: 0, error: { name: "RangeError", message: "n must not be 0" } }, { inv: 0.25 }]);
  });

  it("turns rejections into records too, and non-Error throws into name 'Error'", async () => {
    const safe = ignoreError(async ({ n }: { n: number }) => {
      await sleep(1);
      if (n < 0) throw new TypeError("negative");
      if (n === 0) throw "zero"; // eslint-disable-line no-throw-literal
      return { sqrt: Math.sqrt(n) };
    });
    expect(await safe({ n: 9 })).toEqual({ sqrt: 3 });
    expect(await safe({ n: -1 })).toEqual({ n: -1, error: { name: "TypeError", message: "negative" } });
    expect(await safe({ n: 0 })).toEqual({ n: 0, error: { name: "Error", message: "zero" } });
  });

  it("composes with timeTaken in either order", async () => {
    const timedSafe = timeTaken()(ignoreError(inv));
    const ok = timedSafe({ n: 2 });
    expect(ok).toMatchObject({ inv: 0.5 });
    expect(typeof ok.timeTaken).toBe("number");
    const failed = timedSafe({ n: 0 });
    expect(failed).toMatchObject({ n: 0, error: { name: "RangeError" } });
    const safeTimed = ignoreError(timeTaken()(inv));
    expect(safeTimed({ n: 0 })).toEqual({ n: 0, error: { name: "RangeError", message: "n must not be 0" } });
  });
});
