/**
 * The TF.js layers model (`model.json` + `weights.bin`) of stored weights, made when asked for
 * (a download, an export) instead of stored every cycle: the config's model is built on TF.js's
 * cpu backend in the calling thread, given the weights, and saved to memory. The weights are
 * copied bit for bit, so the files equal those `swamp run` used to write.
 */
import * as tf from "@tensorflow/tfjs-core";
import { DATASET_INPUTS } from "../../schema/prunable-layers.js";
import type { ExperimentConfig } from "../../schema/config.js";
import { ModelSession } from "../engine/model-session.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { exportLayersModel, type TfjsModelFiles } from "./tfjs-model.js";

let cpuReady: Promise<void> | undefined;

/** Only the cpu backend: building and saving a model runs no kernels worth a faster one. */
function useCpuBackend(): Promise<void> {
  cpuReady ??= (async () => {
    await import("@tensorflow/tfjs-backend-cpu");
    if (tf.getBackend() !== "cpu" && !(await tf.setBackend("cpu"))) throw new Error("the TF.js cpu backend failed to initialise");
    // Its first tensor would print advice to install tfjs-node into the server's log: nothing here computes.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  })();
  return cpuReady;
}

/** The weight layout of the config's model (names, shapes, which tensors the mask covers). */
export async function modelLayout(config: ExperimentConfig): Promise<WeightLayout> {
  await useCpuBackend();
  const { inputShape, numClasses } = DATASET_INPUTS[config.data.name];
  const session = ModelSession.build(config, [...inputShape], numClasses);
  session.model.dispose();
  return session.layout;
}

export async function tfjsModelFiles(config: ExperimentConfig, weights: WeightValues): Promise<TfjsModelFiles> {
  await useCpuBackend();
  const { inputShape, numClasses } = DATASET_INPUTS[config.data.name];
  const session = ModelSession.build(config, [...inputShape], numClasses);
  try {
    return await exportLayersModel(session, weights);
  } finally {
    session.model.dispose();
  }
}
