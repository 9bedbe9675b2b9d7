/**
 * The built `memopipe` command (dist/cli.js: `npm test` builds first), run as a user would.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stage } from "../src/index.js";

const cli = path.resolve(import.meta.dirname, "..", "dist", "cli.js");
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("memopipe CLI", () => {
  it("has --help on every command", () => {
    expect(run("--help")).toContain("why");
    expect(run("cache", "--help")).toMatch(/ls[\s\S]*stats[\s\S]*gc[\s\S]*clear/);
    expect(run("cache", "gc", "--help")).toContain("--max-size");
  });

  it("why prints the last run, cache ls/stats/gc/clear manage the entries", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "memopipe-cli-"));
    const s = stage("cli-stage", ({ x }: { x: number }) => ({ y: x * 2 }), { cache: { dir } });
    process.env.MEMOPIPE_RUN_ID = "cli-1";
    try {
      await s.run({ x: 1 });
      await s.run({ x: 2 });
      process.env.MEMOPIPE_RUN_ID = "cli-2";
      await s.run({ x: 1 });
      await s.run({ x: 3 });
    } finally {
      delete process.env.MEMOPIPE_RUN_ID;
    }
    const why = run("why", "--dir", dir).trim().split("\n");
    expect(why).toHaveLength(2);
    expect(why[0]).toMatch(/^hit {6}cli-stage/);
    expect(why[1]).toMatch(/^re-ran {3}cli-stage: input `x` changed/);
    expect(run("cache", "ls", "--dir", dir).trim().split("\n")).toHaveLength(3);
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^3 entries/);
    expect(run("cache", "gc", "--dir", dir, "--max-age", "1d")).toContain("removed 0 entries");
    expect(run("cache", "gc", "--dir", dir, "--max-size", "0")).toContain("removed 3 entries");
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^0 entries/);
    await s.run({ x: 9 });
    run("cache", "clear", "--dir", dir);
    expect(existsSync(path.join(dir, "entries")) ? readdirSync(path.join(dir, "entries")) : []).toEqual([]);
  });

  it("rejects a malformed size with a clear message", () => {
    expect(() => execFileSync(process.execPath, [cli, "cache", "gc", "--max-size", "lots"], { encoding: "utf8", stdio: "pipe" })).toThrow(
      /not a size: lots/,
    );
  });
});
