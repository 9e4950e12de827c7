/**
 * The project's BatchMatMul and _FusedMatMul on wasm against the cpu backend: every transpose
 * combination at the shapes of every dense layer of the project's models (forward, weight
 * gradient, input gradient), seeded random shapes, batched and broadcast operands, and every
 * fused bias shape and activation.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { Random } from "../../worker/engine/rng.js";
import { plan } from "../../worker/engine/wasm-kernels/matrix-product.js";
import { compareKernel, initProjectWasm, randomTensor, relativeError, runKernelOn, TOLERANCE, type HostTensor } from "./wasm-kernels-harness.js";

const BATCH = 128;
/** The widest layers (conv nets' first dense layer) are checked at a smaller batch: the cpu reference is slow. */
const WIDE_LAYER_BATCH = 16;

/** [inputs, outputs] of the dense layers: LeNet-300-100, LeNet-5, conv-2/4/6 (32x32x3 and 28x28x1), ResNet-20. */
const DENSE_LAYERS: Array<[number, number]> = [
  [784, 300], [300, 100], [100, 10],
  [400, 120], [120, 84], [84, 10],
  [16384, 256], [8192, 256], [4096, 256], [12544, 256], [6272, 256], [2304, 256], [256, 256], [256, 10],
  [64, 10],
];

before(async () => {
  await initProjectWasm();
});

function operands(random: Random, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, batchA: number[] = [], batchB: number[] = []): { a: HostTensor; b: HostTensor } {
  return {
    a: randomTensor(random, [...batchA, ...(transposeA ? [k, m] : [m, k])]),
    b: randomTensor(random, [...batchB, ...(transposeB ? [n, k] : [k, n])]),
  };
}

async function assertProduct(label: string, inputs: Record<string, HostTensor>, attrs: object, kernel = "BatchMatMul"): Promise<void> {
  const error = await compareKernel(kernel, inputs, attrs);
  assert.ok(error <= TOLERANCE, `${kernel} ${label}: relative error ${error}`);
}

test("BatchMatMul matches cpu at every dense layer's forward, weight-gradient and input-gradient shapes", async () => {
  const random = Random.derive(1, ["wasm-kernels", "dense-layers"]);
  for (const [inputs, outputs] of DENSE_LAYERS) {
    const batch = inputs > 1000 ? WIDE_LAYER_BATCH : BATCH;
    // forward x·W, weight gradient xᵀ·dy, input gradient dy·Wᵀ
    await assertProduct(`forward ${inputs}→${outputs}`, operands(random, batch, inputs, outputs, false, false), { transposeA: false, transposeB: false });
    await assertProduct(`dW ${inputs}→${outputs}`, operands(random, inputs, batch, outputs, true, false), { transposeA: true, transposeB: false });
    await assertProduct(`dx ${inputs}→${outputs}`, operands(random, batch, outputs, inputs, false, true), { transposeA: false, transposeB: true });
  }
});

test("BatchMatMul matches cpu for every transpose combination on random shapes", async () => {
  const random = Random.derive(2, ["wasm-kernels", "random-products"]);
  for (let trial = 0; trial < 12; trial++) {
    const m = 1 + random.nextInt(70);
    const k = 1 + random.nextInt(140);
    const n = 1 + random.nextInt(70);
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        await assertProduct(`${m}x${k}x${n} tA=${transposeA} tB=${transposeB}`, operands(random, m, k, n, transposeA, transposeB), { transposeA, transposeB });
      }
    }
  }
});

test("BatchMatMul matches cpu on batched and broadcast operands", async () => {
  const random = Random.derive(3, ["wasm-kernels", "batched-products"]);
  // (The cpu kernel flattens batch dimensions, so it is a reference only where one side has a
  // single matrix or both have the same batch shape; the test below covers the rest.)
  const batches: Array<[number[], number[]]> = [[[3], [3]], [[4], []], [[], [5]], [[1], [3]], [[2, 3], [3]], [[2, 3], [2, 3]], [[2, 3], [1, 1]]];
  for (const [batchA, batchB] of batches) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const inputs = operands(random, 7, 13, 5, transposeA, transposeB, batchA, batchB);
        await assertProduct(`batch [${batchA}]x[${batchB}] tA=${transposeA} tB=${transposeB}`, inputs, { transposeA, transposeB });
      }
    }
  }
});

