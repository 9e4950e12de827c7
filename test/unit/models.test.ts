import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type * as tfl from "@tensorflow/tfjs-layers";
import { MODEL_NAMES, type ModelName } from "../../schema/config.js";
import { describeModel, describeWeights, prunableWeightIndices } from "../../worker/models/inspect.js";
import { getModel, MODELS } from "../../worker/models/registry.js";

type Shape = [number, number, number];
const MNIST: Shape = [28, 28, 1];
const CIFAR: Shape = [32, 32, 3];

/** Weights of a dense layer and of a k×k convolution, bias included unless said otherwise. */
const dense = (inputs: number, units: number) => inputs * units + units;
const conv = (k: number, inChannels: number, filters: number, bias = true) => k * k * inChannels * filters + (bias ? filters : 0);
/** BatchNorm: gamma, beta, moving mean, moving variance per channel. */
const bn = (channels: number) => 4 * channels;

/** Conv-N trunk: 3×3 convs in pairs of 64, 128, 256 filters. */
function convTrunk(inChannels: number, convolutions: number, batchNorm: boolean): number {
  const filters = [64, 64, 128, 128, 256, 256].slice(0, convolutions);
  let total = 0;
  let previous = inChannels;
  for (const f of filters) {
    total += conv(3, previous, f, !batchNorm) + (batchNorm ? bn(f) : 0);
    previous = f;
  }
  return total;
}
const convHead = (flat: number) => dense(flat, 256) + dense(256, 256) + dense(256, 10);

/** ResNet-20: stem, 3 stages × 3 basic blocks, projection shortcuts where the shape changes, fc. */
function resnet20Params(inChannels: number): number {
  let total = conv(3, inChannels, 16, false) + bn(16);
  let previous = 16;
  for (const channels of [16, 32, 64]) {
    for (let block = 0; block < 3; block++) {
      total += conv(3, previous, channels, false) + bn(channels) + conv(3, channels, channels, false) + bn(channels);
      if (previous !== channels) total += conv(1, previous, channels, false) + bn(channels);
      previous = channels;
    }
  }
  return total + dense(64, 10);
}

interface Case {
  model: ModelName;
  shape: Shape;
  batchNorm: boolean;
  params: number;
}

const CASES: Case[] = [
  { model: "lenet-300-100", shape: MNIST, batchNorm: false, params: dense(784, 300) + dense(300, 100) + dense(100, 10) },
  { model: "lenet-300-100", shape: CIFAR, batchNorm: false, params: dense(3072, 300) + dense(300, 100) + dense(100, 10) },
  // 28 → conv same 28 → pool 14 → conv valid 10 → pool 5: 5·5·16 = 400 features.
  { model: "lenet-5", shape: MNIST, batchNorm: false, params: conv(5, 1, 6) + conv(5, 6, 16) + dense(400, 120) + dense(120, 84) + dense(84, 10) },
  // 32 → 32 → 16 → 12 → 6: 6·6·16 = 576 features.
  { model: "lenet-5", shape: CIFAR, batchNorm: false, params: conv(5, 3, 6) + conv(5, 6, 16) + dense(576, 120) + dense(120, 84) + dense(84, 10) },
  { model: "conv-2", shape: CIFAR, batchNorm: false, params: convTrunk(3, 2, false) + convHead(16 * 16 * 64) },
  { model: "conv-2", shape: MNIST, batchNorm: true, params: convTrunk(1, 2, true) + convHead(14 * 14 * 64) },
  { model: "conv-4", shape: CIFAR, batchNorm: true, params: convTrunk(3, 4, true) + convHead(8 * 8 * 128) },
  { model: "conv-4", shape: MNIST, batchNorm: false, params: convTrunk(1, 4, false) + convHead(7 * 7 * 128) },
  { model: "conv-6", shape: CIFAR, batchNorm: false, params: convTrunk(3, 6, false) + convHead(4 * 4 * 256) },
  // 28 → 14 → 7 → 3 (pooling rounds down).
  { model: "conv-6", shape: MNIST, batchNorm: true, params: convTrunk(1, 6, true) + convHead(3 * 3 * 256) },
  { model: "resnet-20", shape: CIFAR, batchNorm: false, params: resnet20Params(3) },
  { model: "resnet-20", shape: MNIST, batchNorm: false, params: resnet20Params(1) },
];

