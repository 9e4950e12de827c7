import assert from "node:assert/strict";
import { test } from "node:test";
import { requireExperimentConfig } from "../../schema/config.js";
import { cycleLearningRate } from "../../worker/engine/schedule.js";

const base = { name: "t", data: { name: "synthetic" }, model: { name: "lenet-300-100" } };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test("imp: cosine from the peak to zero over the cycle", () => {
  const config = requireExperimentConfig({ ...base, method: { name: "imp" }, training: { epochs: 10, lr: 0.1 } });
  close(cycleLearningRate(config, 0), 0.1);
  close(cycleLearningRate(config, 5), 0.05);
  close(cycleLearningRate(config, 10), 0);
});

test("SWA methods: cosine to the SWA rate at 75% of the cycle, then constant", () => {
  const config = requireExperimentConfig({ ...base, method: { name: "swamp" }, training: { epochs: 4, lr: 0.1 }, swa: { lr: 0.05 } });
  close(cycleLearningRate(config, 0), 0.1);
  close(cycleLearningRate(config, 1.5), 0.075);
  close(cycleLearningRate(config, 3), 0.05);
  close(cycleLearningRate(config, 3.9), 0.05);
});

test("step and warm-up schedules", () => {
  const step = requireExperimentConfig({ ...base, method: { name: "imp" }, training: { epochs: 10, lr: 0.1, schedule: "step", stepMilestones: [0.5, 0.75], stepGamma: 0.1 } });
  close(cycleLearningRate(step, 4.9), 0.1);
  close(cycleLearningRate(step, 5), 0.01);
  close(cycleLearningRate(step, 8), 0.001);
  const warm = requireExperimentConfig({ ...base, method: { name: "imp" }, training: { epochs: 10, lr: 0.1, warmupEpochs: 2, schedule: "constant" } });
  close(cycleLearningRate(warm, 1), 0.05);
  close(cycleLearningRate(warm, 6), 0.1);
});
