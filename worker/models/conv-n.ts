/**
 * Conv-2, Conv-4 and Conv-6 (Frankle & Carbin 2019, the lottery-ticket VGG-like nets): 3×3
 * same-padding convolutions in blocks of two — 64, 64, pool / 128, 128, pool / 256, 256, pool — for
 * 2, 4 or 6 convolutions, then fc 256, fc 256, logits; ReLU. With `batchNorm`, each convolution
 * (without bias) is followed by BatchNorm and then the ReLU.
 *
 * Layer names: conv1…convN, bn1…bnN and relu1…reluN (with BatchNorm), pool1…, flatten, fc1, fc2, fc3.
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { ModelName } from "../../schema/config.js";
import type { ModelBuildOptions, ModelDefinition } from "./model.js";
import { checkBuildOptions } from "./build-options.js";

const BLOCK_FILTERS = [64, 128, 256] as const;

export function buildConvNet(name: ModelName, convolutions: 2 | 4 | 6, options: ModelBuildOptions): tfl.LayersModel {
  const blocks = convolutions / 2;
  checkBuildOptions(name, options, 2 ** blocks);
  const input = tfl.input({ shape: options.inputShape, name: "input" });
  let x = input;
  let index = 0;
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < 2; i++) {
      index++;
      const filters = BLOCK_FILTERS[block]!;
      if (options.batchNorm) {
        x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: "same", useBias: false, name: `conv${index}` }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.batchNormalization({ axis: -1, name: `bn${index}` }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.activation({ activation: "relu", name: `relu${index}` }).apply(x) as tfl.SymbolicTensor;
      } else {
        x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", name: `conv${index}` }).apply(x) as tfl.SymbolicTensor;
      }
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${block + 1}` }).apply(x) as tfl.SymbolicTensor;
  }
  x = tfl.layers.flatten({ name: "flatten" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 256, activation: "relu", name: "fc1" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 256, activation: "relu", name: "fc2" }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: options.numClasses, name: "fc3" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name });
}

export const conv2: ModelDefinition = { name: "conv-2", build: (options) => buildConvNet("conv-2", 2, options) };
export const conv4: ModelDefinition = { name: "conv-4", build: (options) => buildConvNet("conv-4", 4, options) };
export const conv6: ModelDefinition = { name: "conv-6", build: (options) => buildConvNet("conv-6", 6, options) };