test.before(async () => {
  await tf.setBackend("cpu");
});

test("the hand arithmetic agrees with the published sizes", () => {
  assert.equal(CASES[0]!.params, 266_610); // LeNet-300-100 on 784 inputs
  assert.equal(CASES[2]!.params, 61_706); // LeNet-5
  assert.equal(resnet20Params(3), 274_042); // 272,474 trainable + 1,568 BatchNorm moving statistics
  assert.equal(convTrunk(3, 2, false) + convHead(16 * 16 * 64), 4_301_642); // Conv-2: 4.3M (Frankle & Carbin)
});

for (const c of CASES) {
  test(`${c.model} on ${c.shape.join("×")}${c.batchNorm ? " with BatchNorm" : ""}: ${c.params} parameters, [batch, classes] logits, prunable kernels by position`, () => {
    const definition = getModel(c.model);
    const model = definition.build({ inputShape: c.shape, numClasses: 10, batchNorm: c.batchNorm });
    try {
      assert.equal(model.countParams(), c.params);
      const logits = tf.tidy(() => model.predict(tf.randomNormal([3, ...c.shape])) as tf.Tensor);
      assert.deepEqual(logits.shape, [3, 10]);
      logits.dispose();
      const last = model.layers[model.layers.length - 1]!;
      assert.equal(last.getClassName(), "Dense");
      assert.equal((last.getConfig() as { activation?: string }).activation, "linear", "the output is logits, not probabilities");
      assertPrunableAreExactlyTheKernels(model, prunableWeightIndices(model, definition));
      const names = model.layers.map((l) => l.name);
      assert.equal(new Set(names).size, names.length, "layer names are unique");
      assert.ok(names.every((n) => /^[a-z0-9_]+$/.test(n)), `explicit names: ${names.join(", ")}`);
    } finally {
      model.dispose();
    }
  });
}

/** Independent check: the prunable positions are the Dense and Conv2D kernels, and nothing else. */
function assertPrunableAreExactlyTheKernels(model: tfl.LayersModel, prunable: ReturnType<typeof prunableWeightIndices>): void {
  const expected: Array<{ index: number; layer: string }> = [];
  model.weights.forEach((weight, index) => {
    const layer = model.layers.find((l) => l.weights.includes(weight))!;
    if (["Dense", "Conv2D"].includes(layer.getClassName()) && weight.originalName === `${layer.name}/kernel`) expected.push({ index, layer: layer.name });
  });
  const kernelLayers = model.layers.filter((l) => ["Dense", "Conv2D"].includes(l.getClassName()));
  assert.equal(expected.length, kernelLayers.length);
  assert.deepEqual(prunable.map(({ index, layer }) => ({ index, layer })), expected);
  // getWeights() returns the variables' own tensors (not copies): they must not be disposed here.
  const values = model.getWeights();
  for (const p of prunable) assert.deepEqual(values[p.index]!.shape, p.shape);
}

test("LeNet-300-100 has the documented layers, sizes and prunable positions", () => {
  const model = getModel("lenet-300-100").build({ inputShape: MNIST, numClasses: 10, batchNorm: false });
  const description = describeModel(model);
  assert.deepEqual(description.layers, [
    { name: "input", className: "InputLayer", prunableWeightCount: 0, outputShape: [28, 28, 1] },
    { name: "flatten", className: "Flatten", prunableWeightCount: 0, outputShape: [784] },
    { name: "fc1", className: "Dense", prunableWeightCount: 235_200, outputShape: [300] },
    { name: "fc2", className: "Dense", prunableWeightCount: 30_000, outputShape: [100] },
    { name: "fc3", className: "Dense", prunableWeightCount: 1_000, outputShape: [10] },
  ]);
  assert.equal(description.totalPrunable, 266_200);
  assert.deepEqual(prunableWeightIndices(model), [
    { index: 0, layer: "fc1", shape: [784, 300] },
    { index: 2, layer: "fc2", shape: [300, 100] },
    { index: 4, layer: "fc3", shape: [100, 10] },
  ]);
  assert.deepEqual(describeModel(model, { unprunableLayers: ["fc3"] }).totalPrunable, 265_200);
  model.dispose();
});

