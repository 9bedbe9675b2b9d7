/**
 * `memopipe cache ls | stats | show | gc | clear`: inspect and trim the stage cache. Every subcommand
 * refuses a cache directory that does not exist (rather than report an empty cache, or "cleared").
 */
import type { Command } from "commander";
import { inspect } from "node:util";
import { DirectoryStore } from "../runtime/cache/directory-store.js";
import { escapeText } from "../runtime/why.js";
import { cacheListDocument, cacheStatsDocument, jsonText } from "../runtime/report/machine.js";
import { cacheListMarkdown, cacheStatsMarkdown } from "../runtime/report/markdown.js";
import { requireDirectory, UsageError } from "./errors.js";
import { outputFormat, printMarkdown, withOutputFormats } from "./output-format.js";
import { bytes, count, duration, human, withExamples } from "./text.js";
import { DIR_OPTION, noCacheDir } from "./why.js";

/** The store of an existing cache directory. */
function storeAt(dir: string): DirectoryStore {
  requireDirectory(dir, noCacheDir(dir));
  return new DirectoryStore(dir);
}

const entries = (n: number) => count(n, "entry", "entries");

/**
 * Adds `cache` and its subcommands to the program.
 *
 * @example
 * addCache(new Command("memopipe"));
 */
export function addCache(program: Command): void {
  const cache = program.command("cache").description("inspect and trim the stage cache");
  withExamples(cache, [
    ["memopipe cache stats", "entries and bytes, per stage"],
    ["memopipe cache show register", "the latest entry of a stage: inputs, code, outputs"],
    ["memopipe cache gc --max-size 500MB", "remove the oldest entries beyond 500 MB"],
    ["memopipe cache clear --dir build/.memopipe", "empty a cache directory elsewhere"],
  ]);

  withExamples(
    withOutputFormats(cache.command("ls").description("list the entries: stage, key, created, size, codec").option(...DIR_OPTION)).action(async (opts: { dir: string; json?: boolean; format?: string }) => {
        const format = outputFormat(opts);
        const list = await storeAt(opts.dir).list();
        if (format === "json") return void process.stdout.write(jsonText(cacheListDocument(opts.dir, list)));
        if (format === "md") return printMarkdown(cacheListMarkdown(opts.dir, list));
        for (const e of list) {
          console.log(`${escapeText(e.stage)}\t${e.key.slice(0, 12)}\t${e.createdAt}\t${human(e.outputs.size)}\t${e.outputs.codec}`);
        }
      }),
    [
      ["memopipe cache ls", "every entry of ./.memopipe"],
      ["memopipe cache ls | grep register", "the entries of one stage"],
      ["memopipe cache ls --json | jq '.entries[].bytes'", "the entries as JSON"],
    ],
  );

  withExamples(
    withOutputFormats(cache.command("stats").description("entries and bytes, per stage").option(...DIR_OPTION)).action(async (opts: { dir: string; json?: boolean; format?: string }) => {
        const format = outputFormat(opts);
        const s = await storeAt(opts.dir).stats();
        if (format === "json") return void process.stdout.write(jsonText(cacheStatsDocument(opts.dir, s)));
        if (format === "md") return printMarkdown(cacheStatsMarkdown(opts.dir, s));
        console.log(`${entries(s.entries)}, ${human(s.bytes)}`);
        for (const [stage, v] of Object.entries(s.stages)) console.log(`  ${escapeText(stage)}: ${entries(v.entries)}, ${human(v.bytes)}`);
      }),
    [
      ["memopipe cache stats", "the totals, then one line per stage"],
      ["memopipe cache stats --format md", "a Markdown table (and the CI step summary)"],
    ],
  );

  withExamples(
    cache
      .command("show")
      .description("one entry, as a person reads it: its record (inputs, code, outputs) and its outputs")
      .argument("<stage>", "the stage")
      .argument("[key]", "the entry's key, or its first characters (default: the stage's latest entry)")
      .option(...DIR_OPTION)
      .action(async (stage: string, key: string | undefined, opts: { dir: string }) => {
        const shown = await storeAt(opts.dir).show(stage, key);
        if (!shown) {
          throw new UsageError(
            key === undefined
              ? `stage '${escapeText(stage)}' has no entry in ${opts.dir} (memopipe cache ls lists them)`
              : `stage '${escapeText(stage)}' has no single entry whose key starts with ${escapeText(key)} in ${opts.dir}`,
          );
        }
        // line by line: the layout's newlines stay, anything inside a value is escaped
        const lines = (text: string) => text.split("\n").map(escapeText).join("\n");
        console.log(lines(JSON.stringify(shown.record, null, 2)));
        console.log("outputs:");
        console.log(lines(inspect(shown.outputs, { depth: 4, maxArrayLength: 20, maxStringLength: 200, breakLength: 100 })));
      }),
    [
      ["memopipe cache show register", "the latest entry of stage 'register'"],
      ["memopipe cache show register 9f3a", "the entry whose key starts with 9f3a"],
    ],
  );

  withExamples(
    cache
      .command("gc")
      .description("remove the oldest entries beyond a size, or older than an age")
      .option(...DIR_OPTION)
      .option("--max-size <size>", "keep at most this many bytes (e.g. 500MB)", bytes)
      .option("--max-age <age>", "remove entries older than this (e.g. 30d)", duration)
      .action(async (opts: { dir: string; maxSize?: number; maxAge?: number }) => {
        const r = await storeAt(opts.dir).gc({
          ...(opts.maxSize !== undefined ? { maxBytes: opts.maxSize } : {}),
          ...(opts.maxAge !== undefined ? { maxAgeMs: opts.maxAge } : {}),
        });
        console.log(`removed ${entries(r.removed)}, freed ${human(r.freedBytes)}`);
      }),
    [
      ["memopipe cache gc --max-size 2GiB", "keep the newest 2 GiB"],
      ["memopipe cache gc --max-age 30d", "remove entries older than 30 days"],
    ],
  );

  withExamples(
    cache
      .command("clear")
      .description("remove every entry")
      .option(...DIR_OPTION)
      .action(async (opts: { dir: string }) => {
        await storeAt(opts.dir).clear();
        console.log("cache cleared");
      }),
    [["memopipe cache clear", "remove every entry of ./.memopipe"]],
  );
}
