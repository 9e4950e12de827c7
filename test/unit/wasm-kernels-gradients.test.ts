/**
 * Whole training gradients on wasm (project kernels) against cpu: tf.variableGrads of a small MLP
 * and of a small conv net with BatchNorm in training mode, max pooling, a strided and a 1x1
 * convolution and global average pooling, under softmax cross entropy. And one gradient of every
 * registry model on wasm, to show that no kernel a training step needs is missing there.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { MODELS } from "../../worker/models/registry.js";
import { Random } from "../../worker/engine/rng.js";
import { initProjectWasm, randomTensor, relativeError, TOLERANCE, type HostTensor } from "./wasm-kernels-harness.js";

before(async () => {
  await initProjectWasm();
});

function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => (weight as unknown as { read(): tf.Variable }).read());
}

/** Gradients of the mean softmax cross entropy on the current backend, by variable position. */
async function gradients(model: tfl.LayersModel, x: HostTensor, labels: Int32Array, classes: number): Promise<HostTensor[]> {
  const variables = trainableVariables(model);
  const grads = tf.tidy(() => {
    const images = tf.tensor(x.values, x.shape);
    const targets = tf.oneHot(tf.tensor1d(labels, "int32"), classes);
    const { grads: byName } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(targets, model.apply(images, { training: true }) as tf.Tensor) as tf.Scalar, variables);
    return variables.map((v) => byName[v.name]!);
  });
  const values = await Promise.all(grads.map(async (g) => ({ values: (await g.data()) as Float32Array, shape: g.shape })));
  tf.dispose(grads);
  return values;
}

/** Seeded weights for every variable (BatchNorm gammas near 1, variances positive). */
function setSeededWeights(model: tfl.LayersModel, random: Random): void {
  model.setWeights(
    model.weights.map((weight) => {
      const shape = weight.shape as number[];
      const values = randomTensor(random, shape).values;
      if (/gamma|variance/.test(weight.name)) for (let i = 0; i < values.length; i++) values[i] = 1 + 0.5 * values[i]!;
      else for (let i = 0; i < values.length; i++) values[i] = 0.5 * values[i]!;
      return tf.tensor(values, shape);
    }),
  );
}

async function compareGradients(label: string, build: () => tfl.LayersModel, inputShape: number[], classes: number, seed: number): Promise<void> {
  const random = Random.derive(seed, ["wasm-kernels", "gradients", label]);
  const x = randomTensor(random, inputShape);
  const labels = Int32Array.from({ length: inputShape[0]! }, () => random.nextInt(classes));
  await tf.setBackend("cpu");
  const model = build();
  setSeededWeights(model, random);
  const expected = await gradients(model, x, labels, classes);
  await tf.setBackend("wasm");
  const actual = await gradients(model, x, labels, classes);
  assert.equal(actual.length, expected.length);
  expected.forEach((reference, i) => {
    const error = relativeError(actual[i]!, reference);
    assert.ok(error <= TOLERANCE, `${label}: gradient of ${model.trainableWeights[i]!.name} [${reference.shape}] relative error ${error}`);
  });
  const largest = Math.max(...expected.map((g) => Math.max(...Array.from(g.values, Math.abs))));
  assert.ok(largest > 1e-3, `${label}: gradients are all near zero, so the comparison proves nothing`);
  model.dispose();
}

test("a small MLP's gradients match between wasm and cpu", async () => {
  await compareGradients(
    "mlp",
    () => {
      const model = tfl.sequential();
      model.add(tfl.layers.flatten({ inputShape: [6, 6, 1] }));
      model.add(tfl.layers.dense({ units: 32, activation: "relu" }));
      model.add(tfl.layers.dense({ units: 16, activation: "relu" }));
      model.add(tfl.layers.dense({ units: 10 }));
      return model;
    },
    [24, 6, 6, 1],
    10,
    1,
  );
});

test("a small conv net's gradients (BatchNorm in training mode, pooling, strided and 1x1 convolutions) match between wasm and cpu", async () => {
  await compareGradients(
    "conv-bn",
    () => {
      const input = tfl.input({ shape: [12, 12, 3] });
      let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }).apply(input) as tfl.SymbolicTensor;
      x = tfl.layers.batchNormalization({ axis: -1 }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.activation({ activation: "relu" }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as tfl.SymbolicTensor;
      const branch = tfl.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: "same", useBias: false }).apply(x) as tfl.SymbolicTensor;
      const shortcut = tfl.layers.conv2d({ filters: 12, kernelSize: 1, strides: 2, padding: "same", useBias: false }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.add().apply([tfl.layers.batchNormalization({ axis: -1 }).apply(branch) as tfl.SymbolicTensor, shortcut]) as tfl.SymbolicTensor;
      x = tfl.layers.activation({ activation: "relu" }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.conv2d({ filters: 6, kernelSize: 5, padding: "valid", activation: "relu" }).apply(tfl.layers.zeroPadding2d({ padding: 2 }).apply(x) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
      x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
      const logits = tfl.layers.dense({ units: 5 }).apply(x) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: logits });
    },
    [16, 12, 12, 3],
    5,
    2,
  );
});

test("every registry model computes finite, non-zero training gradients on wasm", async () => {
  await tf.setBackend("wasm");
  const random = Random.derive(3, ["wasm-kernels", "registry-models"]);
  const cases: Array<[string, [number, number, number], boolean]> = [
    ["lenet-300-100", [28, 28, 1], false],
    ["lenet-5", [28, 28, 1], false],
    ["conv-2", [32, 32, 3], false],
    ["conv-4", [32, 32, 3], true],
    ["conv-6", [28, 28, 1], true],
    ["resnet-20", [32, 32, 3], true],
    ["resnet-20", [28, 28, 1], true],
  ];
  for (const [name, inputShape, batchNorm] of cases) {
    const model = MODELS[name as keyof typeof MODELS].build({ inputShape, numClasses: 10, batchNorm });
    const batch = 4;
    const grads = await gradients(model, randomTensor(random, [batch, ...inputShape]), Int32Array.from({ length: batch }, () => random.nextInt(10)), 10);
    for (const [i, g] of grads.entries()) {
      assert.ok(g.values.every(Number.isFinite), `${name}: gradient ${i} has non-finite values`);
    }
    assert.ok(grads.every((g) => g.values.some((v) => v !== 0)), `${name}: some weight got an all-zero gradient`);
    model.dispose();
  }
});
