/**
 * One built model and the plumbing the SWAMP steps need around it: its weight layout, seeded
 * initialisation, and reading and writing all weights by position. A thread builds one session per
 * config and reuses it across tasks by writing weights, so no task leaks tensors into the next.
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { ExperimentConfig, ModelInit } from "../../schema/config.js";
import { DEFAULT_MODEL_INIT, initialise } from "../models/initialisers.js";
import { describeWeights } from "../models/inspect.js";
import { fuseBatchNormRelu } from "./native-kernels/batchnorm-layer.js";
import { getModel } from "../models/registry.js";
import { Random } from "./rng.js";
import type { WeightEntry, WeightLayout, WeightValues } from "./weights.js";
import { checkWeightsMatchLayout } from "./weights.js";

/** tfjs-layers' LayerVariable, reduced to what the engine touches. */
interface LayerVariableLike {
  originalName: string;
  shape: number[];
  trainable: boolean;
  read(): tf.Variable;
  write(value: tf.Tensor): void;
}

/** BatchNorm running averages during training, as PyTorch's default (0.1 update weight). */
const BATCH_NORM_MOMENTUM = 0.9;

export class ModelSession {
  readonly layout: WeightLayout;
  private readonly layerVariables: LayerVariableLike[];
  /** Positions of trainable entries, in `model.trainableWeights` order. */
  readonly trainablePositions: number[];
  readonly batchNormLayers: Array<tfl.layers.Layer & { momentum: number }>;

  constructor(
    readonly model: tfl.LayersModel,
    unprunableLayers: readonly string[],
  ) {
    this.layerVariables = model.weights as unknown as LayerVariableLike[];
    const entries: WeightEntry[] = describeWeights(model, { unprunableLayers }).map((weight, i) => ({
      name: this.layerVariables[i]!.originalName,
      layer: weight.layer,
      shape: weight.shape,
      size: weight.size,
      trainable: weight.trainable,
      prunable: weight.prunable,
      role: ROLES[weight.role] ?? "other",
    }));
    this.layout = { entries, prunable: entries.flatMap((e, i) => (e.prunable ? [i] : [])) };
    this.trainablePositions = entries.flatMap((e, i) => (e.trainable ? [i] : []));
    this.batchNormLayers = model.layers.filter((l) => l.getClassName() === "BatchNormalization") as Array<tfl.layers.Layer & { momentum: number }>;
    for (const layer of this.batchNormLayers) layer.momentum = BATCH_NORM_MOMENTUM;
    fuseBatchNormRelu(model);
  }

  static build(config: ExperimentConfig, inputShape: [number, number, number], numClasses: number): ModelSession {
    const definition = getModel(config.model.name);
    const model = definition.build({ inputShape, numClasses, batchNorm: config.model.batchNorm });
    return new ModelSession(model, definition.unprunableLayers ?? []);
  }

  get hasBatchNorm(): boolean {
    return this.batchNormLayers.length > 0;
  }

  /** The tf.Variables of the trainable weights, in trainable order. */
  trainableVariables(): tf.Variable[] {
    return this.trainablePositions.map((p) => this.layerVariables[p]!.read());
  }

  variableAt(position: number): tf.Variable {
    return this.layerVariables[position]!.read();
  }

  readWeights(): WeightValues {
    return this.layerVariables.map((v) => Float32Array.from(v.read().dataSync() as Float32Array));
  }

  writeWeights(values: WeightValues): void {
    checkWeightsMatchLayout(values, this.layout, "writeWeights");
    this.layerVariables.forEach((variable, i) => {
      const value = tf.tensor(values[i]!, this.layout.entries[i]!.shape, "float32");
      variable.write(value);
      value.dispose();
    });
  }

  /** Seeded initialisation by the config's `model.init` (worker/models/initialisers.ts). */
  initialWeights(seed: number, init: ModelInit = DEFAULT_MODEL_INIT): WeightValues {
    return initialise(init, this.layout.entries, Random.derive(seed, ["init"]));
  }

  dispose(): void {
    this.model.dispose();
  }
}

const ROLES: Record<string, WeightEntry["role"]> = {
  kernel: "kernel",
  bias: "bias",
  gamma: "gamma",
  beta: "beta",
  moving_mean: "moving-mean",
  moving_variance: "moving-variance",
};
