/**
 * The progress bar's line at every terminal width (src/runtime/runner/progress.ts): the parts go
 * in order of importance, the line never reaches the last column. The bar on a real terminal, and
 * Ctrl-C during it, are in signals.test.ts.
 */
import { describe, expect, it } from "vitest";
import { barLine, formatDuration, progressReporter } from "../src/runtime/runner/progress.js";

const state = { label: "birthday", total: 1000, done: 420, failed: 3, eta: 75, elapsed: 54.2 };

describe("the progress bar's line", () => {
  it("in full on a wide terminal: label, bar, percentage, count with failures, ETA, elapsed", () => {
    const line = barLine(state, 119);
    expect(line).toMatch(/^birthday \[█{17}░{23}\] 42% \| 420\/1000 points, 3 failed \| ETA 1m15s \| 54\.2s$/);
  });

  it("never wider than it is given, at any width, and keeps the count as long as it can", () => {
    for (let width = 0; width <= 160; width++) {
      const line = barLine(state, width);
      expect(line.length, `width ${width}: ${line}`).toBeLessThanOrEqual(width);
      if (width >= "420/1000 points, 3 failed".length) expect(line, `width ${width}`).toContain("420/1000 points, 3 failed");
      if (width >= 37) expect(line, `width ${width}`).toContain("ETA 1m15s");
    }
  });

  it("drops the parts least useful first: elapsed, then the bar, the percentage, the label, the ETA", () => {
    expect(barLine(state, 79)).toBe("birthday [███████░░░░░░░░░] 42% | 420/1000 points, 3 failed | ETA 1m15s | 54.2s");
    expect(barLine(state, 72)).toBe("birthday [███████░░░░░░░░░░] 42% | 420/1000 points, 3 failed | ETA 1m15s");
    expect(barLine(state, 65)).toBe("birthday [████░░░░░░] 42% | 420/1000 points, 3 failed | ETA 1m15s");
    expect(barLine(state, 59)).toBe("birthday 42% | 420/1000 points, 3 failed | ETA 1m15s");
    expect(barLine(state, 49)).toBe("birthday | 420/1000 points, 3 failed | ETA 1m15s");
    expect(barLine(state, 40)).toBe("420/1000 points, 3 failed | ETA 1m15s");
    expect(barLine(state, 30)).toBe("420/1000 points, 3 failed");
    expect(barLine(state, 10)).toBe("420/1000 p");
  });

  it("says done at the end, and ? before the first point", () => {
    expect(barLine({ ...state, done: 1000, failed: 0, eta: 0 }, 79)).toMatch(/\] 100% \| 1000\/1000 points \| done \| 54\.2s$/);
    expect(barLine({ total: 10, done: 0, failed: 0, eta: undefined, elapsed: 0 }, 79)).toMatch(/^\[░+\] 0% \| 0\/10 points \| ETA \? \| 0\.0s$/);
  });

  it("draws on the stream's width, hides the cursor while it draws and shows it again when stopped", () => {
    const chunks: string[] = [];
    const stream = { isTTY: true, columns: 40, write: (s: string) => (chunks.push(s), true) };
    let t = 0;
    const p = progressReporter({ stream }, 10, () => t);
    t = 500;
    p.update(5, 0);
    t = 1000;
    p.update(10, 1);
    p.stop();
    p.stop();
    const out = chunks.join("");
    expect(out.startsWith("\x1b[?25l")).toBe(true);
    expect(out.endsWith("\n\x1b[?25h")).toBe(true);
    expect(out.split("\x1b[?25h")).toHaveLength(2);
    const states = out.split("\r").slice(1).map((s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\n/g, ""));
    for (const s of states) expect(s.length).toBeLessThanOrEqual(39);
    expect(states.at(-1)).toBe("100% | 10/10 points, 1 failed | done");
    expect(states).toContain("[█████░░░░░] 50% | 5/10 points | ETA 1s");
  });

  it("formats durations", () => {
    expect([formatDuration(4.24, true), formatDuration(4.6), formatDuration(125), formatDuration(3780)]).toEqual(["4.2s", "5s", "2m05s", "1h03m"]);
  });
});
