/**
 * tfjs-layers' Conv2D without bias or activation routed to the plain conv2d op on wasm
 * (worker/engine/conv-layer.ts): the loss and every gradient of a BatchNorm conv net match
 * tfjs-layers' own code on the cpu backend, and the first layer's input gradient, which nothing
 * uses, is no longer computed.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { routeUnbiasedConv2D } from "../../worker/engine/conv-layer.js";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { registerProjectWasmKernels } from "../../worker/engine/wasm-kernels/index.js";
import { Random } from "../../worker/engine/rng.js";
import { initBackends, randomValues, relativeError, TOLERANCE, trainingPassOn } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  // As the engine sets wasm up: the project's kernels, and the native ones where the addon built.
  registerProjectWasmKernels();
  registerNativeKernels();
  assert.equal(routeUnbiasedConv2D(() => tf.getBackend() === "wasm"), true);
});

const random = Random.derive(21, ["conv-layer"]);

function convNet(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: "same", useBias: false }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: "relu" }),
      tfl.layers.conv2d({ filters: 5, kernelSize: 3, padding: "valid", useBias: false }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: "relu" }),
      // With a bias and an activation: tfjs-layers' own path, left alone.
      tfl.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2, padding: "same", activation: "relu" }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  });
}

function lossAndGradients(backend: "cpu" | "wasm", initial: Float32Array[], images: Float32Array) {
  return trainingPassOn(backend, convNet, initial, { values: images, shape: [4, 6, 6, 2] }, { classes: [0, 1, 2, 1], count: 3 });
}

test("a BatchNorm conv net: the same loss and gradients as tfjs-layers on cpu, and no input gradient for the first layer", async () => {
  const images = randomValues(random, [4, 6, 6, 2]);
  const initial: Float32Array[] = [];
  const expected = await lossAndGradients("cpu", initial, images);
  const actual = await lossAndGradients("wasm", initial, images);
  const error = relativeError(actual.values, expected.values);
  assert.ok(error < TOLERANCE, `relative error ${error}`);
  // Unrouted, every convolution computes its input gradient (the fused op's customGrad does so
  // eagerly): three on cpu. Routed, the first layer's is skipped.
  const backpropInput = (kernels: string[]) => kernels.filter((name) => name === "Conv2DBackpropInput").length;
  assert.equal(backpropInput(expected.kernels), 3);
  assert.equal(backpropInput(actual.kernels), 2);
});
