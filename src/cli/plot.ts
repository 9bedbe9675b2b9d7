/**
 * `memopipe plot <records>`: chart a sweep's JSON-lines records as SVG (or HTML), rendered without
 * a browser.
 */
import { InvalidArgumentError, type Command } from "commander";
import { extname } from "node:path";
import { requireFile, UsageError } from "./errors.js";
import { out } from "./style.js";
import { count, withExamples } from "./text.js";

const MARKS = ["line", "point", "bar"] as const;

/**
 * Adds `plot` to the program.
 *
 * @example
 * addPlot(new Command("memopipe"));
 */
export function addPlot(program: Command): void {
  const plot = program
    .command("plot")
    .description("chart a sweep's JSON-lines records as SVG (or HTML), rendered without a browser")
    .argument("<records>", "a JSON-lines file, e.g. what memfile wrote")
    .requiredOption("--x <field>", "field on the x axis")
    .requiredOption("--y <field>", "field on the y axis")
    .option("--color <field>", "field that colours the marks (one line per value)")
    .option("--mark <mark>", "line, point or bar", (mark: string) => {
      if (!(MARKS as readonly string[]).includes(mark)) throw new InvalidArgumentError(`--mark must be line, point or bar, got ${mark}`);
      return mark;
    }, "line")
    .option("--title <title>", "chart title")
    .option("--out <file>", "output file (.svg or .html); default: the records file with .svg")
    .action(async (records: string, opts: { x: string; y: string; color?: string; mark: (typeof MARKS)[number]; title?: string; out?: string }) => {
      const target = opts.out ?? records.replace(/\.jsonl?$/i, "") + ".svg";
      const ext = extname(target).toLowerCase();
      if (ext !== ".svg" && ext !== ".html") {
        throw new UsageError(`--out ${target}: the chart is written as SVG (.svg) or as SVG in a web page (.html); other formats (${ext || "no extension"}) are not supported`);
      }
      requireFile(records, "the records file");
      const { plotFile } = await import("../runtime/plot.js");
      const n = await plotFile(records, target, {
        x: opts.x,
        y: opts.y,
        mark: opts.mark,
        ...(opts.color ? { color: opts.color } : {}),
        ...(opts.title ? { title: opts.title } : {}),
      });
      console.log(`${out.green("wrote")} ${target} (${count(n, "record")})`);
    });
  withExamples(plot, [
    ["memopipe plot results.jsonl --x classSize --y estProba", "writes results.svg"],
    ["memopipe plot results.jsonl --x n --y ms --color backend --mark point", "one colour per backend"],
    ["memopipe plot results.jsonl --x n --y ms --out chart.html", "the chart in a web page"],
  ]);
}
