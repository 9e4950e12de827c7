/**
 * Pruned Dense layers on the sparse kernels (sparse-dense.ts over native/src/sparse_conv.c): the
 * output, input gradient and masked kernel gradient of every model's Dense shapes at 50%, 90%,
 * 99%, 99.9% sparsity and with every weight kept, against the dense computation on the cpu
 * backend; that the sparse kernels really ran (weights outside the mask are ignored); that results
 * repeat bit for bit; and masked SGD training of a pruned MLP equal to the dense path's.
 */
import { afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { attachMask } from "../../worker/engine/weight-masks.js";
import { registerProjectWasmKernels } from "../../worker/engine/wasm-kernels/index.js";
import { MaskedSgd } from "../../worker/engine/sgd.js";
import { Random } from "../../worker/engine/rng.js";
import { initBackends, randomValues, relativeError, TOLERANCE, valuesOn } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  registerProjectWasmKernels();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
});

afterEach(() => {
  delete process.env.SWAMP_SPARSE_BELOW;
});

const random = Random.derive(17, ["native-sparse-dense"]);

interface DenseCase {
  label: string;
  inputs: number;
  units: number;
  activation: "relu" | "linear";
}

/** Every Dense layer of the registered models on 28×28×1 inputs with 10 classes. */
const MODEL_CASES: DenseCase[] = [
  { label: "lenet-300-100 fc1", inputs: 784, units: 300, activation: "relu" },
  { label: "lenet-300-100 fc2", inputs: 300, units: 100, activation: "relu" },
  { label: "lenet-300-100 fc3", inputs: 100, units: 10, activation: "linear" },
  { label: "lenet-5 fc1", inputs: 400, units: 120, activation: "relu" },
  { label: "lenet-5 fc2", inputs: 120, units: 84, activation: "relu" },
  { label: "lenet-5 fc3", inputs: 84, units: 10, activation: "linear" },
  { label: "conv-2 fc1", inputs: 14 * 14 * 64, units: 256, activation: "relu" },
  { label: "conv-4 fc1", inputs: 7 * 7 * 128, units: 256, activation: "relu" },
  { label: "conv-6 fc1", inputs: 3 * 3 * 256, units: 256, activation: "relu" },
  { label: "conv-n fc2", inputs: 256, units: 256, activation: "relu" },
  { label: "conv-n fc3", inputs: 256, units: 10, activation: "linear" },
  { label: "resnet-20 fc", inputs: 64, units: 10, activation: "linear" },
];

const KEPT_FRACTIONS = [0.5, 0.1, 0.01, 0.001, 1];

/** A built Dense layer with these weights, the mask attached to its kernel when given. */
function denseLayer(c: DenseCase, kernel: Float32Array, bias: Float32Array, mask?: Float32Array): tfl.layers.Layer {
  const layer = tfl.layers.dense({ units: c.units, activation: c.activation, inputShape: [c.inputs] });
  layer.build([null, c.inputs]);
  layer.setWeights([tf.tensor(kernel, [c.inputs, c.units]), tf.tensor(bias, [c.units])]);
  if (mask) attachMask(layer.getWeights()[0]!, tf.tensor(mask, [c.inputs, c.units]));
  return layer;
}

/** Output, input gradient, kernel gradient and bias gradient under the cotangent dy, flattened. */
function denseAndGradients(c: DenseCase, layer: tfl.layers.Layer, x: Float32Array, dy: Float32Array, batch: number): tf.Tensor {
  const input = tf.variable(tf.tensor(x, [batch, c.inputs]));
  const cotangent = tf.tensor(dy, [batch, c.units]);
  const y = layer.apply(input) as tf.Tensor;
  const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, cotangent)), [input, kernel!, bias!]);
  const result = tf.concat([tf.reshape(y, [-1]), tf.reshape(grads[input.name]!, [-1]), tf.reshape(grads[kernel!.name]!, [-1]), tf.reshape(grads[bias!.name]!, [-1])]);
  input.dispose();
  layer.weights.forEach((weight) => weight.dispose());
  return result;
}

function randomMask(size: number, kept: number): Float32Array {
  return kept === 1 ? new Float32Array(size).fill(1) : Float32Array.from({ length: size }, () => (random.next() < kept ? 1 : 0));
}

async function checkCase(c: DenseCase, kept: number, batch: number): Promise<void> {
  const size = c.inputs * c.units;
  const mask = randomMask(size, kept);
  const kernel = randomValues(random, [size]).map((v, i) => v * mask[i]!);
  const bias = randomValues(random, [c.units]);
  const x = randomValues(random, [batch * c.inputs]);
  const dy = randomValues(random, [batch * c.units]);
  // The reference: dense on cpu, its kernel gradient masked as the optimiser would mask it.
  const expected = await valuesOn("cpu", () => {
    const all = denseAndGradients(c, denseLayer(c, kernel, bias), x, dy, batch);
    const kernelAt = batch * (c.units + c.inputs);
    return tf.concat([tf.slice(all, 0, kernelAt), tf.mul(tf.slice(all, kernelAt, size), tf.tensor(mask)), tf.slice(all, kernelAt + size)]);
  });
  process.env.SWAMP_SPARSE_BELOW = "1.01";
  const actual = await valuesOn("wasm", () => denseAndGradients(c, denseLayer(c, kernel, bias, mask), x, dy, batch));
  const error = relativeError(actual.values, expected.values);
  assert.ok(error < TOLERANCE, `${c.label} ${c.inputs}→${c.units}, batch ${batch}, kept ${kept}: relative error ${error}`);
  const kernelGradient = actual.values.subarray(batch * (c.units + c.inputs), batch * (c.units + c.inputs) + size);
  mask.forEach((m, i) => {
    if (m === 0) assert.ok(kernelGradient[i] === 0, `${c.label}: kernel gradient at pruned position ${i} is ${kernelGradient[i]}`);
  });
}

