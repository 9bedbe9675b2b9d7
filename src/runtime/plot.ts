import { readFile, writeFile } from "node:fs/promises";
import { MemopipeError } from "./errors.js";
import { importOptional } from "./optional-package.js";

/** How to chart a sweep's records. */
export interface ChartOptions {
  /** Field on the x axis. */
  readonly x: string;
  /** Field on the y axis. */
  readonly y: string;
  /** Field that colours the marks (one line per value). */
  readonly color?: string;
  /** `line` (with points; the default), `point` or `bar`. */
  readonly mark?: "line" | "point" | "bar";
  readonly title?: string;
}

/**
 * Reads a JSON-lines file of records (what `memfile` writes). Blank lines are skipped; a line that
 * does not parse is an error naming the line.
 *
 * @example
 * const records = await readRecords("results.jsonl");
 */
export async function readRecords(path: string): Promise<Record<string, unknown>[]> {
  const lines = (await readFile(path, "utf8")).split("\n");
  const records: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      throw new MemopipeError(`${path}:${i + 1} is not a JSON line`);
    }
  });
  return records;
}

/**
 * The Vega-Lite specification of a chart of `records`. A field whose values are all numbers is
 * quantitative, otherwise nominal (so `nSim: 100` draws one line per simulation count only when
 * it is the colour, which is nominal by definition).
 *
 * @example
 * chartSpec(records, { x: "classSize", y: "estProba", color: "nSim" })
 */
export function chartSpec(records: readonly Record<string, unknown>[], options: ChartOptions): Record<string, unknown> {
  for (const field of [options.x, options.y, ...(options.color ? [options.color] : [])]) {
    if (!records.some((r) => field in r)) {
      const known = [...new Set(records.flatMap((r) => Object.keys(r)))].join(", ");
      throw new MemopipeError(`no record has the field '${field}' (fields: ${known || "none"})`);
    }
  }
  const kind = (field: string) => (records.every((r) => typeof r[field] === "number" || r[field] === undefined) ? "quantitative" : "nominal");
  const mark = options.mark ?? "line";
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(options.title ? { title: options.title } : {}),
    width: 480,
    height: 320,
    data: { values: records },
    mark: mark === "line" ? { type: "line", point: true } : { type: mark },
    encoding: {
      x: { field: options.x, type: kind(options.x) },
      y: { field: options.y, type: kind(options.y) },
      ...(options.color ? { color: { field: options.color, type: "nominal" } } : {}),
    },
  };
}

/**
 * Renders records as an SVG chart, server-side (Vega-Lite compiled to Vega, rendered by Vega's
 * headless SVG renderer: no browser). Vega and Vega-Lite are optional peer dependencies, loaded on
 * first use: without them this throws `MissingPackageError` with the command that installs them.
 *
 * @example
 * const svg = await renderSvg(await readRecords("results.jsonl"), { x: "classSize", y: "estProba", color: "nSim" });
 */
export async function renderSvg(records: readonly Record<string, unknown>[], options: ChartOptions): Promise<string> {
  const [vega, vl] = await Promise.all([
    importOptional<typeof import("vega")>("plot", "vega"),
    importOptional<typeof import("vega-lite")>("plot", "vega-lite"),
  ]);
  const compiled = vl.compile(chartSpec(records, options) as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes a chart of a JSON-lines file: SVG, or HTML (the SVG in a page) when `out` ends in `.html`.
 * Returns the number of records drawn.
 *
 * @example
 * await plotFile("results.jsonl", "results.svg", { x: "classSize", y: "estProba", color: "nSim" });
 */
export async function plotFile(input: string, out: string, options: ChartOptions): Promise<number> {
  const records = await readRecords(input);
  if (records.length === 0) throw new MemopipeError(`${input} has no records to plot`);
  const svg = await renderSvg(records, options);
  const html = `<!doctype html>\n<meta charset="utf-8">\n<title>${escapeHtml(options.title ?? input)}</title>\n${svg}\n`;
  await writeFile(out, out.endsWith(".html") ? html : svg);
  return records.length;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
