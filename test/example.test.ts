import { describe, expect, it } from "vitest";
import { PipelineStepError } from "memopipe";
import { defaultConfig, train } from "../examples/mnist-training.js";

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
