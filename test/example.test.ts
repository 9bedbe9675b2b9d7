import { describe, expect, it } from "vitest";
import { PipelineStepError, reasonText } from "memopipe";
import { defaultConfig, train } from "../examples/mnist-training.js";
import { tempDir } from "./helpers/temp.js";

describe("examples/mnist-training", () => {
  it("trains: the loss falls and the test accuracy ends well above chance", async () => {
    const report = await train(defaultConfig);
    expect(report.epochs).toHaveLength(defaultConfig.epochs);
    const losses = report.epochs.map((e) => e.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(report.finalAccuracy).toBeGreaterThan(0.5); // 10 classes: chance is 0.1
    expect(report.optimizer).toContain("sgd");
  });

  it("is reproducible: same config, same report", async () => {
    const a = await train(defaultConfig);
    const b = await train(defaultConfig);
    expect(a.epochs).toEqual(b.epochs);
  });

  it("rejects (never throws synchronously) with the failing step's position and cause", async () => {
    // The first step is synchronous, but the pipeline contains async steps, so it returns a Promise.
    const result = train(null as never);
    expect(result).toBeInstanceOf(Promise);
    const thrown = await result.catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(PipelineStepError);
    expect((thrown as PipelineStepError).step).toBe(1);
    expect((thrown as PipelineStepError).stepName).toBe("createTrainingDependencies");
    expect((thrown as PipelineStepError).cause).toBeInstanceOf(TypeError);
  });
});

describe("examples/imaging-pipeline", () => {
  it("runs cold, then all hits, then re-runs what the changed scan affects", async () => {
    const { writeFileSync, utimesSync } = await import("node:fs");
    const path = await import("node:path");
    const { file, lastRun } = await import("memopipe");
    const { imagingPipeline } = await import("../examples/imaging/pipeline.js");
    const work = tempDir("memopipe-imaging-");
    const cacheDir = path.join(work, ".memopipe");
    const scan = path.join(work, "scan.txt");
    const write = (v: number) => {
      writeFileSync(scan, Array.from({ length: 16 }, (_, i) => (v + i / 32).toFixed(3)).join(" "));
      const past = new Date(Date.now() - 60_000);
      utimesSync(scan, past, past);
    };
    const statuses = async (run: string) => {
      process.env.MEMOPIPE_RUN_ID = run;
      await imagingPipeline(cacheDir, work).run({ scan: file(scan), subject: "s" });
      return Object.fromEntries((await lastRun(cacheDir)).events.map((e) => [e.stage, e.status]));
    };
    try {
      write(0.4);
      expect(await statuses("a")).toEqual({ load: "ran", denoise: "ran", mask: "ran", measure: "ran" });
      expect(await statuses("b")).toEqual({ load: "hit", denoise: "hit", mask: "hit", measure: "hit" });
      write(0.6);
      expect(await statuses("c")).toEqual({ load: "ran", denoise: "ran", mask: "ran", measure: "ran" });
      const reasons = (await lastRun(cacheDir, "load")).events[0]!.reasons;
      expect(reasons.map(reasonText)).toEqual([`file \`${scan}\` changed`]);
    } finally {
      delete process.env.MEMOPIPE_RUN_ID;
    }
  });
});

describe("examples/birthday-sweep", () => {
  it("runs the grid on worker threads, logs every point and plots them", async () => {
    const { execFileSync } = await import("node:child_process");
    const { readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const root = path.resolve(import.meta.dirname, "..");
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/birthday-sweep.ts"], { cwd: root, encoding: "utf8" });
    expect(out).toContain("30 points in");
    expect(out).toContain("0 failed");
    const p = Number(/P\(shared birthday \| 23 people\) ≈ (\d\.\d+)/.exec(out)?.[1]);
    expect(Math.abs(p - 0.507)).toBeLessThan(0.03);
    const lines = readFileSync(path.join(root, "examples/.work/birthday/results.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(30);
    expect(Object.keys(JSON.parse(lines[0]!)).sort()).toEqual(["classSize", "estProba", "nSim", "timeTaken"]);
    expect(readFileSync(path.join(root, "examples/.work/birthday/results.svg"), "utf8")).toMatch(/^<svg[\s\S]*aria-roledescription="line mark"/);
  }, 60_000);
});
