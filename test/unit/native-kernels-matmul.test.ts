/**
 * Native BatchMatMul and _FusedMatMul against the cpu backend: every transpose combination, batched
 * and broadcast operands, every fused bias/activation, and the dense-layer shapes of every model
 * (forward and both backward products).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { isNativeKernelRegistered, registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { Random } from "../../worker/engine/rng.js";
import { compareWithCpu, initBackends, randomValues, TOLERANCE } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
  assert.ok(isNativeKernelRegistered("BatchMatMul") && isNativeKernelRegistered("_FusedMatMul"));
});

const random = Random.derive(3, ["native-matmul"]);

function operand(rows: number, cols: number, transposed: boolean, batch: number[] = []): { values: Float32Array; shape: number[] } {
  const shape = [...batch, ...(transposed ? [cols, rows] : [rows, cols])];
  return { values: randomValues(random, shape), shape };
}

async function checkMatMul(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, batchA: number[] = [], batchB: number[] = []): Promise<void> {
  const a = operand(m, k, transposeA, batchA);
  const b = operand(k, n, transposeB, batchB);
  const error = await compareWithCpu(() => tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), transposeA, transposeB));
  assert.ok(error < TOLERANCE, `matMul [${a.shape}]·[${b.shape}] tA=${transposeA} tB=${transposeB}: relative error ${error}`);
}

/** (in, out) of every dense layer of every model: LeNet-300-100, LeNet-5 (28 and 32 inputs), Conv-2/4/6 (28 and 32), ResNet-20. */
const DENSE_LAYERS: Array<[number, number]> = [
  [784, 300], [300, 100], [100, 10], // lenet-300-100
  [1024 * 3, 300], // lenet-300-100 on 32x32x3
  [400, 120], [576, 120], [120, 84], [84, 10], // lenet-5
  [14 * 14 * 64, 256], [7 * 7 * 128, 256], [3 * 3 * 256, 256], [256, 256], [256, 10], // conv-2/4/6 on 28x28
  [16 * 16 * 64, 256], [8 * 8 * 128, 256], [4 * 4 * 256, 256], // conv-2/4/6 on 32x32
  [64, 10], // resnet-20
];

test("every transpose combination, on random shapes", async () => {
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = [1 + Math.floor(random.next() * 70), 1 + Math.floor(random.next() * 90), 1 + Math.floor(random.next() * 50)];
    for (const transposeA of [false, true]) for (const transposeB of [false, true]) await checkMatMul(m!, k!, n!, transposeA, transposeB);
  }
});

test("batched and broadcast operands", async () => {
  await checkMatMul(5, 7, 3, false, false, [4], [4]);
  await checkMatMul(5, 7, 3, true, true, [2, 3], [2, 3]);
  await checkMatMul(5, 7, 3, false, true, [4], []);
  await checkMatMul(5, 7, 3, true, false, [], [4]);
  await checkMatMul(5, 7, 3, false, false, [1, 6], [6]);
  // Both operands broadcasting at once is left to the replaced kernel; the result must still be right.
  await checkMatMul(4, 3, 2, false, false, [2, 1], [1, 3]);
});

test("every model's dense layers: forward and both backward products", async () => {
  const batch = 16;
  for (const [inputs, units] of DENSE_LAYERS) {
    await checkMatMul(batch, inputs, units, false, false); // x·W
    await checkMatMul(batch, units, inputs, false, true); // dy·Wᵀ
    await checkMatMul(inputs, batch, units, true, false); // xᵀ·dy
  }
});

test("fused bias and every activation, with transposes", async () => {
  const activations = ["linear", "relu", "relu6", "leakyrelu", "elu", "sigmoid", "prelu"] as const;
  for (const activation of activations) {
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [m, k, n] = [9, 13, 6];
      const a = operand(m, k, transposeA);
      const b = operand(k, n, transposeB);
      const bias = randomValues(random, [n]);
      const alpha = randomValues(random, [n]);
      const error = await compareWithCpu(() =>
        tf.fused.matMul({
          a: tf.mul(tf.tensor(a.values, a.shape), 3), // spread the values past relu6's cap
          b: tf.tensor(b.values, b.shape),
          transposeA,
          transposeB,
          bias: tf.tensor1d(bias),
          activation,
          preluActivationWeights: activation === "prelu" ? tf.tensor1d(alpha) : undefined,
          leakyreluAlpha: 0.3,
        }),
      );
      assert.ok(error < TOLERANCE, `fused matMul ${activation} tA=${transposeA} tB=${transposeB}: relative error ${error}`);
    }
  }
  // A scalar bias and no bias at all.
  const a = operand(4, 5, false);
  const b = operand(5, 3, false);
  for (const biasValue of [0.5, undefined]) {
    const error = await compareWithCpu(() =>
      tf.fused.matMul({ a: tf.tensor(a.values, a.shape), b: tf.tensor(b.values, b.shape), bias: biasValue === undefined ? undefined : tf.scalar(biasValue), activation: "relu" }),
    );
    assert.ok(error < TOLERANCE, `fused matMul with bias ${String(biasValue)}: relative error ${error}`);
  }
});

test("a dense layer's gradients through the fused product", async () => {
  const x = randomValues(random, [32, 100]);
  const w = randomValues(random, [100, 10]);
  const bias = randomValues(random, [10]);
  for (const wrt of [0, 1, 2]) {
    const error = await compareWithCpu(() => {
      const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.square(tf.fused.matMul({ a: xs as tf.Tensor2D, b: ws as tf.Tensor2D, bias: bs, activation: "relu" })));
      const grads = tf.grads(f)([tf.tensor(x, [32, 100]), tf.tensor(w, [100, 10]), tf.tensor(bias, [10])]);
      return grads[wrt]!;
    });
    assert.ok(error < TOLERANCE, `gradient ${wrt}: relative error ${error}`);
  }
});