test("every model's Dense layers at 50/90/99/99.9% sparsity and unpruned: output and gradients match the dense cpu result", async () => {
  for (const c of MODEL_CASES) for (const kept of KEPT_FRACTIONS) await checkCase(c, kept, 8);
});

test("batch sizes off the kernels' 64-float chunks (1, 3, 65, 130)", async () => {
  for (const batch of [1, 3, 65, 130]) await checkCase(MODEL_CASES[1]!, 0.1, batch);
});

test("weights outside the mask are ignored: the sparse kernels really ran, forward and in evaluation", async () => {
  const c = MODEL_CASES[0]!;
  const size = c.inputs * c.units;
  const mask = Float32Array.from({ length: size }, (_, i) => (i % 13 === 0 ? 1 : 0));
  const kernel = randomValues(random, [size]);
  const bias = randomValues(random, [c.units]);
  const x = randomValues(random, [4 * c.inputs]);
  const masked = await valuesOn("cpu", () => denseLayer(c, kernel.map((v, i) => v * mask[i]!), bias).apply(tf.tensor(x, [4, c.inputs])) as tf.Tensor);
  process.env.SWAMP_SPARSE_BELOW = "1.01";
  const sparse = await valuesOn("wasm", () => denseLayer(c, kernel, bias, mask).apply(tf.tensor(x, [4, c.inputs]), { training: false }) as tf.Tensor);
  const error = relativeError(sparse.values, masked.values);
  assert.ok(error < TOLERANCE, `relative error ${error} against the masked kernel`);
});

/** A pruned LeNet-300-100-like MLP trained a few masked SGD steps; its weights, flattened. */
async function trainMlp(sparseBelow: string, kept: number): Promise<Float32Array> {
  process.env.SWAMP_SPARSE_BELOW = sparseBelow;
  const shapes: Array<[number, number]> = [[196, 60], [60, 20], [20, 10]];
  const local = Random.derive(5, ["sparse-dense-mlp", String(kept)]);
  const initial = shapes.map(([i, o]) => randomValues(local, [i * o]).map((v) => v * 0.2));
  const masks = shapes.map(([i, o]) => Float32Array.from({ length: i * o }, () => (local.next() < kept ? 1 : 0)));
  const x = randomValues(local, [32 * 196]);
  const labels = Array.from({ length: 32 }, () => local.nextInt(10));
  const result = await valuesOn("wasm", () => {
    const input = tfl.input({ shape: [196] });
    let h = tfl.layers.dense({ units: 60, activation: "relu" }).apply(input) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 20, activation: "relu" }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 10 }).apply(h) as tfl.SymbolicTensor });
    const kernels = model.layers.slice(1).map((layer) => layer.trainableWeights[0]!.read() as tf.Variable);
    kernels.forEach((kernel, i) => kernel.assign(tf.tensor(initial[i]!, shapes[i]!)));
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const maskTensors = variables.map((v) => {
      const at = kernels.indexOf(v);
      return at < 0 ? undefined : tf.tensor(masks[at]!, shapes[at]!);
    });
    const optimizer = new MaskedSgd(variables, maskTensors, { momentum: 0.9, weightDecay: 5e-4 });
    const oneHot = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
    for (let step = 0; step < 4; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(oneHot, model.apply(tf.tensor(x, [32, 196]), { training: true }) as tf.Tensor) as tf.Scalar, variables);
        optimizer.step(variables.map((v) => grads[v.name]!), 0.1);
      });
    }
    const flat = tf.concat(variables.map((v) => tf.reshape(v, [-1])));
    optimizer.dispose();
    return flat;
  });
  return result.values;
}

test("masked SGD on a pruned MLP: the sparse path trains to the dense path's weights, pruned weights stay 0, and repeats bit for bit", async () => {
  for (const kept of [0.1, 0.01]) {
    const dense = await trainMlp("0", kept);
    const sparse = await trainMlp("1.01", kept);
    const again = await trainMlp("1.01", kept);
    const error = relativeError(sparse, dense);
    assert.ok(error < TOLERANCE, `kept ${kept}: relative error ${error}`);
    assert.deepEqual(again, sparse, `kept ${kept}: a second sparse run differs`);
    dense.forEach((value, i) => {
      if (value === 0) assert.ok(sparse[i] === 0, `kept ${kept}: weight ${i} is ${sparse[i]} where the dense path has 0`);
    });
  }
});
