/**
 * `memopipe why [stage]`: what the last run of cached stages did (hits, re-runs, and why).
 */
import type { Command } from "commander";
import { escapeText, formatWhy, lastRun } from "../runtime/why.js";
import { jsonText, whyDocument } from "../runtime/report/machine.js";
import { whyMarkdown } from "../runtime/report/markdown.js";
import { requireDirectory, UsageError } from "./errors.js";
import { outputFormat, printMarkdown, withOutputFormats } from "./output-format.js";
import { out } from "./style.js";
import { withExamples } from "./text.js";

export const DIR_OPTION = ["--dir <dir>", "the cache directory", ".memopipe"] as const;

/** The message for a cache directory that is not there. */
export const noCacheDir = (dir: string) => `no cache directory at ${dir}: run a cached stage first, or give the cache directory with --dir`;

/**
 * Adds `why` to the program.
 *
 * @example
 * addWhy(new Command("memopipe"));
 */
export function addWhy(program: Command): void {
  const why = withOutputFormats(program
    .command("why")
    .description("what the last run of cached stages did: hits, re-runs and why")
    .argument("[stage]", "only this stage")
    .option(...DIR_OPTION))
    .action(async (stage: string | undefined, opts: { dir: string; json?: boolean; format?: string }) => {
      const format = outputFormat(opts);
      requireDirectory(opts.dir, noCacheDir(opts.dir));
      if (stage !== undefined) {
        const all = await lastRun(opts.dir);
        if (all.run !== undefined && !all.events.some((e) => e.stage === stage)) {
          const names = [...new Set(all.events.map((e) => escapeText(e.stage)))];
          throw new UsageError(`no stage '${escapeText(stage)}' in the last run (its stages: ${names.join(", ")})`);
        }
      }
      const run = await lastRun(opts.dir, stage);
      if (format === "json") return void process.stdout.write(jsonText(whyDocument(opts.dir, run)));
      if (format === "md") return printMarkdown(whyMarkdown(run));
      for (const line of formatWhy(run)) {
        console.log(line.startsWith("hit") ? out.green(line) : line.startsWith("re-ran") ? out.yellow(line) : line);
      }
    });
  withExamples(why, [
    ["memopipe why", "every cached stage of the last run"],
    ["memopipe why register", "only the stage 'register'"],
    ["memopipe why --dir build/.memopipe", "a cache directory elsewhere"],
    ["memopipe why --json", "the run as JSON: structured reasons { kind, name, before, after }"],
    ["memopipe why --format md", "a Markdown table and Mermaid graph (appended to $GITHUB_STEP_SUMMARY in CI)"],
  ]);
}
