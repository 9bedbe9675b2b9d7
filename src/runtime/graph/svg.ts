/**
 * A graph as SVG, laid out by Graphviz compiled to WebAssembly (`@viz-js/viz`, MIT): no binary,
 * no browser, no network. `@viz-js/viz` is an optional peer dependency, loaded on first use
 * (`import "memopipe"` never loads it; optional-package.ts).
 */
import { importOptional } from "../optional-package.js";
import { renderDot, type DotOptions } from "./dot.js";
import type { PipelineGraph } from "./model.js";

interface Viz {
  renderString(dot: string, options: { format: "svg"; engine?: string }): string;
}

let viz: Promise<Viz> | undefined;

/**
 * The `@viz-js/viz` instance (one per process: its WebAssembly module is compiled once). Without
 * the package, a `MissingPackageError` with the command that installs it.
 *
 * @example
 * const svg = (await loadViz()).renderString("digraph { a -> b }", { format: "svg" });
 */
export function loadViz(): Promise<Viz> {
  viz ??= importOptional<{ instance(): Promise<Viz> }>("svg", "@viz-js/viz").then(
    (mod) => mod.instance(),
    (error: unknown) => {
      viz = undefined; // installed later in a long-lived process: try again then
      throw error;
    },
  );
  return viz;
}

/**
 * The graph as an SVG document (Graphviz `dot` layout of `renderDot`'s output). Nodes and
 * clusters keep their `id` and `class` (`mp-stage mp-hit`…), so a stylesheet or a test can find them.
 *
 * @example
 * writeFileSync("dag.svg", await renderGraphSvg(describe(g)));
 */
export async function renderGraphSvg(graph: PipelineGraph, options: DotOptions = {}): Promise<string> {
  const v = await loadViz();
  const svg = v.renderString(renderDot(graph, options), { format: "svg", engine: "dot" });
  // Graphviz starts with an XML declaration, a DOCTYPE and a comment naming its version: keep the <svg> only
  const at = svg.indexOf("<svg");
  return `${svg.slice(at).trimEnd()}\n`;
}

/**
 * A web page around an SVG: self-contained, with a Content-Security-Policy that forbids every
 * outside load (what `memopipe graph --format html` writes).
 *
 * @example
 * writeFileSync("dag.html", graphPage(await renderGraphSvg(g), "imaging"));
 */
export function graphPage(svg: string, title: string): string {
  const t = escapeHtml(title);
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${t}</title>`,
    "<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#212529}svg{max-width:100%;height:auto}</style>",
    "</head>",
    "<body>",
    `<h1>${t}</h1>`,
    svg.trimEnd(),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
