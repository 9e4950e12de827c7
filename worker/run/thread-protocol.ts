/** Messages between the local runner and its task threads. */
import type { ExperimentConfig } from "../../schema/config.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { LoadedDataset } from "../data/dataset.js";
import type { BackendInfo } from "../engine/backend.js";
import type { TaskProgress } from "../engine/context.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import type { TfjsModelFiles } from "../formats/tfjs-model.js";
import type { TaskInput, TaskOutput } from "../tasks/types.js";

export interface TaskThreadData {
  config: ExperimentConfig;
  /** Backed by SharedArrayBuffers: every thread reads the same memory. */
  dataset: LoadedDataset;
  backend?: string;
  /** Int32Array over it; a non-zero value asks every running task to stop. */
  stopFlag: SharedArrayBuffer;
}

export type ToThread =
  | { type: "task"; id: number; input: TaskInput }
  | { type: "export"; id: number; weights: WeightValues };

export type FromThread =
  | { type: "ready"; backend: BackendInfo; layout: WeightLayout }
  | { type: "metrics"; id: number; points: MetricPoint[] }
  | { type: "progress"; id: number; progress: TaskProgress }
  | { type: "done"; id: number; output: TaskOutput }
  | { type: "exported"; id: number; files: TfjsModelFiles }
  | { type: "failed"; id: number; error: { name: string; message: string; stack?: string } }
  | { type: "fatal"; error: { name: string; message: string; stack?: string } };
