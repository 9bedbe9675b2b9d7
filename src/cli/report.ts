/**
 * `memopipe report`: one self-contained HTML file for a run: the graph coloured by hit / re-ran /
 * failed, the timeline, why each stage re-ran (with the diff), the cache per stage, and a sweep's
 * results and chart.
 */
import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { describePart } from "../runtime/graph/describe.js";
import { partOf } from "../runtime/graph/parts.js";
import { collectReport, type SweepData } from "../runtime/report/collect.js";
import { renderReport } from "../runtime/report/html.js";
import { escapeText } from "../runtime/why.js";
import { requireDirectory, requireFile, UsageError } from "./errors.js";
import { loadExport } from "./load-module.js";
import { err } from "./style.js";
import { count, human, withExamples } from "./text.js";
import { DIR_OPTION, noCacheDir } from "./why.js";

interface ReportOptions {
  dir: string;
  run?: string;
  out: string;
  graph?: string;
  records?: string;
  x?: string;
  y?: string;
  color?: string;
  title?: string;
}

/**
 * Adds `report` to the program.
 *
 * @example
 * addReport(new Command("memopipe"));
 */
export function addReport(program: Command): void {
  const report = program
    .command("report")
    .description("one self-contained HTML file for a run: graph, timeline, why each stage re-ran (with the diff), cache per stage")
    .option(...DIR_OPTION)
    .option("--run <id>", "the run (default: the last one)")
    .option("--out <file>", "the HTML file to write", "report.html")
    .option("--graph <module>", "draw the pipeline's own graph (module#export, as memopipe graph takes) instead of the one the events give")
    .option("--records <file>", "a sweep's JSON-lines records, shown as a table (and charted with --x and --y)")
    .option("--x <field>", "the chart's x field (with --records)")
    .option("--y <field>", "the chart's y field (with --records)")
    .option("--color <field>", "the field that colours the chart's marks")
    .option("--title <title>", "the report's title")
    .action(async (opts: ReportOptions) => {
      requireDirectory(opts.dir, noCacheDir(opts.dir));
      if ((opts.x === undefined) !== (opts.y === undefined) || (opts.x !== undefined && !opts.records)) {
        throw new UsageError("a chart needs --records with both --x and --y");
      }
      let graph;
      if (opts.graph) {
        const { value } = await loadExport(opts.graph);
        const part = partOf(value);
        if (!part) throw new UsageError(`${opts.graph} is not a pipeline, a DAG or a stage made by memopipe`);
        graph = describePart(part);
      }
      const sweep = opts.records ? await sweepData(opts) : undefined;
      const data = await collectReport(opts.dir, { ...(opts.run !== undefined ? { run: opts.run } : {}), ...(graph ? { graph } : {}), ...(sweep ? { sweep } : {}) });
      if (opts.run !== undefined && data.run === undefined) throw new UsageError(`no run '${escapeText(opts.run)}' in ${opts.dir}/events.jsonl`);
      const html = await renderReport(data, opts.title !== undefined ? { title: opts.title } : {});
      await writeFile(opts.out, html);
      console.error(`${err.green("wrote")} ${opts.out} (run ${escapeText(data.run ?? "none")}, ${count(data.events.length, "stage run")}, ${human(Buffer.byteLength(html))})`);
    });
  withExamples(report, [
    ["memopipe report", "the last run, to report.html"],
    ["memopipe report --run run-3 --out run-3.html", "another run"],
    ["memopipe report --graph src/pipeline.ts#imaging", "with the pipeline's own graph"],
    ["memopipe report --records results.jsonl --x n --y ms", "a sweep's results and chart"],
  ]);
}

async function sweepData(opts: ReportOptions): Promise<SweepData> {
  requireFile(opts.records!, "the records file");
  const { readRecords, renderSvg } = await import("../runtime/plot.js");
  const records = await readRecords(opts.records!);
  if (opts.x === undefined || opts.y === undefined || records.length === 0) return { source: opts.records!, records };
  const chart = await renderSvg(records, { x: opts.x, y: opts.y, ...(opts.color ? { color: opts.color } : {}) });
  return { source: opts.records!, records, chart };
}
