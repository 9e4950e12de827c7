/**
 * What a model definition gives the engine: a tfjs-layers model whose layers carry stable,
 * explicit names (layer names are how `pruning.exclude` and per-layer counts refer to them).
 * The engine initialises every weight itself from the experiment seed, so definitions need not
 * care about initialisers. Prunable weights are the kernels of Dense and Conv2D layers unless a
 * definition says otherwise.
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { ModelName } from "../../schema/config.js";

export interface ModelBuildOptions {
  /** [height, width, channels] */
  inputShape: [number, number, number];
  numClasses: number;
  /** BatchNorm after each convolution (conv-N nets); ignored where a model fixes it. */
  batchNorm: boolean;
}

export interface ModelDefinition {
  name: ModelName;
  build(options: ModelBuildOptions): tfl.LayersModel;
  /** Layer names whose kernels are never pruned by this model's design (e.g. none for LeNet). */
  unprunableLayers?: readonly string[];
}
