/**
 * The output formats of the reporting commands (`why`, `cache ls`, `cache stats`): lines for
 * people (the default), `--json` (one JSON document alone on stdout; logs go to stderr) or
 * `--format md` (Markdown, also appended to `$GITHUB_STEP_SUMMARY` when that is set, so a CI step
 * shows it on its summary page).
 */
import { appendFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { UsageError } from "./errors.js";

/** What the user asked for. */
export type OutputFormat = "text" | "json" | "md";

/**
 * Adds `--json` and `--format text|json|md` to a command.
 *
 * @example
 * withOutputFormats(program.command("why"));
 */
export function withOutputFormats(command: Command): Command {
  return command
    .option("--json", "one JSON document on stdout, for programs (same as --format json)")
    .addOption(new Option("--format <format>", "text (default), json, or md: Markdown, also appended to $GITHUB_STEP_SUMMARY when set").choices(["text", "json", "md"]));
}

/**
 * The format the options ask for.
 *
 * @example
 * outputFormat({ json: true }); // "json"
 */
export function outputFormat(opts: { json?: boolean; format?: string }): OutputFormat {
  if (opts.json && opts.format !== undefined && opts.format !== "json") throw new UsageError(`--json and --format ${opts.format} ask for two formats: give one`);
  return opts.json ? "json" : ((opts.format as OutputFormat | undefined) ?? "text");
}

/**
 * Prints Markdown on stdout, and appends it to the file `$GITHUB_STEP_SUMMARY` names, if any.
 *
 * @example
 * printMarkdown(whyMarkdown(run));
 */
export function printMarkdown(markdown: string, env: NodeJS.ProcessEnv = process.env): void {
  process.stdout.write(markdown);
  const summary = env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, markdown.endsWith("\n") ? `${markdown}\n` : `${markdown}\n\n`);
}
