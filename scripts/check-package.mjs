#!/usr/bin/env node
/**
 * `npm run test:package`: the package as a user gets it. Everything happens in a temp dir, removed
 * at the end: nothing in the repository is written or deleted (`attw --pack .` used to pack into
 * the repo root and then delete `memopipe-<version>.tgz`, a user's file included).
 *
 * 1. `npm pack` into the temp dir; publint (strict) and attw (node16 profile) on that tarball.
 * 2. A fresh project installs the tarball without optional packages (`--omit=optional`: no
 *    ts-morph, and the optional peers Vega/Vega-Lite are never installed by npm): at most 15
 *    packages and 5 MB (the goal; this fails when it is missed), then
 *    - `import` (ESM) and `require` (CJS) of a pipe-only program work;
 *    - `memopipe plot` and `plotFile` without Vega, `memopipe fingerprint` without ts-morph, each
 *      fail with the one line that says what to install (MissingPackageError,
 *      MEMOPIPE_MISSING_PACKAGE), and the commands it names are the ranges of package.json.
 * 3. The same project with a default install (ts-morph included): its size is printed, counted apart.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const GOAL = { packages: 15, bytes: 5_000_000 };
const bin = (name) => join(root, "node_modules", ".bin", name);

let failures = 0;
const fail = (message) => {
  failures++;
  console.error(`✗ ${message}`);
};
const ok = (message) => console.log(`✓ ${message}`);

/** Runs a command; returns { status, stdout, stderr } (never throws). */
function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", ...options, env: { ...process.env, NO_COLOR: "1", ...options.env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function mustRun(command, args, options = {}) {
  const r = run(command, args, options);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Apparent bytes of a tree (symlinks counted as links, not followed). */
function treeBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(p);
    else total += lstatSync(p).size;
  }
  return total;
}
/** The installed packages of a project (from npm's hidden lockfile). */
function installed(project) {
  const lock = JSON.parse(readFileSync(join(project, "node_modules", ".package-lock.json"), "utf8"));
  return Object.keys(lock.packages).filter((k) => k !== "").map((k) => k.slice(k.lastIndexOf("node_modules/") + 13));
}

function freshProject(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "fresh-project", version: "1.0.0", private: true }, null, 2));
  return dir;
}

