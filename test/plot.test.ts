import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp.js";
import { chartSpec, readRecords, renderSvg } from "../src/runtime/plot.js";

/** Birthday-paradox-like records: 3 simulation counts × 5 class sizes. */
function records() {
  return [100, 1000, 10000].flatMap((nSim) =>
    [5, 10, 20, 30, 40].map((classSize) => ({ nSim, classSize, estProba: 1 - Math.exp(-(classSize * (classSize - 1)) / 730) })),
  );
}

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe("plot", () => {
  it("renders an SVG line chart with one line per colour value and a point per record", async () => {
    const svg = await renderSvg(records(), { x: "classSize", y: "estProba", color: "nSim" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    // Vega's SVG labels every mark for accessibility: one line mark per series, one point per record
    expect(count(svg, /aria-roledescription="line mark"/g)).toBe(3);
    expect(count(svg, /aria-roledescription="point"/g)).toBe(15);
    for (const label of ["100", "1000", "10000", "classSize", "estProba", "nSim"]) expect(svg).toContain(`>${label}<`);
  });

  it("chooses quantitative axes for numeric fields and refuses an unknown field", () => {
    const spec = chartSpec(records(), { x: "classSize", y: "estProba" }) as { encoding: { x: { type: string } } };
    expect(spec.encoding.x.type).toBe("quantitative");
    expect(() => chartSpec(records(), { x: "size", y: "estProba" })).toThrow("no record has the field 'size' (fields: nSim, classSize, estProba)");
  });

  it("memopipe plot writes the chart from a JSON-lines file", async () => {
    const dir = tempDir("memopipe-plot-");
    const input = path.join(dir, "results.jsonl");
    writeFileSync(input, records().map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await readRecords(input)).toHaveLength(15);
    const cli = path.resolve(import.meta.dirname, "..", "dist", "cli.js");
    const out = execFileSync(process.execPath, [cli, "plot", input, "--x", "classSize", "--y", "estProba", "--color", "nSim"], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(out).toContain("results.svg (15 records)");
    expect(readFileSync(path.join(dir, "results.svg"), "utf8").startsWith("<svg")).toBe(true);
    execFileSync(process.execPath, [cli, "plot", input, "--x", "classSize", "--y", "estProba", "--out", path.join(dir, "chart.html")]);
    expect(readFileSync(path.join(dir, "chart.html"), "utf8")).toMatch(/^<!doctype html>[\s\S]*<svg/);
  });

  it("memopipe plot reports a mistake in one line, without a stack trace", async () => {
    const dir = tempDir("memopipe-plot-");
    const input = path.join(dir, "r.jsonl");
    writeFileSync(input, '{"a":1,"b":2}\n');
    const cli = path.resolve(import.meta.dirname, "..", "dist", "cli.js");
    let stderr = "";
    try {
      execFileSync(process.execPath, [cli, "plot", input, "--x", "nope", "--y", "b"], { encoding: "utf8", stdio: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    } catch (error) {
      stderr = String((error as { stderr?: string }).stderr);
      expect((error as { status?: number }).status).toBe(1);
    }
    rmSync(dir, { recursive: true, force: true });
    expect(stderr.trim()).toBe("memopipe plot: no record has the field 'nope' (fields: a, b)");
  });
});
