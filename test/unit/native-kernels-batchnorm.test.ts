/**
 * BatchNorm in training mode on the native kernels against TF.js's own composition on the cpu
 * backend (tf.moments + tf.batchNorm, and tfjs-layers' BatchNormalization): outputs, batch
 * statistics, gradients with respect to x, γ and β, and the moving averages, on every model's
 * BatchNorm shapes; inference with given statistics (FusedBatchNorm) against cpu, including the
 * shapes the native kernel leaves to the wasm one; and MaxPoolGrad against cpu on every model's
 * pooling shapes, ties included.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { isNativeKernelRegistered, registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { fuseBatchNormRelu } from "../../worker/engine/native-kernels/batchnorm-layer.js";
import { RELU_GRAD_KERNEL } from "../../worker/engine/relu-gradient.js";
import { getModel } from "../../worker/models/registry.js";
import { BATCH_NORM_TRAINING } from "../../worker/engine/native-kernels/batchnorm-kernels.js";
import { Random } from "../../worker/engine/rng.js";
import { compareWithCpu, initBackends, randomValues, relativeError, TOLERANCE, valuesOn } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
  assert.ok(status.kernels?.includes("BatchNormalization(training)"), "BatchNormalization is not routed to the native kernels");
});

const random = Random.derive(5, ["native-batchnorm"]);
const EPSILON = 1e-3;

/** Every model's BatchNorm inputs (batch 4): Conv-2/4/6 and ResNet-20 on 28×28 and 32×32, and a dense one. */
const SHAPES: number[][] = [
  [4, 28, 28, 64], [4, 14, 14, 128], [4, 7, 7, 256], [4, 32, 32, 64], [4, 16, 16, 128], [4, 8, 8, 256],
  [4, 28, 28, 16], [4, 14, 14, 32], [4, 7, 7, 64], [4, 32, 32, 16], [4, 16, 16, 32], [4, 8, 8, 64],
  [32, 100], [3, 5, 5, 3],
];

/** Values with a large common offset, where a naive E[x²] − E[x]² would lose the variance. */
function shiftedValues(shape: number[]): Float32Array {
  return randomValues(random, shape).map((v, i) => v * 2 + 10 + (i % 7) * 0.1);
}

/** The batch-norm training computation, by TF.js's ops on cpu and by the native kernel on wasm. */
function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor[] {
  if (tf.getBackend() === "wasm") return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, gamma, beta }, { epsilon: EPSILON }) as tf.Tensor[];
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return [tf.batchNorm(x, mean, variance, beta, gamma, EPSILON), mean, variance];
}

test("forward: output, batch mean and biased variance match TF.js's moments + batchNorm", async () => {
  for (const shape of SHAPES) {
    const channels = shape.at(-1)!;
    const x = shiftedValues(shape);
    const gamma = randomValues(random, [channels]);
    const beta = randomValues(random, [channels]);
    for (const output of [0, 1, 2]) {
      const error = await compareWithCpu(() => batchNormTraining(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta))[output]!);
      assert.ok(error < TOLERANCE, `[${shape}] output ${output}: relative error ${error}`);
    }
  }
});

test("backward: gradients with respect to x, gamma and beta match TF.js's composed gradient", async () => {
  for (const shape of SHAPES) {
    const channels = shape.at(-1)!;
    const x = shiftedValues(shape);
    const gamma = randomValues(random, [channels]);
    const beta = randomValues(random, [channels]);
    const weights = randomValues(random, shape);
    for (const wrt of [0, 1, 2]) {
      const error = await compareWithCpu(() => {
        const loss = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(xs, g, b)[0]!, tf.tensor(weights, shape)));
        return tf.grads(loss)([tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)])[wrt]!;
      });
      assert.ok(error < TOLERANCE, `[${shape}] gradient ${["x", "gamma", "beta"][wrt]}: relative error ${error}`);
    }
  }
});

test("backward: gradients arriving at the batch mean and variance are included", async () => {
  const shape = [6, 4, 4, 5];
  const x = shiftedValues(shape);
  const gamma = randomValues(random, [5]);
  const beta = randomValues(random, [5]);
  const error = await compareWithCpu(() => {
    const loss = (xs: tf.Tensor) => {
      const [y, mean, variance] = batchNormTraining(xs, tf.tensor1d(gamma), tf.tensor1d(beta));
      return tf.add(tf.add(tf.sum(tf.square(y!)), tf.sum(tf.mul(mean!, 3))), tf.sum(tf.mul(variance!, -2)));
    };
    return tf.grad(loss)(tf.tensor(x, shape));
  });
  assert.ok(error < TOLERANCE, `relative error ${error}`);
});