const work = mkdtempSync(join(tmpdir(), "memopipe-package-check-"));
try {
  // 1. pack, publint, attw
  const packed = JSON.parse(mustRun("npm", ["pack", "--json", "--pack-destination", work], { cwd: root }))[0];
  const tarball = join(work, packed.filename);
  ok(`packed ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KB (unpacked ${(packed.unpackedSize / 1024).toFixed(0)} KB)`);
  const maps = packed.files.filter((f) => f.path.endsWith(".map"));
  const withSources = maps.filter((f) => readFileSync(join(root, f.path), "utf8").includes('"sourcesContent"'));
  if (withSources.length > 0) fail(`source maps embed their sources: ${withSources.map((f) => f.path).join(", ")}`);
  else ok(`${maps.length} source maps, none embeds the sources`);

  const publint = run(bin("publint"), ["--strict"], { cwd: root });
  process.stdout.write(publint.stdout);
  if (publint.status !== 0) fail(`publint --strict failed\n${publint.stderr}`);
  const attw = run(bin("attw"), [tarball, "--profile", "node16"], { cwd: work });
  process.stdout.write(attw.stdout);
  if (attw.status !== 0) fail(`attw failed\n${attw.stderr}`);

  // 2. a fresh project, no optional packages
  const lean = freshProject(join(work, "lean"));
  mustRun("npm", ["install", "--omit=optional", "--no-audit", "--no-fund", "--no-package-lock", tarball], { cwd: lean });
  const leanPackages = installed(lean);
  const leanBytes = treeBytes(join(lean, "node_modules"));
  const figure = `${leanPackages.length} packages, ${(leanBytes / 1e6).toFixed(2)} MB (${leanPackages.join(", ")})`;
  if (leanPackages.length > GOAL.packages || leanBytes > GOAL.bytes) fail(`npm install memopipe --omit=optional: ${figure}; goal ≤ ${GOAL.packages} packages and ≤ 5 MB`);
  else ok(`npm install memopipe --omit=optional: ${figure} (goal ≤ ${GOAL.packages}, ≤ 5 MB)`);

  const pipeProgram = `const run = pipe().step((x) => x * 2).store("d").step((x) => String(x)).step((s, d) => s + d).ingestAfter("d").build(); console.log(run(21));`;
  const esm = mustRun(process.execPath, ["--input-type=module", "-e", `import { pipe } from "memopipe"; ${pipeProgram}`], { cwd: lean }).trim();
  const cjs = mustRun(process.execPath, ["-e", `const { pipe } = require("memopipe"); ${pipeProgram}`], { cwd: lean }).trim();
  if (esm === "4242" && cjs === "4242") ok("import (ESM) and require (CJS) of a pipe-only program work");
  else fail(`pipe-only program printed ${esm} (ESM) and ${cjs} (CJS), expected 4242`);

  const cli = join(lean, "node_modules", "memopipe", "dist", "cli.js");
  writeFileSync(join(lean, "r.jsonl"), '{"a":1,"b":2}\n');
  writeFileSync(join(lean, "tsconfig.json"), "{}\n");
  const peerRange = (name) => pkg.peerDependencies?.[name] ?? pkg.optionalDependencies?.[name];
  const expectLine = (what, result, line) => {
    const lines = result.stderr.trim().split("\n");
    if (result.status !== 0 && lines.length === 1 && lines[0].includes(line)) ok(`${what}: exit ${result.status}, "${lines[0]}"`);
    else fail(`${what}: expected one line containing "${line}" and a non-zero exit, got exit ${result.status}:\n${result.stdout}${result.stderr}`);
  };
  expectLine(
    "memopipe plot without Vega",
    run(process.execPath, [cli, "plot", "r.jsonl", "--x", "a", "--y", "b"], { cwd: lean }),
    `install vega and vega-lite to use plots (memopipe plot, renderSvg, plotFile): npm install vega@${peerRange("vega")} vega-lite@${peerRange("vega-lite")}`,
  );
  expectLine(
    "memopipe fingerprint without ts-morph",
    run(process.execPath, [cli, "fingerprint"], { cwd: lean }),
    `install ts-morph to use code fingerprints (memopipe fingerprint): npm install ts-morph@${peerRange("ts-morph")}`,
  );
  writeFileSync(join(lean, "dag.mjs"), `import { dag, stage } from "memopipe";\nconst s = stage("s", ({ x }) => ({ y: x }));\nexport const g = dag().start(s);\n`);
  expectLine(
    "memopipe graph --format svg without @viz-js/viz",
    run(process.execPath, [cli, "graph", "dag.mjs", "--format", "svg"], { cwd: lean }),
    `install @viz-js/viz to use SVG graphs (memopipe graph --format svg|html, memopipe report, renderGraphSvg): npm install @viz-js/viz@${peerRange("@viz-js/viz")}`,
  );
  expectLine(
    "memopipe worker without bullmq",
    run(process.execPath, [cli, "worker", "--queue", "q"], { cwd: lean }),
    `install bullmq and ioredis to use BullMQ workers (the bullmq Runner, memopipe worker): npm install bullmq@${peerRange("bullmq")} ioredis@${peerRange("ioredis")}`,
  );
  const api = run(
    process.execPath,
    ["--input-type=module", "-e", `import { plotFile, MissingPackageError, MemopipeError } from "memopipe";
try { await plotFile("r.jsonl", "r.svg", { x: "a", y: "b" }); console.log("no error"); }
catch (e) { console.log(e instanceof MissingPackageError, e instanceof MemopipeError, e.code, e.packageName); }`],
    { cwd: lean },
  );
  if (api.stdout.trim() === "true true MEMOPIPE_MISSING_PACKAGE vega") ok("plotFile without Vega rejects with MissingPackageError (MEMOPIPE_MISSING_PACKAGE, packageName vega)");
  else fail(`plotFile without Vega: ${api.stdout}${api.stderr}`);
  const redisApi = run(
    process.execPath,
    ["--input-type=module", "-e", `import { RedisStore, MissingPackageError } from "memopipe";
try { await new RedisStore({ namespace: "x" }).get("s", "0".repeat(64)); console.log("no error"); }
catch (e) { console.log(e instanceof MissingPackageError, e.packageName, e.message); }`],
    { cwd: lean },
  );
  const redisLine = `true ioredis install ioredis to use a cache shared over Redis (RedisStore): npm install ioredis@${peerRange("ioredis")}`;
  if (redisApi.stdout.trim() === redisLine) ok("RedisStore without ioredis rejects with MissingPackageError (packageName ioredis, the install line)");
  else fail(`RedisStore without ioredis: expected "${redisLine}", got ${redisApi.stdout}${redisApi.stderr}`);

  // 3. the default install: ts-morph too, counted apart
  const full = freshProject(join(work, "full"));
  mustRun("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", tarball], { cwd: full });
  const fullPackages = installed(full);
  const extra = fullPackages.filter((p) => !leanPackages.includes(p));
  const fullBytes = treeBytes(join(full, "node_modules"));
  ok(
    `npm install memopipe (default, optional dependencies included): ${fullPackages.length} packages, ${(fullBytes / 1e6).toFixed(1)} MB; ` +
      `the optional ones: ${extra.join(", ")} (${((fullBytes - leanBytes) / 1e6).toFixed(1)} MB)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (failures > 0) {
  console.error(`\n${failures} package check(s) failed`);
  process.exit(1);
}
