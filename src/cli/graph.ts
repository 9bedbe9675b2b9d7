/**
 * `memopipe graph <module>[#export]`: draw a pipe or a DAG as Mermaid, DOT, SVG, HTML or JSON,
 * optionally coloured by a run's hits, re-runs and failures (`--run`).
 */
import { Option, type Command } from "commander";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describePart } from "../runtime/graph/describe.js";
import { renderDot } from "../runtime/graph/dot.js";
import { renderMermaid } from "../runtime/graph/mermaid.js";
import type { PipelineGraph } from "../runtime/graph/model.js";
import { partOf } from "../runtime/graph/parts.js";
import { withRun } from "../runtime/graph/run-status.js";
import { readRun } from "../runtime/report/runs.js";
import { escapeText } from "../runtime/why.js";
import { requireDirectory, UsageError } from "./errors.js";
import { loadExport } from "./load-module.js";
import { err, out } from "./style.js";
import { withExamples } from "./text.js";
import { noCacheDir } from "./why.js";

export const GRAPH_FORMATS = ["mermaid", "dot", "svg", "json", "html"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

const BY_EXTENSION: Record<string, GraphFormat> = { ".mmd": "mermaid", ".mermaid": "mermaid", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".json": "json", ".html": "html", ".htm": "html" };

interface GraphOptions {
  format?: GraphFormat;
  json?: boolean;
  out?: string;
  run?: string | true;
  dir?: string;
  direction: "LR" | "TB";
}

/**
 * Adds `graph` to the program.
 *
 * @example
 * addGraph(new Command("memopipe"));
 */
export function addGraph(program: Command): void {
  const graph = program
    .command("graph")
    .description("draw a pipe or a DAG (steps, memory, forks, sub-pipelines; stages, inputs, fan-ins) as Mermaid, DOT, SVG, HTML or JSON")
    .argument("<module>", "a module and the export to draw: src/pipeline.ts#imaging (TypeScript needs tsx installed)")
    .addOption(new Option("--format <format>", "mermaid, dot, svg, json or html (default: from --out's extension, else mermaid)").choices(GRAPH_FORMATS))
    .option("--json", "the graph as JSON (same as --format json)")
    .option("--out <file>", "write to this file instead of stdout")
    .option("--run [id]", "colour the stages by what they did in the last run (or in run <id>)")
    .option("--dir <dir>", "the cache directory --run reads (default: the stages' own, else .memopipe)")
    .addOption(new Option("--direction <dir>", "LR (left to right) or TB (top to bottom)").choices(["LR", "TB"]).default("LR"))
    .action(async (address: string, opts: GraphOptions) => {
      const format = opts.json ? "json" : (opts.format ?? (opts.out ? BY_EXTENSION[path.extname(opts.out).toLowerCase()] : undefined) ?? "mermaid");
      const { value } = await loadExport(address);
      const part = partOf(value);
      if (!part) throw new UsageError(`${address} is not a pipeline, a DAG or a stage made by memopipe`);
      let g = describePart(part);
      if (opts.run !== undefined) g = colourByRun(g, opts);
      const text = await renderGraph(g, format, opts.direction, address);
      if (opts.out) {
        await writeFile(opts.out, text);
        console.error(`${err.green("wrote")} ${opts.out} (${format}, ${g.nodes.length} nodes)`);
      } else process.stdout.write(text);
    });
  withExamples(graph, [
    ["memopipe graph src/pipeline.ts#imaging", "Mermaid on stdout (paste it in Markdown)"],
    ["memopipe graph src/pipeline.ts#imaging --out dag.svg", "an SVG picture (Graphviz in WebAssembly)"],
    ["memopipe graph dist/train.js --run --format dot", "DOT, stages coloured by the last run"],
    ["memopipe graph src/pipeline.ts --json | jq '.nodes[].label'", "the graph as data"],
  ]);
}

function colourByRun(g: PipelineGraph, opts: GraphOptions): PipelineGraph {
  const stageDir = g.nodes.find((n) => n.stage?.cacheDir !== undefined)?.stage?.cacheDir;
  const dir = opts.dir ?? stageDir ?? ".memopipe";
  requireDirectory(dir, noCacheDir(dir));
  const id = opts.run === true ? undefined : opts.run;
  const r = readRun(dir, id);
  if (id !== undefined && r.run === undefined) throw new UsageError(`no run '${escapeText(id)}' in ${dir}/events.jsonl`);
  if (r.run === undefined) console.error(out.yellow(`no run recorded in ${dir} yet: every stage is drawn as not run`));
  return withRun(g, r.events, r.run);
}

/**
 * The graph in one of the formats (SVG and HTML load `@viz-js/viz` on first use).
 *
 * @example
 * await renderGraph(describe(g), "mermaid", "LR", "src/pipeline.ts");
 */
export async function renderGraph(g: PipelineGraph, format: GraphFormat, direction: "LR" | "TB", title: string): Promise<string> {
  switch (format) {
    case "mermaid":
      return renderMermaid(g, { direction: direction === "TB" ? "TD" : "LR" });
    case "dot":
      return renderDot(g, { direction });
    case "json":
      return `${JSON.stringify(g, null, 2)}\n`;
    case "svg":
    case "html": {
      const { renderGraphSvg, graphPage } = await import("../runtime/graph/svg.js");
      const svg = await renderGraphSvg(g, { direction });
      return format === "svg" ? svg : graphPage(svg, title);
    }
  }
}
