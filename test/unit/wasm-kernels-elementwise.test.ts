/**
 * The project's element-wise and reduction kernels on wasm against the cpu backend: Sum and Mean
 * over leading axes, Tile, Add/Sub/Multiply with a per-channel vector, at the shapes BatchNorm and
 * bias gradients produce in the models (NHWC reduced over [0, 1, 2], a per-channel vector tiled to
 * or combined with a whole activation), random shapes and axes and other broadcasts (the paths
 * the stock kernels keep), every dtype Tile takes; and Identity sharing data without changing it.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { Random } from "../../worker/engine/rng.js";
import { compareKernel, initProjectWasm, randomTensor, runKernelOn, TOLERANCE } from "./wasm-kernels-harness.js";

before(async () => {
  await initProjectWasm();
});

test("Sum and Mean match cpu over the leading axes of the models' activations and on random shapes and axes", async () => {
  const random = Random.derive(21, ["wasm-kernels", "reductions"]);
  const cases: Array<[number[], number | number[]]> = [
    [[128, 32, 32, 16], [0, 1, 2]], [[128, 16, 16, 32], [0, 1, 2]], [[128, 8, 8, 64], [0, 1, 2]],
    [[128, 28, 28, 6], [0, 1, 2]], [[128, 10, 10, 16], [0, 1, 2]], [[128, 300], 0], [[128, 10], [0]],
    [[64, 8, 8, 256], [0, 1, 2]], [[7, 5, 3], [0, 1, 2]], [[9, 33], -2], [[4, 3, 2], [1, 0]],
  ];
  for (let trial = 0; trial < 12; trial++) {
    const rank = 1 + random.nextInt(4);
    const shape = Array.from({ length: rank }, () => 1 + random.nextInt(9));
    const axes = Array.from({ length: rank }, (_, i) => i).filter(() => random.nextInt(2) === 0);
    cases.push([shape, axes.length > 0 ? axes : [rank - 1]]);
  }
  for (const [shape, axis] of cases) {
    for (const keepDims of [false, true]) {
      const x = randomTensor(random, shape);
      for (const kernel of ["Sum", "Mean"]) {
        const error = await compareKernel(kernel, { x }, { axis, keepDims });
        assert.ok(error <= TOLERANCE, `${kernel} [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}: relative error ${error}`);
      }
    }
  }
});

test("Tile matches cpu for per-channel vectors tiled to activations, random shapes, and int32 and bool", async () => {
  const random = Random.derive(22, ["wasm-kernels", "tile"]);
  const cases: Array<[number[], number[]]> = [
    [[1, 1, 1, 16], [128, 32, 32, 1]], [[1, 1, 1, 64], [16, 8, 8, 1]], [[3], [5]], [[2, 3], [1, 1]], [[2, 1, 3], [2, 4, 1]],
  ];
  for (let trial = 0; trial < 12; trial++) {
    const rank = 1 + random.nextInt(4);
    cases.push([Array.from({ length: rank }, () => 1 + random.nextInt(4)), Array.from({ length: rank }, () => 1 + random.nextInt(3))]);
  }
  for (const [shape, reps] of cases) {
    const error = await compareKernel("Tile", { x: randomTensor(random, shape) }, { reps });
    assert.ok(error <= TOLERANCE, `Tile [${shape}] by [${reps}]: relative error ${error}`);
  }
  for (const dtype of ["int32", "bool"] as const) {
    const values = dtype === "int32" ? [1, -2, 3, 4, -5, 6] : [1, 0, 0, 1, 1, 0];
    const results = [];
    for (const backend of ["cpu", "wasm"]) {
      await tf.setBackend(backend);
      const tiled = tf.tile(tf.tensor(values, [2, 3], dtype), [3, 2]);
      results.push({ dtype: tiled.dtype, shape: tiled.shape, values: Array.from(await tiled.data()) });
      tiled.dispose();
    }
    assert.deepEqual(results[1], results[0], `Tile of ${dtype}`);
  }
  await tf.setBackend("wasm");
});

test("Identity on wasm shares the data, keeps it, and frees it with the last reference", async () => {
  await tf.setBackend("wasm");
  const before = tf.backend().numDataIds();
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const copy = tf.clone(x);
  assert.equal(tf.backend().numDataIds(), before + 1, "clone should share x's data, not copy it");
  x.dispose();
  assert.deepEqual(Array.from(await copy.data()), [1, 2, 3, 4]);
  copy.dispose();
  assert.equal(tf.backend().numDataIds(), before);
  const error = await compareKernel("Identity", { x: { values: new Float32Array([5, -6, 7]), shape: [3] } }, {});
  assert.equal(error, 0);
  const viaKernel = await runKernelOn("wasm", "Identity", { x: { values: new Float32Array([1, 2]), shape: [1, 2] } }, {});
  assert.deepEqual(viaKernel.shape, [1, 2]);
});

test("Add, Sub and Multiply match cpu for per-channel vectors against activations (either order) and other broadcasts", async () => {
  const random = Random.derive(23, ["wasm-kernels", "row-vector-arithmetic"]);
  const pairs: Array<[number[], number[]]> = [
    [[128, 28, 28, 6], [6]], [[6], [128, 28, 28, 6]], [[1, 1, 1, 16], [64, 32, 32, 16]], [[64, 16, 16, 32], [1, 1, 1, 32]],
    [[128, 300], [300]], [[7, 5, 3], [5, 3]], [[5, 3], [7, 5, 3]], [[4, 6], [1, 6]],
    // paths the stock kernels keep: equal shapes, scalars, inner broadcasts
    [[3, 4], [3, 4]], [[3, 4], []], [[3, 4], [3, 1]], [[2, 1, 4], [1, 3, 4]],
  ];
  for (const [shapeA, shapeB] of pairs) {
    const a = randomTensor(random, shapeA);
    const b = randomTensor(random, shapeB);
    for (const kernel of ["Add", "Sub", "Multiply"]) {
      const error = await compareKernel(kernel, { a, b }, {});
      assert.ok(error <= TOLERANCE, `${kernel} [${shapeA}] with [${shapeB}]: relative error ${error}`);
    }
  }
});