function buildModel(name: string): tfl.LayersModel {
  return getModel(name).build({ inputShape: [28, 28, 1], numClasses: 10, batchNorm: true });
}

/** conv → BatchNorm → ReLU → dense, the shape of a Conv-N block, with fixed weights. */
function smallNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", useBias: false, kernelInitializer: "glorotUniform" }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ axis: -1, momentum: 0.9 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: "relu" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4 }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

test("tfjs-layers' BatchNormalization: a training step gives the same loss, gradients and moving statistics, with the ReLU fused or not", async () => {
  const images = randomValues(random, [5, 8, 8, 3]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 1], "int32"), 4).dataSync().slice());
  const initial: Float32Array[] = [];
  const run = async (backend: "cpu" | "wasm", fuse = false) => {
    await tf.setBackend(backend);
    const model = smallNet();
    if (fuse) assert.equal(fuseBatchNormRelu(model), 1);
    if (initial.length === 0) model.getWeights().forEach((w) => initial.push(w.dataSync().slice() as Float32Array));
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(initial[i]!, w.shape)));
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(tf.tensor(labels, [5, 4]), model.apply(tf.tensor(images, [5, 8, 8, 3]), { training: true }) as tf.Tensor) as tf.Scalar,
        variables,
      );
      const out = [value.dataSync().slice(), ...variables.map((v) => grads[v.name]!.dataSync().slice())];
      tf.dispose([value, ...Object.values(grads)]);
      return tf.tensor1d(out.flatMap((a) => Array.from(a)));
    });
    const result = profile.result as tf.Tensor;
    const flat = result.dataSync().slice() as Float32Array;
    result.dispose();
    const weightsAfter = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
    const inference = tf.tidy(() => (model.predict(tf.tensor(images, [5, 8, 8, 3])) as tf.Tensor).dataSync().slice() as Float32Array);
    model.dispose();
    await tf.setBackend("wasm");
    return { flat, moving: Float32Array.from(weightsAfter), inference, kernels: profile.kernelNames };
  };
  const cpu = await run("cpu");
  assert.ok(!cpu.kernels.includes(BATCH_NORM_TRAINING));
  for (const fuse of [false, true]) {
    const wasm = await run("wasm", fuse);
    const label = fuse ? "ReLU fused" : "ReLU apart";
    assert.ok(wasm.kernels.includes(BATCH_NORM_TRAINING), `${label}: the wasm run did not use the native batch-norm kernel`);
    assert.equal(wasm.kernels.includes("Relu"), !fuse, `${label}: Relu kernel ran: ${wasm.kernels.includes("Relu")}`);
    assert.equal(wasm.kernels.includes(RELU_GRAD_KERNEL), !fuse, `${label}: ReLU gradient kernel ran: ${wasm.kernels.includes(RELU_GRAD_KERNEL)}`);
    const lossAndGrads = relativeError(wasm.flat, cpu.flat);
    assert.ok(lossAndGrads < TOLERANCE, `${label}: loss and gradients: relative error ${lossAndGrads}`);
    const moving = relativeError(wasm.moving, cpu.moving);
    assert.ok(moving < TOLERANCE, `${label}: weights and moving statistics after the step: relative error ${moving}`);
    const inference = relativeError(wasm.inference, cpu.inference);
    assert.ok(inference < TOLERANCE, `${label}: inference after the step: relative error ${inference}`);
  }
});

test("the ReLU is fused only into a BatchNorm whose output nothing else reads", () => {
  const input = tfl.input({ shape: [4, 4, 2] });
  const bn = (x: tfl.SymbolicTensor) => tfl.layers.batchNormalization({ axis: -1 }).apply(x) as tfl.SymbolicTensor;
  const relu = (x: tfl.SymbolicTensor) => tfl.layers.activation({ activation: "relu" }).apply(x) as tfl.SymbolicTensor;
  const shared = bn(input);
  const sum = tfl.layers.add().apply([relu(shared), shared]) as tfl.SymbolicTensor;
  const sigmoid = tfl.layers.activation({ activation: "sigmoid" }).apply(bn(sum)) as tfl.SymbolicTensor;
  const fused = relu(bn(sigmoid));
  const asOutput = bn(fused);
  const model = tfl.model({ inputs: input, outputs: [relu(asOutput), asOutput] });
  // Of the four: read twice, followed by a sigmoid, fused, and a model output (also read by a ReLU).
  assert.equal(fuseBatchNormRelu(model), 1);
  const conv4 = buildModel("conv-4");
  assert.equal(fuseBatchNormRelu(conv4), 4);
  // ResNet-20: the stem's BatchNorm and each block's first; the second meets the shortcut first.
  assert.equal(fuseBatchNormRelu(buildModel("resnet-20")), 10);
});

