/**
 * ResNet-20 for CIFAR (He et al. 2016, §4.2), as open_lth's cifar_resnet_20: conv 16@3×3 + BN + ReLU,
 * three stages of three basic blocks with 16, 32 and 64 channels (stride 2 in the first block of
 * stages 2 and 3), global average pooling, logits. Convolutions have no bias (BatchNorm follows
 * each). A block whose shape changes has a 1×1 stride-2 convolution + BN shortcut, the others an
 * identity shortcut. Any input of at least 1×1 works (same padding; stride 2 rounds up), so
 * 28×28×1 gives 28 → 14 → 7 and 32×32×3 gives 32 → 16 → 8.
 *
 * Layer names: conv, bn, relu; then per block `s{stage}b{block}_` + conv1, bn1, relu1, conv2, bn2,
 * (shortcut_conv, shortcut_bn), add, relu2; then pool, fc.
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { ModelBuildOptions, ModelDefinition } from "./model.js";
import { checkBuildOptions } from "./build-options.js";

const STAGE_CHANNELS = [16, 32, 64] as const;
const BLOCKS_PER_STAGE = 3;

function conv(x: tfl.SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string): tfl.SymbolicTensor {
  return tfl.layers.conv2d({ filters, kernelSize, strides, padding: "same", useBias: false, name }).apply(x) as tfl.SymbolicTensor;
}

function batchNorm(x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  return tfl.layers.batchNormalization({ axis: -1, name }).apply(x) as tfl.SymbolicTensor;
}

function relu(x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  return tfl.layers.activation({ activation: "relu", name }).apply(x) as tfl.SymbolicTensor;
}

function basicBlock(x: tfl.SymbolicTensor, inChannels: number, outChannels: number, stride: number, prefix: string): tfl.SymbolicTensor {
  let y = relu(batchNorm(conv(x, outChannels, 3, stride, `${prefix}conv1`), `${prefix}bn1`), `${prefix}relu1`);
  y = batchNorm(conv(y, outChannels, 3, 1, `${prefix}conv2`), `${prefix}bn2`);
  const shortcut =
    stride !== 1 || inChannels !== outChannels
      ? batchNorm(conv(x, outChannels, 1, stride, `${prefix}shortcut_conv`), `${prefix}shortcut_bn`)
      : x;
  const sum = tfl.layers.add({ name: `${prefix}add` }).apply([y, shortcut]) as tfl.SymbolicTensor;
  return relu(sum, `${prefix}relu2`);
}

function build(options: ModelBuildOptions): tfl.LayersModel {
  checkBuildOptions("resnet-20", options);
  const input = tfl.input({ shape: options.inputShape, name: "input" });
  let x = relu(batchNorm(conv(input, STAGE_CHANNELS[0], 3, 1, "conv"), "bn"), "relu");
  let channels: number = STAGE_CHANNELS[0];
  STAGE_CHANNELS.forEach((stageChannels, stage) => {
    for (let block = 0; block < BLOCKS_PER_STAGE; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      x = basicBlock(x, channels, stageChannels, stride, `s${stage + 1}b${block + 1}_`);
      channels = stageChannels;
    }
  });
  x = tfl.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: options.numClasses, name: "fc" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: "resnet-20" });
}

export const resnet20: ModelDefinition = { name: "resnet-20", build };
