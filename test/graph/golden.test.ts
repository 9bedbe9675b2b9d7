/**
 * The examples' graphs as Mermaid, DOT, JSON and SVG, compared byte for byte with the files in
 * test/golden/ (the same definition always gives the same bytes). `UPDATE_GOLDEN=1` rewrites them
 * after a deliberate change; review the diff.
 */
import { describe as suite, expect, it } from "vitest";
import { describe } from "../../src/index.js";
import { renderDot } from "../../src/runtime/graph/dot.js";
import { renderMermaid } from "../../src/runtime/graph/mermaid.js";
import { withRun } from "../../src/runtime/graph/run-status.js";
import { renderGraphSvg } from "../../src/runtime/graph/svg.js";
import { imagingRun } from "../fixtures/imaging-run.js";
import { expectGolden } from "../helpers/golden.js";
import { imagingPipeline } from "../../examples/imaging/pipeline.js";
import { train } from "../../examples/mnist-training.js";

suite("golden graphs of the examples", () => {
  const imaging = imagingPipeline(".memopipe", ".").describe();
  const mnist = describe(train);

  it("imaging DAG: Mermaid, DOT, JSON", () => {
    expectGolden("imaging.mmd", renderMermaid(imaging));
    expectGolden("imaging.dot", renderDot(imaging));
    expectGolden("imaging.json", `${JSON.stringify(imaging, null, 2)}\n`);
  });

  it("mnist pipe (memory, a sub-pipeline with an async fork): Mermaid, DOT, JSON", () => {
    expectGolden("mnist.mmd", renderMermaid(mnist));
    expectGolden("mnist.dot", renderDot(mnist));
    expectGolden("mnist.json", `${JSON.stringify(mnist, null, 2)}\n`);
  });

  it("imaging DAG coloured by a run: hit, re-ran, failed", () => {
    const coloured = withRun(imaging, imagingRun, "run-4");
    expect(coloured.nodes.filter((n) => n.run).map((n) => [n.label, n.run!.status])).toEqual([
      ["load", "hit"],
      ["denoise", "hit"],
      ["mask", "re-ran"],
      ["measure", "failed"],
    ]);
    expectGolden("imaging-run.mmd", renderMermaid(coloured));
    expectGolden("imaging-run.dot", renderDot(coloured));
  });

  it("SVG (Graphviz in WebAssembly): the same bytes every time, one group per node with its class", async () => {
    const svg = await renderGraphSvg(withRun(imaging, imagingRun, "run-4"));
    expect(await renderGraphSvg(withRun(imaging, imagingRun, "run-4"))).toBe(svg);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<g id="[^"]*" class="node mp&#45;stage[^"]*"/g)).toHaveLength(4);
    expect(svg).toContain('class="node mp&#45;stage mp&#45;failed"');
    expectGolden("imaging-run.svg", svg);
  });
});