test("_FusedMatMul matches cpu for every bias shape, activation and transpose combination", async () => {
  const random = Random.derive(4, ["wasm-kernels", "fused-products"]);
  const [m, k, n] = [9, 70, 11];
  const activations = ["linear", "relu", "relu6", "prelu", "leakyrelu", "sigmoid", "elu"];
  const biasShapes: Array<number[] | undefined> = [undefined, [n], [1], [m, n]];
  for (const activation of activations) {
    for (const biasShape of biasShapes) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const inputs: Record<string, HostTensor> = operands(random, m, k, n, transposeA, transposeB);
          if (biasShape) inputs.bias = randomTensor(random, biasShape);
          if (activation === "prelu") inputs.preluActivationWeights = randomTensor(random, [n]);
          // Scaled so that relu6 clamps and the others see both signs.
          for (const value of [inputs.a!, inputs.b!]) for (let i = 0; i < value.values.length; i++) value.values[i]! *= 2;
          const attrs = { transposeA, transposeB, activation, leakyreluAlpha: 0.3 };
          await assertProduct(`${activation} bias [${biasShape ?? "none"}] tA=${transposeA} tB=${transposeB}`, inputs, attrs, "_FusedMatMul");
        }
      }
    }
  }
});

test("_FusedMatMul matches cpu at the dense layers' shapes with bias and relu, and batched", async () => {
  const random = Random.derive(5, ["wasm-kernels", "fused-dense"]);
  for (const [inputs, outputs] of DENSE_LAYERS.slice(0, 6)) {
    const operandsAndBias = { ...operands(random, BATCH, inputs, outputs, false, false), bias: randomTensor(random, [outputs]) };
    await assertProduct(`${inputs}→${outputs} relu`, operandsAndBias, { transposeA: false, transposeB: false, activation: "relu" }, "_FusedMatMul");
  }
  const batched = { ...operands(random, 6, 17, 8, true, true, [3], []), bias: randomTensor(random, [8]) };
  await assertProduct("batched relu6", batched, { transposeA: true, transposeB: true, activation: "relu6" }, "_FusedMatMul");
  const broadcastBias = { ...operands(random, 6, 17, 8, false, true, [2], [2]), bias: randomTensor(random, [2, 1, 8]) };
  await assertProduct("batched, batch-broadcast bias, sigmoid", broadcastBias, { transposeA: false, transposeB: true, activation: "sigmoid" }, "_FusedMatMul");
});

test("BatchMatMul broadcasts batch dimensions of size 1 against each other as numpy does", async () => {
  const random = Random.derive(6, ["wasm-kernels", "broadcast-products"]);
  const [m, k, n] = [3, 4, 5];
  const a = randomTensor(random, [2, 1, m, k]);
  const b = randomTensor(random, [1, 3, k, n]);
  const expected = new Float32Array(2 * 3 * m * n);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < n; c++) {
          let sum = 0;
          for (let t = 0; t < k; t++) sum += a.values[(i * m + r) * k + t]! * b.values[(j * k + t) * n + c]!;
          expected[((i * 3 + j) * m + r) * n + c] = sum;
        }
      }
    }
  }
  const actual = await runKernelOn("wasm", "BatchMatMul", { a, b }, { transposeA: false, transposeB: false });
  const error = relativeError(actual, { values: expected, shape: [2, 3, m, n] });
  assert.ok(error <= TOLERANCE, `relative error ${error}`);
});

test("_FusedMatMul with fixed weights (XNNPACK's cached path, as in evaluation) matches cpu on every call", async () => {
  const random = Random.derive(7, ["wasm-kernels", "fixed-weights"]);
  const a = randomTensor(random, [128, 784]);
  const b = randomTensor(random, [784, 300]);
  const bias = randomTensor(random, [300]);
  for (const activation of ["relu", "linear", "sigmoid"]) {
    const attrs = { transposeA: false, transposeB: false, activation };
    const expected = await runKernelOn("cpu", "_FusedMatMul", { a, b, bias }, attrs);
    await tf.setBackend("wasm");
    const [wa, wb, wbias] = [tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), tf.tensor(bias.values, bias.shape)];
    for (let call = 0; call < 3; call++) {
      const result = tf.engine().runKernel("_FusedMatMul", { a: wa, b: wb, bias: wbias }, attrs) as tf.Tensor;
      const error = relativeError({ values: (await result.data()) as Float32Array, shape: result.shape }, expected);
      result.dispose();
      assert.ok(error <= TOLERANCE, `${activation}, call ${call + 1}: relative error ${error}`);
    }
    tf.dispose([wa, wb, wbias]);
  }
});

test("every way of computing a product (XNNPACK, XNNPACK swapped, own NN, own NT) is chosen for some dense layer shape above", () => {
  const chosen = new Set<string>();
  for (const [inputs, outputs] of DENSE_LAYERS) {
    const batch = inputs > 1000 ? WIDE_LAYER_BATCH : BATCH;
    chosen.add(plan(batch, inputs, outputs, false, false, false, undefined));
    chosen.add(plan(inputs, batch, outputs, true, false, false, undefined));
    chosen.add(plan(batch, outputs, inputs, false, true, false, undefined));
  }
  assert.deepEqual([...chosen].sort(), ["own-nn", "own-nt", "xnn", "xnn-swapped"]);
});
