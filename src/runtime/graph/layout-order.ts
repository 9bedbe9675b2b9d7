/**
 * The order the text renderers write a graph in: short ids (`n0`, `n1`… by node order; `c0`… by
 * cluster order, so nothing a user named reaches an identifier), and the nesting of clusters, each
 * cluster's own nodes listed before its sub-clusters.
 */
import type { GraphCluster, GraphNode, PipelineGraph } from "./model.js";

/** A cluster with its nodes and sub-clusters. */
export interface ClusterTree {
  readonly cluster: GraphCluster | undefined;
  readonly index: number;
  readonly nodes: GraphNode[];
  readonly children: ClusterTree[];
}

/**
 * Short ids for the graph's nodes and clusters, and the cluster tree (its root holds the nodes
 * outside every cluster).
 *
 * @example
 * const { nodeId, root } = layoutOrder(graph); nodeId.get("s2/s1"); // "n3"
 */
export function layoutOrder(graph: PipelineGraph): { nodeId: Map<string, string>; root: ClusterTree } {
  const nodeId = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const trees = new Map<string, ClusterTree>();
  graph.clusters.forEach((c, i) => trees.set(c.id, { cluster: c, index: i, nodes: [], children: [] }));
  const root: ClusterTree = { cluster: undefined, index: -1, nodes: [], children: [] };
  for (const c of graph.clusters) (c.parent !== undefined ? (trees.get(c.parent) ?? root) : root).children.push(trees.get(c.id)!);
  for (const n of graph.nodes) (n.cluster !== undefined ? (trees.get(n.cluster) ?? root) : root).nodes.push(n);
  return { nodeId, root };
}

/**
 * A stage node's label with its run: `load` → `load · re-ran 0.41 s` (the caller picks the separator).
 *
 * @example
 * runLabel(node, "\n"); // "load\nre-ran · 0.410 s"
 */
export function runLabel(node: GraphNode, separator: string): string {
  return runLabelLines(node).join(separator);
}

/**
 * A node's label as lines: its label, and with a run its status and time.
 *
 * @example
 * runLabelLines(node); // ["load", "re-ran · 0.410 s"]
 */
export function runLabelLines(node: GraphNode): string[] {
  if (!node.run) return [node.label];
  const r = node.run;
  const n = Object.values(r.counts).reduce((a, b) => a + (b ?? 0), 0);
  const status = r.status === "not-run" ? "not run" : r.status;
  return [node.label, `${status}${n > 1 ? ` (${n} runs)` : ""}${r.status === "not-run" ? "" : ` · ${r.seconds.toFixed(3)} s`}`];
}