test("inference with given statistics (FusedBatchNorm) matches cpu, with and without scale and offset", async () => {
  assert.ok(isNativeKernelRegistered("FusedBatchNorm"), "FusedBatchNorm is not the native kernel on wasm");
  for (const shape of SHAPES) {
    const channels = shape.at(-1)!;
    const x = shiftedValues(shape);
    const mean = randomValues(random, [channels]).map((v) => v + 10);
    const variance = randomValues(random, [channels]).map((v) => v * v + 0.5);
    const scale = randomValues(random, [channels]);
    const offset = randomValues(random, [channels]);
    for (const [label, withScale, withOffset] of [["scale and offset", true, true], ["neither", false, false], ["scale only", true, false]] as const) {
      const error = await compareWithCpu(() =>
        tf.batchNorm(tf.tensor(x, shape), tf.tensor1d(mean), tf.tensor1d(variance), withOffset ? tf.tensor1d(offset) : undefined, withScale ? tf.tensor1d(scale) : undefined, EPSILON),
      );
      assert.ok(error < TOLERANCE, `[${shape}] ${label}: relative error ${error}`);
    }
  }
  // Statistics broadcast from one value, or shaped like x: the wasm backend's own kernel computes them.
  const shape = [2, 5, 5, 3];
  const x = randomValues(random, shape);
  const full = randomValues(random, shape).map((v) => v * v + 0.5);
  for (const [label, statistics] of [["scalar", () => tf.tensor1d([0.7])], ["shaped like x", () => tf.tensor(full, shape)]] as const) {
    const error = await compareWithCpu(() => tf.batchNorm(tf.tensor(x, shape), statistics(), statistics(), undefined, undefined, EPSILON));
    assert.ok(error < TOLERANCE, `${label} statistics: relative error ${error}`);
  }
});

test("MaxPoolGrad matches cpu on every model's pooling shapes, including ties after ReLU", async () => {
  const cases: Array<{ shape: [number, number, number, number]; size: number; stride: number; pad: "valid" | "same" }> = [
    { shape: [2, 28, 28, 64], size: 2, stride: 2, pad: "valid" }, { shape: [2, 14, 14, 128], size: 2, stride: 2, pad: "valid" },
    { shape: [2, 7, 7, 256], size: 2, stride: 2, pad: "valid" }, { shape: [2, 32, 32, 64], size: 2, stride: 2, pad: "valid" },
    { shape: [2, 8, 8, 256], size: 2, stride: 2, pad: "valid" }, { shape: [2, 28, 28, 6], size: 2, stride: 2, pad: "valid" },
    { shape: [2, 10, 10, 16], size: 2, stride: 2, pad: "valid" }, { shape: [2, 9, 11, 5], size: 3, stride: 2, pad: "same" },
    { shape: [1, 6, 6, 3], size: 3, stride: 1, pad: "same" },
  ];
  for (const c of cases) {
    // ReLU-like inputs: about half exact zeros, so many windows tie.
    const input = randomValues(random, c.shape).map((v) => Math.max(0, v));
    const output = await valuesOn("cpu", () => tf.maxPool(tf.tensor(input, c.shape) as tf.Tensor4D, c.size, c.stride, c.pad));
    const dy = randomValues(random, output.shape);
    const error = await compareWithCpu(() =>
      tf.engine().runKernel("MaxPoolGrad", { dy: tf.tensor(dy, output.shape), input: tf.tensor(input, c.shape), output: tf.tensor(output.values, output.shape) }, {
        filterSize: c.size, strides: c.stride, pad: c.pad,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    );
    assert.ok(error < TOLERANCE, `MaxPoolGrad [${c.shape}] ${c.size}x${c.size}/${c.stride} ${c.pad}: relative error ${error}`);
  }
});
