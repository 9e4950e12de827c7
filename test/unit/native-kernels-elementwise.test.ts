/**
 * The single-pass kernels that replace chains of TF.js operations in a training step, against the
 * composed operations on the cpu backend: the masked SGD step (native), the ReLU gradient (native)
 * and the mean softmax cross-entropy with its gradient (project wasm kernel).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { registerProjectWasmKernels } from "../../worker/engine/wasm-kernels/index.js";
import { MASKED_SGD_KERNEL, MaskedSgd } from "../../worker/engine/sgd.js";
import { RELU_GRAD_KERNEL } from "../../worker/engine/relu-gradient.js";
import { meanSoftmaxCrossEntropy, SOFTMAX_CROSS_ENTROPY_KERNEL } from "../../worker/engine/loss.js";
import { Random } from "../../worker/engine/rng.js";
import { initBackends, randomValues, relativeError } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  registerProjectWasmKernels();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
  for (const name of [MASKED_SGD_KERNEL, RELU_GRAD_KERNEL, SOFTMAX_CROSS_ENTROPY_KERNEL]) {
    assert.ok(tf.getKernel(name, "wasm"), `${name} is not registered for wasm`);
    assert.equal(tf.getKernel(name, "cpu"), undefined, `${name} should not exist on cpu, whose composed path is the reference`);
  }
});

const random = Random.derive(11, ["native-elementwise"]);

/** Three SGD steps on a masked, an unmasked and a scalar variable; returns weights and velocities. */
async function sgdSteps(backend: "cpu" | "wasm", weightDecay: number, inputs: { weights: Float32Array[]; shapes: number[][]; mask: Float32Array; gradients: Float32Array[][] }): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const variables = inputs.weights.map((w, i) => tf.variable(tf.tensor(w, inputs.shapes[i]!)));
  const masks = [tf.tensor(inputs.mask, inputs.shapes[0]!), undefined, undefined];
  const optimizer = new MaskedSgd(variables, masks, { momentum: 0.9, weightDecay });
  for (const [step, gradients] of inputs.gradients.entries()) {
    tf.tidy(() => optimizer.step(gradients.map((g, i) => tf.tensor(g, inputs.shapes[i]!)), 0.1 / (step + 1)));
  }
  const result = [...variables.map((v) => v.dataSync() as Float32Array), ...optimizer.velocityValues()];
  optimizer.dispose();
  tf.dispose(variables);
  await tf.setBackend("wasm");
  return result;
}

test("masked SGD step: one kernel gives the composed operations' weights and momentum, pruned ones exactly 0", async () => {
  const shapes = [[300, 100], [100], [1]];
  const weights = shapes.map((s) => randomValues(random, s));
  const mask = Float32Array.from({ length: 300 * 100 }, () => (random.next() < 0.3 ? 1 : 0));
  const gradients = [0, 1, 2].map(() => shapes.map((s) => randomValues(random, s)));
  for (const weightDecay of [1e-4, 0]) {
    const expected = await sgdSteps("cpu", weightDecay, { weights, shapes, mask, gradients });
    const actual = await sgdSteps("wasm", weightDecay, { weights, shapes, mask, gradients });
    for (const [i, values] of actual.entries()) {
      const error = relativeError(values, expected[i]!);
      assert.ok(error < 1e-6, `weight decay ${weightDecay}, tensor ${i}: relative error ${error}`);
    }
    for (const masked of [actual[0]!, actual[3]!]) {
      mask.forEach((m, j) => {
        if (m === 0) assert.ok(masked[j] === 0, `pruned position ${j} is ${masked[j]}`);
      });
    }
  }
});

test("ReLU gradient: one kernel gives TF.js's dy·step(x), zeros, negatives and NaN included", async () => {
  const shape = [4, 7, 7, 32];
  const x = randomValues(random, shape);
  for (let i = 0; i < x.length; i += 17) x[i] = 0;
  x[5] = Number.NaN;
  const dy = randomValues(random, shape);
  const gradientOn = async (backend: "cpu" | "wasm") => {
    await tf.setBackend(backend);
    const values = tf.tidy(() => {
      const [dx] = tf.grads((input: tf.Tensor) => tf.relu(input))([tf.tensor(x, shape)], tf.tensor(dy, shape));
      return dx!.dataSync() as Float32Array;
    });
    await tf.setBackend("wasm");
    return values;
  };
  const expected = await gradientOn("cpu");
  const actual = await gradientOn("wasm");
  assert.ok(Number.isNaN(actual[5]!) && Number.isNaN(expected[5]!), "NaN input must give a NaN gradient");
  actual[5] = expected[5] = 0;
  assert.deepEqual(actual, expected);
});

test("mean softmax cross-entropy: loss and gradient as tf.losses.softmaxCrossEntropy's", async () => {
  const rows = 37;
  const classes = 10;
  const logits = randomValues(random, [rows, classes]).map((v) => v * 8);
  const labels = Int32Array.from({ length: rows }, () => random.nextInt(classes));
  const lossAndGradient = async (backend: "cpu" | "wasm") => {
    await tf.setBackend(backend);
    const result = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => meanSoftmaxCrossEntropy(tf.tensor1d(labels, "int32"), l as tf.Tensor2D))(tf.tensor2d(logits, [rows, classes]));
      return { loss: value.dataSync()[0]!, gradient: grad.dataSync() as Float32Array };
    });
    await tf.setBackend("wasm");
    return result;
  };
  const expected = await lossAndGradient("cpu");
  const actual = await lossAndGradient("wasm");
  assert.ok(Math.abs(actual.loss - expected.loss) < 1e-5 * Math.abs(expected.loss), `loss ${actual.loss} vs ${expected.loss}`);
  const error = relativeError(actual.gradient, expected.gradient);
  assert.ok(error < 1e-5, `gradient relative error ${error}`);
});

test("mean softmax cross-entropy refuses a label that is not a class index, naming it", async () => {
  await tf.setBackend("wasm");
  assert.throws(
    () => tf.tidy(() => meanSoftmaxCrossEntropy(tf.tensor1d([1, 10], "int32"), tf.zeros([2, 10]) as tf.Tensor2D)),
    /label 10 of row 1 is not a class index in \[0, 10\)/,
  );
});
