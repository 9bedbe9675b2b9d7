/**
 * A graph as Mermaid (`flowchart`): what GitHub, GitLab and most Markdown viewers draw from a
 * ```` ```mermaid ```` block. Node shapes say the kind (a stadium for the input and output, a
 * cylinder for a memory slot, a hexagon for a fork, a trapezoid for merge/to/flatten, a
 * subroutine box for a stage), dotted edges are memory (store, ingest), sub-pipelines are
 * subgraphs; with a run (`withRun`), stages are coloured by status.
 *
 * Every label is written as a quoted string whose special characters are entity codes
 * (`#quot;`, `#60;`…), after control and bidirectional characters are made visible (`escapeText`):
 * nothing a user named can end a label, start a directive or reorder the text.
 */
import { escapeText } from "../why.js";
import { layoutOrder, runLabel, type ClusterTree } from "./layout-order.js";
import type { GraphEdge, GraphNode, PipelineGraph, RunStatus } from "./model.js";
import { STATUS_COLOURS, STATUS_ORDER } from "./run-status.js";

/**
 * Options of `renderMermaid`.
 *
 * @example
 * renderMermaid(graph, { direction: "TD" });
 */
export interface MermaidOptions {
  /** `LR` (left to right, the default) or `TD` (top down). */
  readonly direction?: "LR" | "TD";
}

/**
 * The graph as a Mermaid flowchart (no trailing fence: wrap it in ```` ```mermaid ```` for Markdown).
 *
 * @example
 * console.log(renderMermaid(describe(g)));
 * // flowchart LR
 * //   n0(["inputs"])
 * //   n1[["load"]]
 * //   n0 -->|"scan"| n1 …
 */
export function renderMermaid(graph: PipelineGraph, options: MermaidOptions = {}): string {
  const { nodeId, root } = layoutOrder(graph);
  const lines = [`flowchart ${options.direction ?? "LR"}`];
  const writeTree = (tree: ClusterTree, indent: string) => {
    for (const n of tree.nodes) lines.push(`${indent}${nodeId.get(n.id)}${shape(n)}`);
    for (const child of tree.children) {
      lines.push(`${indent}subgraph c${child.index} ["${mermaidText(child.cluster!.label)}"]`);
      writeTree(child, `${indent}  `);
      lines.push(`${indent}end`);
    }
  };
  writeTree(root, "  ");
  for (const e of graph.edges) lines.push(`  ${nodeId.get(e.from)} ${arrow(e)} ${nodeId.get(e.to)}`);
  const used = STATUS_ORDER.filter((s) => graph.nodes.some((n) => n.run?.status === s));
  for (const s of used) {
    const c = STATUS_COLOURS[s];
    lines.push(`  classDef ${className(s)} fill:${c.fill},stroke:${c.stroke},color:#212529`);
    lines.push(`  class ${graph.nodes.filter((n) => n.run?.status === s).map((n) => nodeId.get(n.id)).join(",")} ${className(s)}`);
  }
  return `${lines.join("\n")}\n`;
}

function className(s: RunStatus): string {
  return s.replace("-", "");
}

function shape(n: GraphNode): string {
  const t = `"${mermaidText(runLabel(n, " · "))}"`;
  switch (n.kind) {
    case "input":
    case "output":
      return `([${t}])`;
    case "store":
      return `[(${t})]`;
    case "fork":
      return `{{${t}}}`;
    case "merge":
    case "to":
    case "flatten":
      return `[/${t}\\]`;
    case "stage":
      return `[[${t}]]`;
    case "step":
      return `[${t}]`;
  }
}

function arrow(e: GraphEdge): string {
  const label = e.label ? `|"${mermaidText(e.label)}"|` : "";
  return e.kind === "store" || e.kind === "ingest" ? `-.->${label}` : `-->${label}`;
}

/**
 * Text for a quoted Mermaid label: control and bidi characters made visible, and every character
 * that Mermaid (or the HTML it makes) could read as syntax written as an entity code.
 *
 * @example
 * mermaidText('say "hi" <b>'); // "say #34;hi#34; #60;b#62;"
 */
export function mermaidText(text: string): string {
  return escapeText(text).replace(/["#&<>`|\\]/g, (c) => `#${c.charCodeAt(0)};`);
}
