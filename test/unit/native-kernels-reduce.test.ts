/**
 * Native Sum over leading axes (the bias gradients of dense and conv layers) against the cpu
 * backend, and the other reductions, which the replaced kernel still computes.
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
  assert.ok(isNativeKernelRegistered("Sum"));
});

const random = Random.derive(6, ["native-reduce"]);

async function checkSum(shape: number[], axis: number | number[], keepDims: boolean, offset = 0): Promise<void> {
  const values = randomValues(random, shape).map((v) => v + offset);
  const error = await compareWithCpu(() => tf.sum(tf.tensor(values, shape), axis, keepDims));
  assert.ok(error < TOLERANCE, `sum [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}: relative error ${error}`);
}

test("sums over leading axes: every model's bias-gradient shapes, with and without keepDims", async () => {
  for (const keepDims of [false, true]) {
    await checkSum([128, 300], 0, keepDims);
    await checkSum([128, 100], [0], keepDims);
    await checkSum([128, 10], 0, keepDims);
    await checkSum([16, 28, 28, 6], [0, 1, 2], keepDims);
    await checkSum([8, 14, 14, 128], [2, 0, 1], keepDims);
    await checkSum([4, 7, 7, 256], [0, 1, 2], keepDims);
  }
});

test("long sums with a large common offset keep their precision", async () => {
  await checkSum([200_000, 3], 0, false, 100);
});

test("whole-tensor sums and sums over inner axes are still right", async () => {
  await checkSum([6, 7], [0, 1], false);
  await checkSum([5], 0, false);
  await checkSum([4, 5, 6], 1, false);
  await checkSum([4, 5, 6], [1, 2], true);
  await checkSum([4, 5, 6], -1, false);
});
