/** A stored cycle's model built for this process's TF.js backend: what `swamp profile` and `swamp export` run. */
import { initBackend, type BackendInfo } from "../worker/engine/backend.js";
import { ModelSession } from "../worker/engine/model-session.js";
import type { LoadedDataset } from "../worker/data/dataset.js";
import { loadDataset } from "../worker/run/local-run.js";
import type { ExperimentConfig } from "../schema/config.js";

export interface RunModelContext {
  backend: BackendInfo;
  dataset: LoadedDataset;
  session: ModelSession;
}

/** The backend, the run's data set (its test images and normalisation) and its model, built once per run. */
export async function runModelContext(config: ExperimentConfig, backend?: string): Promise<RunModelContext> {
  const info = await initBackend(backend);
  const dataset = await loadDataset(config);
  return { backend: info, dataset, session: ModelSession.build(config, dataset.inputShape, dataset.numClasses) };
}
