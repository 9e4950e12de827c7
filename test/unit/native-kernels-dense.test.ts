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
import { initBackends, randomValues, relativeError, TOLERANCE } from "./native-kernels-harness.js";

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

/** Loss and gradients of every trainable weight after one forward/backward pass, and the kernels it ran. */
async function lossAndGradients(backend: "cpu" | "wasm", hiddenActivation: "relu" | "tanh", initial: Float32Array[], images: Float32Array) {
  await tf.setBackend(backend);
  const model = multilayerNet(hiddenActivation);
  if (initial.length === 0) model.getWeights().forEach((w) => initial.push(w.dataSync().slice() as Float32Array));
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(initial[i]!, w.shape)));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 2], "int32"), 3), model.apply(tf.tensor(images, [6, 4, 4, 2]), { training: true }) as tf.Tensor) as tf.Scalar,
      variables,
    );
    const flat = [value.dataSync().slice(), ...variables.map((v) => grads[v.name]!.dataSync().slice())].flatMap((a) => Array.from(a));
    tf.dispose([value, ...Object.values(grads)]);
    return tf.tensor1d(flat);
  });
  const result = profile.result as tf.Tensor;
  const values = result.dataSync().slice() as Float32Array;
  result.dispose();
  model.dispose();
  await tf.setBackend("wasm");
  return { values, kernels: profile.kernels.map((k) => k.name) };
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
