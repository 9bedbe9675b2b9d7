#!/usr/bin/env node
/**
 * The `memopipe` command line: `fingerprint [--check]` (code fingerprints), `why` (what the last
 * run did and why), `cache ls | stats | gc | clear`. Colours on a terminal, plain lines when piped
 * (`util.styleText` honours NO_COLOR and non-TTY streams through `validateStream`).
 */
import { Command, InvalidArgumentError } from "commander";
import { createRequire } from "node:module";
import { styleText } from "node:util";
import { DirectoryStore } from "./runtime/cache/directory-store.js";
import { formatWhy, lastRun } from "./runtime/why.js";

const require = createRequire(import.meta.url);
const { version } = require("../package.json") as { version: string };

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (style: Parameters<typeof styleText>[0], text: string) => (tty ? styleText(style, text) : text);

function bytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a size: ${text} (e.g. 500MB, 2GiB)`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "" | "k"]!;
  return Math.round(Number(m[1]) * unit);
}
function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a duration: ${text} (e.g. 30d, 12h)`);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2]!.toLowerCase() as "s"];
}
const human = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

const program = new Command().name("memopipe").description("Typed data pipelines: tools for memopipe projects").version(version);
const dirOption = ["--dir <dir>", "the cache directory", ".memopipe"] as const;

program
  .command("why")
  .description("what the last run of cached stages did: hits, re-runs and why")
  .argument("[stage]", "only this stage")
  .option(...dirOption)
  .action(async (stage: string | undefined, opts: { dir: string }) => {
    for (const line of formatWhy(await lastRun(opts.dir, stage))) {
      console.log(line.startsWith("hit") ? paint("green", line) : line.startsWith("re-ran") ? paint("yellow", line) : line);
    }
  });

program
  .command("fingerprint")
  .description("hash every stage with the project code it uses (ts-morph) into memopipe.fingerprints.json")
  .option("--check", "do not write: exit 1 when memopipe.fingerprints.json is missing or stale")
  .option("--project <tsconfig>", "the project's tsconfig.json (or its directory)", "tsconfig.json")
  .option("--out <file>", "where the fingerprints go (default: memopipe.fingerprints.json next to the tsconfig)")
  .option("--no-reuse", "analyse even when no file changed since the last run")
  .action(async (opts: { check?: boolean; project: string; out?: string; reuse: boolean }) => {
    // loaded here only: ts-morph brings TypeScript, which the other commands (and the library) never need
    const { fingerprintProject, checkFingerprints } = await import("./codegen/index.js");
    const options = { project: opts.project, reuse: opts.reuse, ...(opts.out !== undefined ? { out: opts.out } : {}) };
    const printWarnings = (warnings: readonly string[]) => {
      for (const w of warnings) console.error(paint("yellow", `warning: ${w}`));
    };
    if (opts.check) {
      const check = await checkFingerprints(options);
      printWarnings(check.current.warnings);
      if (check.ok) {
        console.log(paint("green", `${check.file}: up to date (${Object.keys(check.current.stages).length} stages)`));
        return;
      }
      if (check.missing) console.error(paint("red", `${check.file} is missing: run memopipe fingerprint`));
      else {
        console.error(paint("red", `${check.file} is stale: run memopipe fingerprint`));
        for (const s of check.stale) console.error(`  ${s.stage}: ${s.reasons.join(", ")}`);
      }
      process.exitCode = 1;
      return;
    }
    const data = await fingerprintProject(options);
    printWarnings(data.warnings);
    console.log(`${Object.keys(data.stages).length} stages fingerprinted`);
  });

const cache = program.command("cache").description("inspect and trim the stage cache");
cache
  .command("ls")
  .description("list the entries")
  .option(...dirOption)
  .action(async (opts: { dir: string }) => {
    for (const e of await new DirectoryStore(opts.dir).list()) {
      console.log(`${e.stage}\t${e.key.slice(0, 12)}\t${e.createdAt}\t${human(e.outputs.size)}\t${e.outputs.codec}`);
    }
  });
cache
  .command("stats")
  .description("entries and bytes, per stage")
  .option(...dirOption)
  .action(async (opts: { dir: string }) => {
    const s = await new DirectoryStore(opts.dir).stats();
    console.log(`${s.entries} entries, ${human(s.bytes)}`);
    for (const [stage, v] of Object.entries(s.stages)) console.log(`  ${stage}: ${v.entries} entries, ${human(v.bytes)}`);
  });
cache
  .command("gc")
  .description("remove the oldest entries beyond a size, or older than an age")
  .option(...dirOption)
  .option("--max-size <size>", "keep at most this many bytes (e.g. 500MB)", bytes)
  .option("--max-age <age>", "remove entries older than this (e.g. 30d)", duration)
  .action(async (opts: { dir: string; maxSize?: number; maxAge?: number }) => {
    const r = await new DirectoryStore(opts.dir).gc({
      ...(opts.maxSize !== undefined ? { maxBytes: opts.maxSize } : {}),
      ...(opts.maxAge !== undefined ? { maxAgeMs: opts.maxAge } : {}),
    });
    console.log(`removed ${r.removed} entries, freed ${human(r.freedBytes)}`);
  });
cache
  .command("clear")
  .description("remove every entry")
  .option(...dirOption)
  .action(async (opts: { dir: string }) => {
    await new DirectoryStore(opts.dir).clear();
    console.log("cache cleared");
  });

program
  .command("plot")
  .description("chart a sweep's JSON-lines records as SVG (or HTML), rendered without a browser")
  .argument("<records>", "a JSON-lines file, e.g. what memfile wrote")
  .requiredOption("--x <field>", "field on the x axis")
  .requiredOption("--y <field>", "field on the y axis")
  .option("--color <field>", "field that colours the marks (one line per value)")
  .option("--mark <mark>", "line, point or bar", "line")
  .option("--title <title>", "chart title")
  .option("--out <file>", "output file (.svg or .html); default: the records file with .svg")
  .action(async (records: string, opts: { x: string; y: string; color?: string; mark: string; title?: string; out?: string }) => {
    if (!["line", "point", "bar"].includes(opts.mark)) throw new InvalidArgumentError(`--mark must be line, point or bar, got ${opts.mark}`);
    const { plotFile } = await import("./runtime/plot.js");
    const out = opts.out ?? records.replace(/\.jsonl?$/, "") + ".svg";
    const n = await plotFile(records, out, {
      x: opts.x,
      y: opts.y,
      mark: opts.mark as "line",
      ...(opts.color ? { color: opts.color } : {}),
      ...(opts.title ? { title: opts.title } : {}),
    });
    console.log(`${paint("green", "wrote")} ${out} (${n} records)`);
  });

try {
  await program.parseAsync();
} catch (error) {
  // A user's mistake (an unknown field, a missing file) is one line, not a stack trace.
  console.error(`${paint("red", "memopipe:")} ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
