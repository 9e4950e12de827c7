/**
 * LeNet-5 (LeCun et al. 1998) as usually trained on MNIST: conv 6@5×5 with same padding (so 28×28
 * inputs reach the classic 5×5×16 = 400 features), 2×2 max pool, conv 16@5×5 valid, 2×2 max pool,
 * fc 120, fc 84, logits; ReLU. The first convolution keeps same padding for every input size, so a
 * 32×32 input gives 6×6×16 = 576 features.
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { ModelBuildOptions, ModelDefinition } from "./model.js";
import { checkBuildOptions } from "./build-options.js";

/** After conv1 (same) and pool1 the side must be at least 5 for conv2's 5×5 valid window. */
const MIN_SIDE = 10;

function build(options: ModelBuildOptions): tfl.LayersModel {
  checkBuildOptions("lenet-5", options, MIN_SIDE);
  const input = tfl.input({ shape: options.inputShape, name: "input" });
  let x = tfl.layers.conv2d({ filters: 6, kernelSize: 5, padding: "same", activation: "relu", name: "conv1" }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: "pool1" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 16, kernelSize: 5, padding: "valid", activation: "relu", name: "conv2" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: "pool2" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: "flatten" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 120, activation: "relu", name: "fc1" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 84, activation: "relu", name: "fc2" }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: options.numClasses, name: "fc3" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: "lenet-5" });
}

export const lenet5: ModelDefinition = { name: "lenet-5", build };
