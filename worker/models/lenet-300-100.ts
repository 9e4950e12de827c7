/** LeNet-300-100 (LeCun et al. 1998; the lottery-ticket MLP): flatten, 300 ReLU, 100 ReLU, logits. */
import * as tfl from "@tensorflow/tfjs-layers";
import type { ModelBuildOptions, ModelDefinition } from "./model.js";
import { checkBuildOptions } from "./build-options.js";

function build(options: ModelBuildOptions): tfl.LayersModel {
  checkBuildOptions("lenet-300-100", options);
  const input = tfl.input({ shape: options.inputShape, name: "input" });
  let x = tfl.layers.flatten({ name: "flatten" }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 300, activation: "relu", name: "fc1" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 100, activation: "relu", name: "fc2" }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: options.numClasses, name: "fc3" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: "lenet-300-100" });
}

export const lenet300100: ModelDefinition = { name: "lenet-300-100", build };
