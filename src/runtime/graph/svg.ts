/**
 * A graph as SVG, laid out by Graphviz compiled to WebAssembly (`@viz-js/viz`, MIT): no binary,
 * no browser, no network. `@viz-js/viz` is an optional peer dependency, loaded on first use
 * (`import "memopipe"` never loads it).
 */
import { MemopipeError } from "../errors.js";
import { renderDot, type DotOptions } from "./dot.js";
import type { PipelineGraph } from "./model.js";

/** What `@viz-js/viz` is installed with: the range of package.json's peer dependency. */
export const VIZ_RANGE = "^3.31.0";

interface Viz {
  renderString(dot: string, options: { format: "svg"; engine?: string }): string;
}

let viz: Promise<Viz> | undefined;

/**
 * The `@viz-js/viz` instance (one per process: its WebAssembly module is compiled once).
 *
 * @example
 * const svg = (await loadViz()).renderString("digraph { a -> b }", { format: "svg" });
 */
export function loadViz(): Promise<Viz> {
  viz ??= (async () => {
    // a specifier in a variable: bundlers leave the optional package out (see optional-package)
    const specifier = "@viz-js/viz";
    let mod: { instance(): Promise<Viz> };
    try {
      mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as typeof mod;
    } catch (error) {
      viz = undefined;
      const code = (error as { code?: unknown } | null)?.code;
      if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && String((error as Error).message).includes("@viz-js/viz")) {
        throw new MemopipeError(`install @viz-js/viz to draw SVG (memopipe graph --format svg|html, memopipe report, renderGraphSvg): npm install @viz-js/viz@${VIZ_RANGE}`, { cause: error });
      }
      throw error;
    }
    return mod.instance();
  })();
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
