/**
 * The renderers with names chosen to break them: nothing a user named can end a label, start a
 * directive or reorder text in Mermaid, DOT or the SVG; and a 500-stage DAG lays out in one go.
 */
import { describe as suite, expect, it } from "vitest";
import { dag, describe, pipe, stage } from "../../src/index.js";
import { renderDot } from "../../src/runtime/graph/dot.js";
import { renderMermaid } from "../../src/runtime/graph/mermaid.js";
import { renderGraphSvg } from "../../src/runtime/graph/svg.js";

const evil = 'x"]; click n0 "javascript:alert(1)" %%{init}%% <img src=x> `a|b` \\ \n\u202e';

suite("renderers escape every name", () => {
  const s = stage(evil, ({ v }: { v: number }) => ({ w: v }));
  const g = describe(pipe<{ v: number }>().store(evil).step(s));

  it("Mermaid: labels stay quoted strings, specials as entity codes, control and bidi characters visible", () => {
    const text = renderMermaid(g);
    for (const line of text.split("\n").slice(1, -1)) {
      // each line is `id<shape>"label"<shape>` or an edge: the label has no quote, <, >, `, | or newline inside
      const labels = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
      for (const l of labels) expect(l).not.toMatch(/[<>`|\n\u202e]/);
    }
    expect(text).toContain("x#34;]; click n0 #34;javascript:alert(1)#34; %%{init}%% #60;img src=x#62; #96;a#124;b#96; #92; #92;u{a}#92;u{202e}");
    expect(text.split("\n")).toHaveLength(9); // no line break smuggled in
  });

  it("DOT: one quoted string per label", () => {
    const text = renderDot(g);
    const label = text.split("\n").find((l) => l.startsWith("  n2 "))!;
    expect(label).toContain(String.raw`[label="x\"]; click n0 \"javascript:alert(1)\" %%{init}%% <img src=x> ` + "`a|b` " + String.raw`\\ \\u{a}\\u{202e}", id=`);
  });

  it("SVG: the name is text, not markup", async () => {
    const svg = await renderGraphSvg(g);
    expect(svg).not.toContain("<img");
    expect(svg).toContain("&lt;img src=x&gt;");
  });
});

suite("a large DAG", () => {
  it("500 stages: described and laid out as SVG", async () => {
    const first = stage("s0", ({ x }: { x: number }) => ({ x }));
    let g = dag().start(first) as unknown as { edge(f: unknown, t: unknown): typeof g; describe(): ReturnType<typeof describe> };
    let prev: unknown[] = [first];
    for (let i = 1; i < 500; i++) {
      const s = stage(`s${i}`, ({ x }: { x: number }) => ({ x }));
      g = g.edge(prev.length > 2 ? prev.slice(-2) : prev.at(-1), s);
      prev.push(s);
    }
    const graph = g.describe();
    expect(graph.nodes).toHaveLength(502);
    const svg = await renderGraphSvg(graph);
    expect(svg.match(/class="node mp&#45;stage"/g)).toHaveLength(500);
  }, 60_000);
});
