/** Collects a graph's nodes, edges and clusters in the order they are made (the graph's order). */
import { GRAPH_SCHEMA_VERSION, type GraphCluster, type GraphEdge, type GraphNode, type PipelineGraph } from "./model.js";

/** A node whose value goes on: its id, and the tuple element it is when it ends a fork branch. */
export interface Producer {
  readonly id: string;
  readonly index: readonly number[];
}

/** Collects nodes, edges and clusters in the order they are made (which is the graph's order). */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly edges: GraphEdge[] = [];
  readonly clusters: GraphCluster[] = [];

  node(n: GraphNode): string {
    this.nodes.push(n);
    return n.id;
  }

  edge(e: GraphEdge): void {
    this.edges.push(e);
  }

  /** Flow edges from every producer to `to`, labelled with the tuple element each carries. */
  flow(from: readonly Producer[], to: string, kind: "flow" | "store" = "flow"): void {
    for (const p of from) {
      const label = p.index.map((i) => `[${i}]`).join("");
      this.edge({ from: p.id, to, kind, ...(kind === "store" ? { label: label ? `store ${label}` : "store" } : label ? { label } : {}), ...(p.index.length ? { index: p.index } : {}) });
    }
  }

  graph(kind: "pipe" | "dag"): PipelineGraph {
    return { schemaVersion: GRAPH_SCHEMA_VERSION, kind, nodes: this.nodes, edges: this.edges, clusters: this.clusters };
  }
}

