/**
 * `deploy.json`, written beside an exported compact sparse model (model.swsp): what a standalone
 * loader needs besides the weights — the layers in order with the tensors they read, the input's
 * shape and normalisation, and the accuracy the exported model reached on the run's test images,
 * so a loader can check it reproduces it (examples/sparse-loader/).
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { WeightLayout } from "../engine/weights.js";

export const DEPLOYMENT_FORMAT = "swamp-deploy";
export const DEPLOYMENT_VERSION = 1;
export const DEPLOYED_MODEL_FILE = "model.swsp";
export const DEPLOYMENT_MANIFEST_FILE = "deploy.json";

/** A layer as a loader runs it. Only Dense and Flatten are spelled out; others carry their class name. */
export type DeployedLayer =
  | { type: "flatten" }
  | { type: "dense"; kernel: string; bias: string | null; activation: string }
  | { type: "other"; className: string; name: string };

export interface DeploymentManifest {
  format: typeof DEPLOYMENT_FORMAT;
  version: number;
  model: string;
  weights: string;
  configHash: string;
  cycle: number;
  sparsity: number;
  /** [height, width, channels], examples row-major (NHWC). */
  inputShape: [number, number, number];
  numClasses: number;
  /** Inputs are (pixel / 255 − mean[c]) / std[c]. */
  normalisation: { mean: number[]; std: number[] };
  layers: DeployedLayer[];
  /** What the run measured for this model. */
  test: { dataset: string; examples: number; accuracy: number };
}

export function deployedLayers(model: tfl.LayersModel, layout: WeightLayout): DeployedLayer[] {
  const tensorOf = (layer: string, role: string) => layout.entries.find((entry) => entry.layer === layer && entry.role === role)?.name ?? null;
  return model.layers.flatMap((layer): DeployedLayer[] => {
    const className = layer.getClassName();
    if (className === "InputLayer") return [];
    if (className === "Flatten") return [{ type: "flatten" }];
    if (className === "Dense") {
      const config = layer.getConfig() as { activation?: string };
      const kernel = tensorOf(layer.name, "kernel");
      if (!kernel) return [{ type: "other", className, name: layer.name }];
      return [{ type: "dense", kernel, bias: tensorOf(layer.name, "bias"), activation: config.activation ?? "linear" }];
    }
    return [{ type: "other", className, name: layer.name }];
  });
}
