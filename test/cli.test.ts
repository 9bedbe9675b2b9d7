/**
 * The built `memopipe` command (dist/cli.js: `npm test` builds first), run as a user would.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stage } from "../src/index.js";
import { flushEvents } from "../src/runtime/events.js";

const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "cli.js");
const tmp = mkdtempSync(path.join(tmpdir(), "memopipe-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => {
  const dir = path.join(tmp, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** The environment without any colour setting, plus `extra`. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  return { ...env, ...extra };
}
/** Runs the CLI piped; returns its status and both streams. */
function cmd(args: readonly string[], o: { env?: Record<string, string>; cwd?: string } = {}) {
  // this process's stage runs gather their events until the end of the turn; the CLI reads the file now
  flushEvents();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: envWith(o.env), cwd: o.cwd ?? tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const run = (...args: string[]) => {
  const r = cmd(args);
  if (r.status !== 0) throw new Error(`memopipe ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};
const ANSI = /\x1b\[/;

/** A cache directory with two runs of one stage: the last run has a hit and a re-run. */
let cacheDir = "";
beforeAll(async () => {
  cacheDir = freshDir();
  const s = stage("cli-stage", ({ x }: { x: number }) => ({ y: x * 2 }), { cache: { dir: cacheDir } });
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
});

describe("memopipe CLI", () => {
  it("has --help with examples on every command", () => {
    for (const command of [[], ["init"], ["why"], ["fingerprint"], ["cache"], ["cache", "ls"], ["cache", "stats"], ["cache", "show"], ["cache", "gc"], ["cache", "clear"], ["plot"]]) {
      const help = run(...command, "--help");
      expect(help, command.join(" ")).toMatch(/\nExamples:\n {2}\$ memopipe /);
    }
    expect(run("--help")).toMatch(/init[\s\S]*why[\s\S]*fingerprint[\s\S]*cache[\s\S]*plot/);
    expect(run("cache", "--help")).toMatch(/ls[\s\S]*stats[\s\S]*gc[\s\S]*clear/);
    expect(run("cache", "gc", "--help")).toContain("--max-size");
  });

  it("why prints the last run, cache ls/stats/gc/clear manage the entries, with the plurals right", async () => {
    const why = run("why", "--dir", cacheDir).trim().split("\n");
    expect(why).toHaveLength(2);
    expect(why[0]).toMatch(/^hit {6}cli-stage/);
    expect(why[1]).toMatch(/^re-ran {3}cli-stage: input `x` changed/);
    expect(run("why", "cli-stage", "--dir", cacheDir).trim().split("\n")).toHaveLength(2);
    const dir = freshDir();
    const s = stage("cli-plural", ({ x }: { x: number }) => ({ y: x }), { cache: { dir } });
    await s.run({ x: 1 });
    expect(run("cache", "ls", "--dir", dir).trim().split("\n")).toHaveLength(1);
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^1 entry, [\d.]+ (B|KiB)\n {2}cli-plural: 1 entry, /);
    await s.run({ x: 2 });
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^2 entries, /);
    const shown = run("cache", "show", "cli-plural", "--dir", dir);
    expect(JSON.parse(shown.slice(0, shown.indexOf("\noutputs:")))).toMatchObject({ format: 2, stage: "cli-plural", inputs: { x: { value: 2 } } });
    expect(shown).toMatch(/\noutputs:\n\{ y: 2 \}\n$/);
    expect(run("cache", "gc", "--dir", dir, "--max-age", "1d")).toContain("removed 0 entries");
    await s.run({ x: 3 });
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^3 entries, /);
    expect(run("cache", "gc", "--dir", dir, "--max-size", "1")).toMatch(/removed 3 entries/);
    // this process writes again into the stage directory another process's gc removed
    await s.run({ x: 4 });
    expect(run("cache", "stats", "--dir", dir)).toMatch(/^1 entry, /);
    // (a fresh directory: this process's store would not write again into a stage directory that
    // another process's gc removed, a cache-store matter reported separately)
    const one = freshDir();
    const t = stage("cli-one", ({ x }: { x: number }) => ({ y: x }), { cache: { dir: one } });
    await t.run({ x: 9 });
    expect(run("cache", "gc", "--dir", one, "--max-size", "0")).toMatch(/^removed 1 entry, freed /);
    const cleared = freshDir();
    await stage("cli-clear", ({ x }: { x: number }) => ({ y: x }), { cache: { dir: cleared } }).run({ x: 1 });
    expect(run("cache", "stats", "--dir", cleared)).toMatch(/^1 entry/);
    expect(run("cache", "clear", "--dir", cleared)).toBe("cache cleared\n");
    expect(run("cache", "stats", "--dir", cleared)).toMatch(/^0 entries/);
    expect(existsSync(path.join(cleared, "entries")) ? readdirSync(path.join(cleared, "entries")) : []).toEqual([]);
  });

  it("every mistake is one line naming the command, on stderr, with exit status 1 and nothing on stdout", () => {
    const records = path.join(freshDir(), "r.jsonl");
    writeFileSync(records, '{"a":1,"b":2}\n');
    const cases: [string[], RegExp][] = [
      [["why", "nosuchstage", "--dir", cacheDir], /^memopipe why: no stage 'nosuchstage' in the last run \(its stages: cli-stage\)$/],
      [["why", "--dir", path.join(tmp, "none")], /^memopipe why: no cache directory at .*none: run a cached stage first, or give the cache directory with --dir$/],
      [["why", "--dir", records], /^memopipe why: .*r\.jsonl is a file, not a directory$/],
      [["cache", "clear", "--dir", "/nonexistent"], /^memopipe cache clear: no cache directory at \/nonexistent/],
      [["cache", "ls", "--dir", "/nonexistent"], /^memopipe cache ls: no cache directory at \/nonexistent/],
      [["cache", "stats", "--dir", "/nonexistent"], /^memopipe cache stats: no cache directory/],
      [["cache", "gc", "--dir", "/nonexistent", "--max-age", "1d"], /^memopipe cache gc: no cache directory/],
      [["cache", "show", "nosuchstage", "--dir", cacheDir], /^memopipe cache show: stage 'nosuchstage' has no entry in .*\(memopipe cache ls lists them\)$/],
      [["cache", "gc", "--max-size", "lots"], /^memopipe: option '--max-size <size>' argument 'lots' is invalid\. not a size: lots \(e\.g\. 500MB, 2GiB\)$/],
      [["plot", records, "--x", "a", "--y", "b", "--out", path.join(tmp, "chart.png")], /^memopipe plot: --out .*chart\.png: the chart is written as SVG \(\.svg\) or as SVG in a web page \(\.html\)/],
      [["plot", records, "--x", "a", "--y", "b", "--mark", "pie"], /^memopipe: .*--mark must be line, point or bar, got pie$/],
      [["plot", path.join(tmp, "missing.jsonl"), "--x", "a", "--y", "b"], /^memopipe plot: the records file .*missing\.jsonl does not exist$/],
      [["fingerprint", "--project", path.join(tmp, "nope", "tsconfig.json")], /^memopipe fingerprint: no .*tsconfig\.json: give the project's tsconfig\.json with --project/],
      // a directory without a tsconfig.json: the library's own "memopipe fingerprint: …" message, prefixed once
      [["fingerprint", "--project", freshDir()], /^memopipe fingerprint: no tsconfig at .*tsconfig\.json \(give one with --project\)$/],
      [["init", path.join(tmp, "not-there")], /^memopipe init: no directory .*not-there: create it first/],
      [["nosuch"], /^memopipe: unknown command 'nosuch'$/],
      [["why", "--bogus"], /^memopipe: unknown option '--bogus'$/],
    ];
    for (const [args, message] of cases) {
      const r = cmd(args);
      const what = `memopipe ${args.join(" ")}`;
      expect(r.status, what).toBe(1);
      expect(r.stdout, what).toBe("");
      expect(r.stderr.trimEnd().split("\n"), `${what}: ${r.stderr}`).toHaveLength(1);
      expect(r.stderr.trimEnd(), what).toMatch(message);
      expect(r.stderr, what).not.toMatch(/ENOENT|memopipe: memopipe|\n {4}at /);
    }
    expect(existsSync(path.join(tmp, "chart.png"))).toBe(false);
  });

  it("a file-system error names the file in words, not a raw ENOENT", () => {
    const dir = freshDir();
    const records = path.join(dir, "r.jsonl");
    writeFileSync(records, '{"a":1,"b":2}\n');
    // the output directory does not exist: the write fails inside plotFile
    const r = cmd(["plot", records, "--x", "a", "--y", "b", "--out", path.join(dir, "no", "such", "chart.svg")]);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd()).toMatch(/^memopipe plot: .*no\/such\/chart\.svg: no such file or directory$/);
  });

  it("colours only a stream that is a terminal; FORCE_COLOR forces them, NO_COLOR and FORCE_COLOR=0 turn them off", () => {
    const mistake = ["why", "nosuch", "--dir", cacheDir];
    expect(cmd(["why", "--dir", cacheDir]).stdout).not.toMatch(ANSI);
    expect(cmd(mistake).stderr).not.toMatch(ANSI);
    for (const force of ["1", "true", "3", ""]) {
      expect(cmd(["why", "--dir", cacheDir], { env: { FORCE_COLOR: force } }).stdout, `FORCE_COLOR=${force}`).toMatch(/\x1b\[32mhit/);
      expect(cmd(mistake, { env: { FORCE_COLOR: force } }).stderr).toMatch(/^\x1b\[31mmemopipe why:\x1b\[39m no stage/);
    }
    for (const env of [{ NO_COLOR: "1" }, { FORCE_COLOR: "0" }, { FORCE_COLOR: "false", NO_COLOR: "" }] as Record<string, string>[]) {
      expect(cmd(["why", "--dir", cacheDir], { env }).stdout, JSON.stringify(env)).not.toMatch(ANSI);
      expect(cmd(mistake, { env }).stderr).not.toMatch(ANSI);
    }
    // on a terminal (script gives one), stdout is coloured, while stderr redirected to a file is not
    const errFile = path.join(freshDir(), "stderr.txt");
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const screen = execFileSync(
      "script",
      ["-qfec", `${q(process.execPath)} ${q(cli)} why --dir ${q(cacheDir)}; ${q(process.execPath)} ${q(cli)} why nosuch --dir ${q(cacheDir)} 2>${q(errFile)}; true`, "/dev/null"],
      { encoding: "utf8", env: envWith({ TERM: "xterm" }), stdio: ["ignore", "pipe", "pipe"] },
    );
    expect(screen).toMatch(/\x1b\[32mhit/);
    const redirected = readFileSync(errFile, "utf8");
    expect(redirected).toMatch(/^memopipe why: no stage 'nosuch'/);
    expect(redirected).not.toMatch(ANSI);
    expect(cmd(["why", "--dir", cacheDir], { env: { TERM: "dumb" } }).stdout).not.toMatch(ANSI);
  });

  it("why shows stage names from the event log without their control characters", async () => {
    const dir = freshDir();
    await stage("evil\x1b[2J\u202ename", ({ x }: { x: number }) => ({ y: x }), { cache: { dir } }).run({ x: 1 });
    const r = cmd(["why", "other", "--dir", dir]);
    expect(r.stderr).toContain("its stages: evil\\u{1b}[2J\\u{202e}name");
    expect(r.stderr).not.toMatch(/\x1b|\u202e/);
  });
});

describe("memopipe init", () => {
  it("writes the starter files, adds .memopipe/ to .gitignore once, and prints the next commands", () => {
    const dir = freshDir();
    writeFileSync(path.join(dir, ".gitignore"), "node_modules\n/dist"); // no final newline
    const first = cmd(["init"], { cwd: dir });
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^wrote src\/stages\.ts\nwrote src\/run\.ts\nadded \.memopipe\/ to \.gitignore\n\nnext:\n/);
    for (const next of ["npm init -y", "npm install memopipe", "npx tsc --init", "npx tsx src/run.ts", "npx memopipe why", "npx memopipe fingerprint"]) expect(first.stdout).toContain(`  ${next}`);
    expect(readFileSync(path.join(dir, ".gitignore"), "utf8")).toBe("node_modules\n/dist\n.memopipe/\n");
    expect(readFileSync(path.join(dir, "src", "stages.ts"), "utf8")).toContain('from "memopipe"');

    // again: nothing is overwritten, and it says so in one line
    writeFileSync(path.join(dir, "src", "run.ts"), "// mine\n");
    const again = cmd(["init"], { cwd: dir });
    expect(again.status).toBe(1);
    expect(again.stderr.trimEnd()).toBe("memopipe init: src/stages.ts and src/run.ts already exist: memopipe init leaves them alone (add --force to overwrite)");
    expect(readFileSync(path.join(dir, "src", "run.ts"), "utf8")).toBe("// mine\n");
    const forced = cmd(["init", "--force"], { cwd: dir });
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain(".gitignore ignores .memopipe/ already");
    expect(readFileSync(path.join(dir, ".gitignore"), "utf8")).toBe("node_modules\n/dist\n.memopipe/\n");
    expect(readFileSync(path.join(dir, "src", "run.ts"), "utf8")).not.toBe("// mine\n");

    // a directory without a .gitignore gets one; init into a directory given by path
    const other = freshDir();
    expect(cmd(["init", other]).stdout).toContain("wrote .memopipe/ to a new .gitignore");
    expect(readFileSync(path.join(other, ".gitignore"), "utf8")).toBe(".memopipe/\n");
  });

  it("the starter compiles (strict, node16 modules) and runs: the second run is all cache hits", () => {
    const dir = freshDir();
    writeFileSync(path.join(dir, "package.json"), '{ "name": "starter", "private": true }\n');
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "node16", target: "es2022", noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [path.join(root, "node_modules", "@types")] }, include: ["src"] }));
    mkdirSync(path.join(dir, "node_modules"));
    symlinkSync(root, path.join(dir, "node_modules", "memopipe"), "dir"); // as if installed (rmSync removes the link only)
    const init = cmd(["init"], { cwd: dir });
    expect(init.stdout).not.toContain("npm install memopipe"); // it is there
    expect(init.stdout).not.toContain("npx tsc --init");
    execFileSync(process.execPath, [path.join(root, "node_modules", "tsc7", "bin", "tsc"), "-p", "."], { cwd: dir, encoding: "utf8" });
    const tsx = path.join(root, "node_modules", ".bin", "tsx");
    const env = envWith({ NO_COLOR: "1" });
    expect(execFileSync(tsx, ["src/run.ts"], { cwd: dir, encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] })).toBe("{ total: 150 }\n");
    expect(execFileSync(tsx, ["src/run.ts"], { cwd: dir, encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] })).toBe("{ total: 150 }\n");
    const why = cmd(["why"], { cwd: dir }).stdout.trim().split("\n");
    expect(why.map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(["hit load", "hit scale", "hit total"]);
  });
});
