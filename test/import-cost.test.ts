/**
 * What `import "memopipe"` loads in a program that only builds pipes (the built package, ESM and
 * CommonJS, in a fresh process each), and whether an esbuild bundle of such a program runs.
 * Timings are measured in `npm run bench` (bench/import.ts), never asserted here: this asserts
 * *which* modules load, which does not depend on the machine.
 *
 * Run after `npm run build` (npm test builds first).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, stop } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const esm = path.join(root, "dist", "index.js");
const cjs = path.join(root, "dist", "index.cjs");

const PIPE = `const run = pipe().step((x) => x * 2).store("d").step((x) => String(x)).step((s, d) => s + d).ingestAfter("d").build();
if (run(21) !== "4242") throw new Error("wrong result: " + run(21));`;

interface Loaded {
  /** Node built-ins loaded by the import (beyond what an empty program of the same kind loads). */
  readonly builtins: string[];
  /** Packages from node_modules whose files were loaded (through the CommonJS loader). */
  readonly packages: string[];
}

/** Loads the package in a fresh process and reports what that loaded. */
function loaded(kind: "esm" | "cjs", target: "memopipe" | "nothing"): Loaded {
  const report = `
const builtins = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ") && !m.includes("internal/")).map((m) => m.slice(13));
const cache = Object.keys(require("node:module").createRequire(${JSON.stringify(root + "/")}).cache);
const packages = [...new Set(cache.filter((f) => f.includes("/node_modules/")).map((f) => f.split("/node_modules/").at(-1).split("/").slice(0, f.split("/node_modules/").at(-1).startsWith("@") ? 2 : 1).join("/")))];
// fs.writeSync, not console.log: process.stdout (a pipe here) would load node:net itself
require("node:fs").writeSync(1, JSON.stringify({ builtins, packages }));`;
  const code =
    kind === "esm"
      ? `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);
${target === "memopipe" ? `const { pipe } = await import(${JSON.stringify(pathToFileURL(esm).href)}); ${PIPE}` : ""}${report}`
      : `${target === "memopipe" ? `const { pipe } = require(${JSON.stringify(cjs)}); ${PIPE}` : ""}${report}`;
  const args = kind === "esm" ? ["--input-type=module", "-e", code] : ["-e", code];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", cwd: root })) as Loaded;
}

function importOf(kind: "esm" | "cjs"): Loaded {
  const base = new Set(loaded(kind, "nothing").builtins);
  const after = loaded(kind, "memopipe");
  return { builtins: after.builtins.filter((b) => !base.has(b)), packages: after.packages };
}

/**
 * What no pipe needs and memopipe loads on first use: the cache's crypto and v8
 * (src/runtime/lazy-builtins.ts), the web loggers' http/https/tls. (`net` too, but piscina loads
 * it when stdout is a pipe, as here: it is checked with the Runner's part below.)
 */
const NEVER_FOR_A_PIPE = ["http", "https", "tls", "crypto", "v8", "zlib", "child_process", "dns"];
const NEVER_PACKAGES = ["vega", "vega-lite", "ts-morph", "typescript", "@ts-morph/common", "commander", "ioredis", "bullmq"];
/**
 * Built-ins a pipe-only import may load: what the bundled modules import at the top and cost
 * ~nothing, and what Node loads for those itself (`fs/promises` loads `string_decoder`).
 * Not `stream`: ESM's facade of `fs` read every export of the module, and `fs.ReadStream`'s lazy
 * getter loaded the streams stack (~5 ms); the ESM build now takes built-ins from
 * `process.getBuiltinModule` (tsup.config.ts), which builds no facade.
 */
const ALLOWED_BUILTINS = ["fs", "fs/promises", "path", "url", "os", "module", "util", "events", "buffer", "timers/promises", "string_decoder"];

describe.each(["esm", "cjs"] as const)("import memopipe (%s) in a program that only builds pipes", (kind) => {
  const result = importOf(kind);

  it("loads none of the built-ins or packages that only the cache, the loggers, plot or fingerprint need", () => {
    expect(result.builtins.filter((b) => NEVER_FOR_A_PIPE.includes(b))).toEqual([]);
    expect(result.packages.filter((p) => NEVER_PACKAGES.includes(p))).toEqual([]);
  });

  // The Runner's threads are worker_threads, loaded by the first threads run
  // (src/runtime/runner/pool.ts); no package at all (piscina is gone).
  it("loads no package at all, and only cheap built-ins (the Runner's worker_threads on first use)", () => {
    expect(result.packages).toEqual([]);
    expect(result.builtins.filter((b) => !ALLOWED_BUILTINS.includes(b))).toEqual([]);
  });
});

describe("an esbuild bundle (platform node) of a program that only builds pipes", () => {
  afterAll(() => stop()); // esbuild's service process
  async function bundle(): Promise<{ bytes: number; status: number | null; stderr: string }> {
    const dir = tempDir("memopipe-bundle-");
    const entry = path.join(dir, "main.mjs");
    writeFileSync(entry, `import { pipe } from ${JSON.stringify(esm)};\n${PIPE}\nconsole.log("ok");\n`);
    const outfile = path.join(dir, "out.mjs");
    await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "silent", absWorkingDir: root });
    const ran = spawnSync(process.execPath, [outfile], { encoding: "utf8" });
    return { bytes: statSync(outfile).size, status: ran.status, stderr: ran.stderr };
  }

  it("builds without Vega, @viz-js/viz or ts-morph being resolved (the optional packages are imported by name at run time)", async () => {
    const dir = tempDir("memopipe-bundle-");
    const entry = path.join(dir, "main.mjs");
    writeFileSync(entry, `import { pipe } from ${JSON.stringify(esm)};\n${PIPE}\n`);
    const result = await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent", absWorkingDir: root });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => /node_modules\/(vega|vega-lite|ts-morph|@ts-morph|typescript|commander|@viz-js|ioredis|bullmq)\//.test(f))).toEqual([]);
  });

  // What kept it from running and small: piscina (CommonJS, bundled: `Dynamic require of
  // "node:worker_threads"` at start; the Runner's threads are now node:worker_threads, loaded by the
  // first threads run) and the DAG's describe hooks attached by a top-level statement (now class
  // members), which kept the DAG and the stage cache in every bundle.
  it("runs, and weighs at most 30 KB", async () => {
    const { bytes, status, stderr } = await bundle();
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(bytes).toBeLessThanOrEqual(30 * 1024);
  });
});
