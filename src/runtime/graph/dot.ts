/**
 * A graph as Graphviz DOT: what `dot -Tsvg` (or `@viz-js/viz`, svg.ts) lays out. Shapes say the
 * kind as in the Mermaid output; memory edges are dashed; sub-pipelines are `cluster_` subgraphs;
 * with a run, stage nodes are filled with their status's colour and say it in the label.
 *
 * Node ids are `n0`, `n1`…; every label is a quoted string with `\` and `"` escaped and control
 * and bidirectional characters made visible, so nothing a user named is read as DOT. Each node and
 * cluster also gets an `id` and `class` (kept by Graphviz in its SVG), which the report's browser
 * test and stylesheet use.
 */
import { escapeText } from "../why.js";
import { layoutOrder, runLabelLines, type ClusterTree } from "./layout-order.js";
import type { GraphEdge, GraphNode, PipelineGraph } from "./model.js";
import { STATUS_COLOURS } from "./run-status.js";

/**
 * Options of `renderDot`.
 *
 * @example
 * renderDot(graph, { direction: "TB" });
 */
export interface DotOptions {
  /** `LR` (left to right, the default) or `TB` (top to bottom). */
  readonly direction?: "LR" | "TB";
}

/**
 * The graph in the DOT language.
 *
 * @example
 * writeFileSync("pipeline.dot", renderDot(describe(g)));  // then: dot -Tsvg pipeline.dot
 */
export function renderDot(graph: PipelineGraph, options: DotOptions = {}): string {
  const { nodeId, root } = layoutOrder(graph);
  const lines = [
    "digraph memopipe {",
    `  graph [rankdir=${options.direction ?? "LR"}, fontname="Helvetica,Arial,sans-serif", fontsize=11, nodesep=0.3, ranksep=0.45];`,
    `  node [fontname="Helvetica,Arial,sans-serif", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#495057", penwidth=1.2];`,
    `  edge [fontname="Helvetica,Arial,sans-serif", fontsize=9, color="#495057", fontcolor="#495057", arrowsize=0.7];`,
  ];
  const writeTree = (tree: ClusterTree, indent: string) => {
    for (const n of tree.nodes) lines.push(`${indent}${nodeId.get(n.id)} [${nodeAttributes(n).join(", ")}];`);
    for (const child of tree.children) {
      lines.push(`${indent}subgraph cluster_${child.index} {`);
      lines.push(`${indent}  label=${dotString(child.cluster!.label)}; id=${dotString(`cluster-${child.index}`)}; style="rounded,dashed"; color="#868e96"; fontcolor="#495057";`);
      writeTree(child, `${indent}  `);
      lines.push(`${indent}}`);
    }
  };
  writeTree(root, "  ");
  for (const e of graph.edges) lines.push(`  ${nodeId.get(e.from)} -> ${nodeId.get(e.to)}${edgeAttributes(e)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function nodeAttributes(n: GraphNode): string[] {
  const attrs = [`label=${dotString(runLabelLines(n))}`, `id=${dotString(`node-${n.id}`)}`];
  const classes = [`mp-${n.kind}`];
  switch (n.kind) {
    case "input":
    case "output":
      attrs.push(`shape=oval`, `fillcolor="#f8f9fa"`);
      break;
    case "store":
      attrs.push(`shape=cylinder`, `style=filled`, `fillcolor="#fff9db"`);
      break;
    case "fork":
      attrs.push(`shape=hexagon`, `style=filled`, `fillcolor="#e7f5ff"`);
      break;
    case "merge":
    case "to":
    case "flatten":
      attrs.push(`shape=invtrapezium`, `style=filled`, `fillcolor="#e7f5ff"`);
      break;
    case "stage":
      attrs.push(`shape=box`, `peripheries=${n.stage?.cached ? 2 : 1}`);
      break;
    case "step":
      break;
  }
  if (n.run) {
    const c = STATUS_COLOURS[n.run.status];
    attrs.push(`fillcolor="${c.fill}"`, `color="${c.stroke}"`, `penwidth=2`);
    classes.push(`mp-${n.run.status}`);
    attrs.push(`tooltip=${dotString(`${n.label}: ${c.text}`)}`);
  }
  attrs.push(`class=${dotString(classes.join(" "))}`);
  return attrs;
}

function edgeAttributes(e: GraphEdge): string {
  const attrs: string[] = [];
  if (e.label) attrs.push(`label=${dotString(e.label)}`);
  if (e.kind === "store" || e.kind === "ingest") attrs.push(`style=dashed`, `color="#f08c00"`, `fontcolor="#e67700"`);
  if (e.kind === "input" || e.kind === "output") attrs.push(`color="#868e96"`);
  attrs.push(`class=${dotString(`mp-edge-${e.kind}`)}`);
  return ` [${attrs.join(", ")}]`;
}

/**
 * A DOT quoted string: `\` and `"` escaped, control and bidi characters (a newline too) made
 * visible; several lines (an array) joined by DOT's line break `\n`.
 *
 * @example
 * dotString('a "b"');          // "\"a \\\"b\\\"\""
 * dotString(["load", "hit"]); // "\"load\\nhit\""
 */
export function dotString(text: string | readonly string[]): string {
  const lines = (typeof text === "string" ? [text] : text).map((l) => escapeText(l).replace(/[\\"]/g, (c) => `\\${c}`));
  return `"${lines.join("\\n")}"`;
}
