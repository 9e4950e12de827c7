/** Shared set-up for engine tests: the default backend, a small config and the synthetic data set. */
import { requireExperimentConfig, type ExperimentConfigInput, type ExperimentConfig } from "../../schema/config.js";
import type { LoadedDataset } from "../../worker/data/dataset.js";
import { getDataset } from "../../worker/data/registry.js";
import type { EngineContext } from "../../worker/engine/context.js";
import { initBackend } from "../../worker/engine/backend.js";
import { ModelSession } from "../../worker/engine/model-session.js";

/** The backend `swamp run` uses here (wasm with the project's kernels), so the tests cover that path. */
export async function useDefaultBackend(): Promise<void> {
  await initBackend();
}

export function smallConfig(overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfig {
  return requireExperimentConfig({
    name: "engine-test",
    seed: 3,
    data: { name: "synthetic", trainSubset: 384, testSubset: 200 },
    model: { name: "lenet-300-100" },
    method: { name: "swamp", particles: 2 },
    pruning: { rate: 0.2, cycles: 2 },
    training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 256 },
    swa: { lr: 0.02, startFraction: 0.5 },
    ...overrides,
  });
}

export async function engineContext(config: ExperimentConfig, dataset?: LoadedDataset): Promise<EngineContext> {
  const data = dataset ?? (await getDataset(config.data.name).load({ trainSubset: config.data.trainSubset, testSubset: config.data.testSubset }));
  return { config, dataset: data, session: ModelSession.build(config, data.inputShape, data.numClasses) };
}
