/**
 * What the engine needs to know about a built model, by position: `model.getWeights()` returns
 * `model.weights` in order (all trainable weights layer by layer, then all non-trainable ones, e.g.
 * BatchNorm moving statistics), and weights are matched to layers by object identity. Never by
 * tfjs's weight names: those carry a process-wide counter (`fc1/kernel_3`).
 *
 * Prunable weights are the kernels of Dense and Conv2D layers, except in layers a definition lists
 * as unprunable. Biases and BatchNorm parameters never are.
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { ModelDefinition } from "./model.js";

export const PRUNABLE_LAYER_CLASSES: readonly string[] = ["Dense", "Conv2D"];

export interface WeightInfo {
  /** Position in `model.weights` and `model.getWeights()`. */
  index: number;
  /** The explicit name of the layer holding it. */
  layer: string;
  /** The layer's class, e.g. "Dense", "Conv2D", "BatchNormalization". */
  className: string;
  /** The weight's role in its layer: "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance". */
  role: string;
  shape: number[];
  size: number;
  trainable: boolean;
  prunable: boolean;
}

export interface PrunableWeight {
  index: number;
  layer: string;
  shape: number[];
}

export interface LayerDescription {
  name: string;
  className: string;
  prunableWeightCount: number;
  /** The layer's output shape without the batch dimension, e.g. [300] or [14, 14, 6]. */
  outputShape: number[];
}

export interface ModelDescription {
  layers: LayerDescription[];
  totalPrunable: number;
}

/** Every weight of the model, in `getWeights()` order, with its layer, role and prunability. */
export function describeWeights(model: tfl.LayersModel, definition?: Pick<ModelDefinition, "unprunableLayers">): WeightInfo[] {
  const owner = new Map<tfl.LayerVariable, tfl.layers.Layer>();
  for (const layer of model.layers) {
    for (const weight of layer.weights) owner.set(weight, layer);
  }
  const unprunable = new Set(definition?.unprunableLayers ?? []);
  return model.weights.map((weight, index) => {
    const layer = owner.get(weight);
    if (layer === undefined) throw new Error(`weight ${index} (${weight.originalName}) belongs to no layer of model ${model.name}`);
    const className = layer.getClassName();
    const role = weight.originalName.startsWith(`${layer.name}/`)
      ? weight.originalName.slice(layer.name.length + 1)
      : weight.originalName.slice(weight.originalName.lastIndexOf("/") + 1);
    const shape = weight.shape.map((d) => {
      if (d === null) throw new Error(`weight ${weight.originalName} has an undefined dimension`);
      return d;
    });
    return {
      index,
      layer: layer.name,
      className,
      role,
      shape,
      size: shape.reduce((a, b) => a * b, 1),
      trainable: weight.trainable,
      prunable: PRUNABLE_LAYER_CLASSES.includes(className) && role === "kernel" && !unprunable.has(layer.name),
    };
  });
}

/** Positions, in `getWeights()` order, of the prunable kernels, with their layer names and shapes. */
export function prunableWeightIndices(model: tfl.LayersModel, definition?: Pick<ModelDefinition, "unprunableLayers">): PrunableWeight[] {
  return describeWeights(model, definition)
    .filter((w) => w.prunable)
    .map(({ index, layer, shape }) => ({ index, layer, shape }));
}

/** Every layer with its prunable weight count and output shape, and the model's total prunable count. */
export function describeModel(model: tfl.LayersModel, definition?: Pick<ModelDefinition, "unprunableLayers">): ModelDescription {
  const prunableByLayer = new Map<string, number>();
  for (const weight of describeWeights(model, definition)) {
    if (weight.prunable) prunableByLayer.set(weight.layer, (prunableByLayer.get(weight.layer) ?? 0) + weight.size);
  }
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    prunableWeightCount: prunableByLayer.get(layer.name) ?? 0,
    outputShape: withoutBatch(layer.name, layer.outputShape),
  }));
  return { layers, totalPrunable: layers.reduce((sum, l) => sum + l.prunableWeightCount, 0) };
}

function withoutBatch(layer: string, shape: tfl.Shape | tfl.Shape[]): number[] {
  if (shape.length > 0 && Array.isArray(shape[0])) throw new Error(`layer ${layer} has several outputs`);
  return (shape as tfl.Shape).slice(1).map((d) => {
    if (d === null) throw new Error(`layer ${layer} has an undefined output dimension`);
    return d;
  });
}