test("weight descriptions are the same however many models the process has built", () => {
  const build = () => getModel("conv-2").build({ inputShape: [8, 8, 1], numClasses: 4, batchNorm: true });
  const first = build();
  const second = build();
  const strip = (m: tfl.LayersModel) => describeWeights(m).map(({ layer, role, shape, trainable, prunable }) => ({ layer, role, shape, trainable, prunable }));
  assert.deepEqual(strip(second), strip(first));
  assert.notEqual(second.weights[0]!.name, first.weights[0]!.name, "tfjs's own weight names differ (a process-wide counter)");
  // conv1 has no bias with BatchNorm; BatchNorm's moving statistics come after every trainable weight.
  assert.deepEqual(strip(first).map((w) => `${w.layer}/${w.role}`), [
    "conv1/kernel", "bn1/gamma", "bn1/beta", "conv2/kernel", "bn2/gamma", "bn2/beta",
    "fc1/kernel", "fc1/bias", "fc2/kernel", "fc2/bias", "fc3/kernel", "fc3/bias",
    "bn1/moving_mean", "bn1/moving_variance", "bn2/moving_mean", "bn2/moving_variance",
  ]);
  assert.deepEqual(first.layers.map((l) => l.name), ["input", "conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "pool1", "flatten", "fc1", "fc2", "fc3"]);
  first.dispose();
  second.dispose();
});

test("ResNet-20 has projection shortcuts exactly where the shape changes and halves the resolution twice", () => {
  const model = getModel("resnet-20").build({ inputShape: CIFAR, numClasses: 10, batchNorm: false });
  const description = describeModel(model);
  const shortcuts = description.layers.filter((l) => l.name.includes("shortcut_conv")).map((l) => l.name);
  assert.deepEqual(shortcuts, ["s2b1_shortcut_conv", "s3b1_shortcut_conv"]);
  const shapeOf = (name: string) => description.layers.find((l) => l.name === name)!.outputShape;
  assert.deepEqual(shapeOf("s1b3_relu2"), [32, 32, 16]);
  assert.deepEqual(shapeOf("s2b3_relu2"), [16, 16, 32]);
  assert.deepEqual(shapeOf("s3b3_relu2"), [8, 8, 64]);
  assert.deepEqual(shapeOf("pool"), [64]);
  assert.equal(description.layers.filter((l) => l.className === "BatchNormalization").length, 21);
  assert.equal(prunableWeightIndices(model).length, 22); // 19 convs on the main path, 2 shortcuts, fc
  model.dispose();
});

test("models refuse inputs they cannot process, and unknown names, with a sentence", () => {
  assert.throws(() => getModel("lenet-5").build({ inputShape: [8, 8, 1], numClasses: 10, batchNorm: false }), /lenet-5: needs inputs of at least 10×10 \(got 8×8\)/);
  assert.throws(() => getModel("conv-6").build({ inputShape: [4, 4, 3], numClasses: 10, batchNorm: false }), /conv-6: needs inputs of at least 8×8/);
  assert.throws(() => getModel("lenet-300-100").build({ inputShape: [28, 28, 1], numClasses: 1, batchNorm: false }), /numClasses must be an integer of at least 2/);
  assert.throws(() => getModel("resnet-20").build({ inputShape: [28, 0, 1], numClasses: 10, batchNorm: false }), /input width must be a positive integer/);
  assert.throws(() => getModel("vgg-16"), /unknown model "vgg-16"; known models: lenet-300-100, lenet-5, conv-2, conv-4, conv-6, resnet-20/);
});

test("every configurable model name has a definition of that name", () => {
  assert.deepEqual(Object.keys(MODELS).sort(), [...MODEL_NAMES].sort());
  for (const name of MODEL_NAMES) assert.equal(getModel(name).name, name);
});
