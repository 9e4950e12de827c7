/**
 * What every task handler works with: the filled config, the loaded data set, a built model
 * session (reused across tasks in one thread) and where metrics and progress go.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { LoadedDataset } from "../data/dataset.js";
import type { ModelSession } from "./model-session.js";

export interface EngineContext {
  config: ExperimentConfig;
  dataset: LoadedDataset;
  session: ModelSession;
  emitMetric?: (point: MetricPoint) => void;
  /** Examples trained so far in this task, for progress bars. */
  onProgress?: (progress: TaskProgress) => void;
  signal?: StopSignal;
}

/** Polled between training steps; an AbortSignal satisfies it, and so does a shared-memory flag. */
export interface StopSignal {
  readonly aborted: boolean;
}

export interface TaskProgress {
  epoch: number;
  epochs: number;
  examples: number;
  totalExamples: number;
  loss: number;
}
