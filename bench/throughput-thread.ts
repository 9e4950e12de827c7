/**
 * One throughput measurement in its own thread (so each case gets a fresh backend): trains a model
 * on seeded random data with the engine's own training loop and reports examples/s.
 */
import { parentPort, workerData } from "node:worker_threads";
import { requireExperimentConfig } from "../schema/config.js";
import { initBackend } from "../worker/engine/backend.js";
import { trainingFlopsPerExample } from "../worker/engine/flops.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { Random } from "../worker/engine/rng.js";
import { train } from "../worker/engine/train.js";

export interface ThroughputCase {
  model: string;
  batchNorm: boolean;
  backend: string;
  inputShape: [number, number, number];
  batchSize: number;
  /** Steps measured after the warm-up steps. */
  steps: number;
  warmupSteps: number;
}

export interface ThroughputResult {
  backend: string;
  kernels: string[];
  examplesPerSecond: number;
  gflops: number;
  stepMilliseconds: number[];
}

async function measure(c: ThroughputCase): Promise<ThroughputResult> {
  const info = await initBackend(c.backend);
  const config = requireExperimentConfig({
    name: "bench",
    data: { name: "synthetic" },
    model: { name: c.model, batchNorm: c.batchNorm },
    method: { name: "imp" },
    training: { batchSize: c.batchSize },
  });
  const session = ModelSession.build(config, c.inputShape, 10);
  session.writeWeights(session.initialWeights(0));
  const random = Random.derive(0, ["bench-data"]);
  const count = c.batchSize * (c.steps + c.warmupSteps);
  const size = c.inputShape[0] * c.inputShape[1] * c.inputShape[2];
  const images = Float32Array.from({ length: count * size }, () => random.nextNormal());
  const labels = Int32Array.from({ length: count }, () => random.nextInt(10));
  const stepMilliseconds: number[] = [];
  let last = performance.now();
  train({
    session,
    data: { images, labels, count },
    inputShape: c.inputShape,
    epochs: 1,
    batchSize: c.batchSize,
    momentum: 0.9,
    weightDecay: 1e-4,
    learningRate: () => 0.01,
    order: Random.derive(0, ["bench-order"]),
    onStep: () => {
      const now = performance.now();
      stepMilliseconds.push(now - last);
      last = now;
    },
  });
  const measured = stepMilliseconds.slice(c.warmupSteps);
  const sorted = [...measured].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const examplesPerSecond = (c.batchSize * 1000) / median;
  return { backend: info.name, kernels: info.kernels, examplesPerSecond, gflops: (examplesPerSecond * trainingFlopsPerExample(session.model)) / 1e9, stepMilliseconds: measured };
}

measure(workerData as ThroughputCase).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (error: Error) => parentPort!.postMessage({ ok: false, error: error.message }),
);
