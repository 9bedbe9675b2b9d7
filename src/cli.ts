#!/usr/bin/env node
/**
 * The `memopipe` command line. One file per command in src/cli/ (`why`, `fingerprint`, `cache`,
 * `plot`, `graph`, `report`, `init`, `worker`); a new command is a new file with an `addX(program)` and one line here.
 *
 * Output: results on stdout, mistakes and warnings on stderr; colours only on a stream that is a
 * terminal (or when FORCE_COLOR says so; never with NO_COLOR: src/cli/style.ts). A mistake is one
 * line, `memopipe <command>: <what is wrong and what to do>`, and exit status 1 (src/cli/errors.ts).
 */
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { addCache } from "./cli/cache.js";
import { describeError } from "./cli/errors.js";
import { addFingerprint } from "./cli/fingerprint.js";
import { addGraph } from "./cli/graph.js";
import { addInit } from "./cli/init.js";
import { addPlot } from "./cli/plot.js";
import { addReport } from "./cli/report.js";
import { err } from "./cli/style.js";
import { withExamples } from "./cli/text.js";
import { addWhy } from "./cli/why.js";
import { addWorker } from "./cli/worker.js";

const require = createRequire(import.meta.url);
const { version } = require("../package.json") as { version: string };

const program = new Command()
  .name("memopipe")
  .description("Typed data pipelines: tools for memopipe projects")
  .version(version)
  // commander's own mistakes ("unknown option '--x'"): one line, coloured where stderr is a terminal
  .configureOutput({ outputError: (text, write) => write(err.red(text.replace(/^error: /, "memopipe: "))) })
  .exitOverride();
withExamples(program, [
  ["memopipe init", "a starter stages file, and what to run next"],
  ["memopipe why", "what the last run did: hits, re-runs and why"],
  ["memopipe fingerprint", "hash every stage with the code it uses"],
  ["memopipe cache stats", "entries and bytes, per stage"],
  ["memopipe plot results.jsonl --x n --y ms", "chart a sweep's records"],
  ["memopipe graph src/pipeline.ts#dag --out dag.svg", "draw a pipe or a DAG"],
  ["memopipe report", "the last run as one HTML file: graph, timeline, why"],
]);
addInit(program);
addWhy(program);
addFingerprint(program);
addCache(program);
addPlot(program);
addGraph(program);
addReport(program);
addWorker(program);

// the command being run, for the prefix of a mistake: "memopipe cache clear: …"
let running = "memopipe";
program.hook("preAction", (_program, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c; c = c.parent) names.unshift(c.name());
  running = names.join(" ");
});

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // --help, --version (exit 0), or a mistake commander has already printed in one line
    process.exitCode = error.exitCode;
  } else {
    console.error(`${err.red(`${running}:`)} ${describeError(error)}`);
    if (process.env.MEMOPIPE_DEBUG && error instanceof Error && error.stack) console.error(err.dim(error.stack));
    process.exitCode = 1;
  }
}
