/**
 * tfjs-layers' Dense with a ReLU routed to the native fused kernel in training: the loss and every
 * gradient of a small multilayer net, against tfjs-layers' own code on the cpu backend; and the
 * layers the routing must leave alone.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { DENSE_RELU } from "../../worker/engine/native-kernels/dense-layer.js";
import { Random } from "../../worker/engine/rng.js";
import { initBackends, randomValues, relativeError, TOLERANCE, trainingPassOn } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
});

const random = Random.derive(13, ["native-dense"]);

function multilayerNet(hiddenActivation: "relu" | "tanh"): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 2] }),
      tfl.layers.dense({ units: 24, activation: hiddenActivation }),
      tfl.layers.dense({ units: 12, activation: "relu" }),
      tfl.layers.dense({ units: 5, useBias: false, activation: "relu" }),
      tfl.layers.dense({ units: 3 }),
    ],
  });
}

function lossAndGradients(backend: "cpu" | "wasm", hiddenActivation: "relu" | "tanh", initial: Float32Array[], images: Float32Array) {
  return trainingPassOn(backend, () => multilayerNet(hiddenActivation), initial, { values: images, shape: [6, 4, 4, 2] }, { classes: [0, 1, 2, 1, 0, 2], count: 3 });
}

test("a training pass through Dense+ReLU layers: the same loss and gradients as tfjs-layers on cpu", async () => {
  const images = randomValues(random, [6, 4, 4, 2]);
  const initial: Float32Array[] = [];
  const cpu = await lossAndGradients("cpu", "relu", initial, images);
  const wasm = await lossAndGradients("wasm", "relu", initial, images);
  assert.equal(wasm.kernels.filter((k) => k === DENSE_RELU).length, 2, "both biased ReLU layers should use the fused kernel (the unbiased one must not)");
  assert.ok(!cpu.kernels.includes(DENSE_RELU));
  const error = relativeError(wasm.values, cpu.values);
  assert.ok(error < TOLERANCE, `loss and gradients: relative error ${error}`);
});

test("Dense layers with other activations keep tfjs-layers' own code", async () => {
  const images = randomValues(random, [6, 4, 4, 2]);
  const initial: Float32Array[] = [];
  const cpu = await lossAndGradients("cpu", "tanh", initial, images);
  const wasm = await lossAndGradients("wasm", "tanh", initial, images);
  assert.equal(wasm.kernels.filter((k) => k === DENSE_RELU).length, 1, "only the biased ReLU layer should use the fused kernel");
  const error = relativeError(wasm.values, cpu.values);
  assert.ok(error < TOLERANCE, `loss and gradients: relative error ${error}`);
});
