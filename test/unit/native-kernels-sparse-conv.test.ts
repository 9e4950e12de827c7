/**
 * The sparse convolutions (native/src/sparse_conv.c), used when a filter's attached pruning mask
 * keeps few weights: forward, input gradient and masked filter gradient against the dense
 * computation on the cpu backend, on every model's stride-1 convolutions and on random shapes and
 * paddings; that they really run (weights outside the mask are ignored); that a forward pass
 * without a mask is never given a stale one; and a masked training step equal to the dense path's.
 */
import { afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { attachMask } from "../../worker/engine/weight-masks.js";
import { registerProjectWasmKernels } from "../../worker/engine/wasm-kernels/index.js";
import { MaskedSgd } from "../../worker/engine/sgd.js";
import { Random } from "../../worker/engine/rng.js";
import { initBackends, randomValues, relativeError, TOLERANCE, valuesOn } from "./native-kernels-harness.js";

before(async () => {
  await initBackends();
  // As the engine sets the backend up: the project's Identity shares data, so the input the engine
  // saves for the filter gradient is the forward pass's own (see conv-kernels.ts).
  registerProjectWasmKernels();
  const status = registerNativeKernels();
  assert.equal(status.loaded, true, status.reason);
});

afterEach(() => {
  delete process.env.SWAMP_SPARSE_BELOW;
});

/** Every kept fraction uses the sparse kernels. */
function forceSparse(): void {
  process.env.SWAMP_SPARSE_BELOW = "1.01";
}

const random = Random.derive(17, ["native-sparse-conv"]);

interface SparseCase {
  label: string;
  batch: number;
  input: [number, number, number];
  filter: [number, number];
  outChannels: number;
  pad: "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];
}

const MODEL_CASES: SparseCase[] = [
  { label: "conv-n conv1", batch: 2, input: [28, 28, 1], filter: [3, 3], outChannels: 64, pad: "same" },
  { label: "conv-n conv2", batch: 2, input: [28, 28, 64], filter: [3, 3], outChannels: 64, pad: "same" },
  { label: "conv-n conv4", batch: 2, input: [14, 14, 128], filter: [3, 3], outChannels: 128, pad: "same" },
  { label: "resnet-20 stage1", batch: 3, input: [28, 28, 16], filter: [3, 3], outChannels: 16, pad: "same" },
  { label: "resnet-20 stage3", batch: 3, input: [7, 7, 64], filter: [3, 3], outChannels: 64, pad: "same" },
  { label: "lenet-5 conv2", batch: 3, input: [14, 14, 6], filter: [5, 5], outChannels: 16, pad: "valid" },
];

function randomCases(count: number): SparseCase[] {
  return Array.from({ length: count }, (_, i) => {
    const fh = 1 + random.nextInt(5);
    const fw = 1 + random.nextInt(5);
    const h = fh + random.nextInt(9);
    const w = fw + random.nextInt(9);
    const pads: SparseCase["pad"][] = ["same", "valid", [[0, 0], [random.nextInt(fh), random.nextInt(fh)], [random.nextInt(fw), random.nextInt(fw)], [0, 0]]];
    return { label: `random ${i}`, batch: 1 + random.nextInt(3), input: [h, w, 1 + random.nextInt(9)], filter: [fh, fw], outChannels: 1 + random.nextInt(9), pad: pads[random.nextInt(3)]! };
  });
}

/** Output, input gradient and filter gradient of conv2d(x, filter) under a cotangent dy. */
function convAndGradients(c: SparseCase, x: Float32Array, filter: Float32Array, dy: Float32Array, mask?: Float32Array): tf.Tensor {
  const filterShape = [...c.filter, c.input[2], c.outChannels] as [number, number, number, number];
  const xTensor = tf.tensor(x, [c.batch, ...c.input]) as tf.Tensor4D;
  const filterTensor = tf.tensor(filter, filterShape) as tf.Tensor4D;
  if (mask) attachMask(filterTensor, tf.tensor(mask, filterShape));
  const y = tf.conv2d(xTensor, filterTensor, 1, c.pad);
  const [dx, dfilter] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad))([xTensor, filterTensor], tf.tensor(dy, y.shape));
  return tf.concat([tf.reshape(y, [-1]), tf.reshape(dx!, [-1]), tf.reshape(dfilter!, [-1])]);
}

async function checkCase(c: SparseCase, kept: number): Promise<void> {
  const filterShape = [...c.filter, c.input[2], c.outChannels] as [number, number, number, number];
  const mask = Float32Array.from({ length: filterShape.reduce((a, b) => a * b, 1) }, () => (random.next() < kept ? 1 : 0));
  const filter = randomValues(random, filterShape).map((v, i) => v * mask[i]!);
  const x = randomValues(random, [c.batch, ...c.input]);
  const outShape = await valuesOn("cpu", () => tf.conv2d(tf.tensor(x, [c.batch, ...c.input]) as tf.Tensor4D, tf.tensor(filter, filterShape) as tf.Tensor4D, 1, c.pad));
  const dy = randomValues(random, outShape.shape);
  // The reference: dense on cpu, its filter gradient masked as the optimiser would mask it.
  const expected = await valuesOn("cpu", () => {
    const all = convAndGradients(c, x, filter, dy);
    const filterSize = mask.length;
    const head = tf.slice(all, 0, all.size - filterSize);
    return tf.concat([head, tf.mul(tf.slice(all, all.size - filterSize), tf.tensor(mask))]);
  });
  forceSparse();
  const actual = await valuesOn("wasm", () => convAndGradients(c, x, filter, dy, mask));
  const error = relativeError(actual.values, expected.values);
  assert.ok(error < TOLERANCE, `${c.label} [${c.batch}, ${c.input}] ${c.filter} ${JSON.stringify(c.pad)}, kept ${kept}: relative error ${error}`);
  const gradient = actual.values.subarray(actual.values.length - mask.length);
  mask.forEach((m, i) => {
    if (m === 0) assert.ok(gradient[i] === 0, `${c.label}: filter gradient at pruned position ${i} is ${gradient[i]}`);
  });
}

test("every model's stride-1 convolutions: output, input gradient and masked filter gradient match the dense cpu result", async () => {
  for (const c of MODEL_CASES) for (const kept of [0.05, 0.3]) await checkCase(c, kept);
});

test("random shapes, filter sizes 1-5 and same/valid/explicit padding", async () => {
  for (const c of randomCases(30)) await checkCase(c, 0.4);
});

// The inner loops are compiled per instruction set and chosen per call; these settings cap the
// choice, so the narrower loops are checked on any machine (a cap above the CPU changes nothing).
for (const [label, setting] of [["AVX2", "SWAMP_NATIVE_AVX512"], ["baseline (SSE)", "SWAMP_NATIVE_AVX2"]] as const) {
  test(`the ${label} loops (${setting}=0): every model's convolutions and random shapes`, async () => {
    process.env[setting] = "0";
    try {
      for (const c of MODEL_CASES) await checkCase({ ...c, batch: 1 }, 0.3);
      for (const c of randomCases(10)) await checkCase(c, 0.4);
    } finally {
      delete process.env[setting];
    }
  });
}

test("weights outside the mask are ignored: the sparse kernels really ran", async () => {
  const c = MODEL_CASES[3]!;
  const filterShape: [number, number, number, number] = [3, 3, 16, 16];
  const mask = Float32Array.from({ length: 3 * 3 * 16 * 16 }, (_, i) => (i % 7 === 0 ? 1 : 0));
  const filter = randomValues(random, filterShape);
  const x = randomValues(random, [c.batch, ...c.input]);
  const conv = (f: Float32Array) => () => tf.conv2d(tf.tensor(x, [c.batch, ...c.input]) as tf.Tensor4D, tf.tensor(f, filterShape) as tf.Tensor4D, 1, "same");
  const withMaskedFilter = await valuesOn("cpu", conv(filter.map((v, i) => v * mask[i]!)));
  forceSparse();
  const sparse = await valuesOn("wasm", () => {
    const f = tf.tensor(filter, filterShape) as tf.Tensor4D;
    attachMask(f, tf.tensor(mask, filterShape));
    return tf.conv2d(tf.tensor(x, [c.batch, ...c.input]) as tf.Tensor4D, f, 1, "same");
  });
  const error = relativeError(sparse.values, withMaskedFilter.values);
  assert.ok(error < TOLERANCE, `relative error ${error} against the masked filter`);
});

test("a forward pass without a mask clears the one an earlier pass left on the same input", async () => {
  forceSparse();
  const shape: [number, number, number, number] = [2, 8, 8, 4];
  const filterShape: [number, number, number, number] = [3, 3, 4, 4];
  const x = randomValues(random, shape);
  const dense = randomValues(random, filterShape);
  const gradients = await valuesOn("wasm", () => {
    const input = tf.tensor(x, shape) as tf.Tensor4D;
    const sparse = tf.tensor(dense.map((v, i) => (i % 3 === 0 ? v : 0)), filterShape) as tf.Tensor4D;
    attachMask(sparse, tf.tensor(dense.map((_, i) => (i % 3 === 0 ? 1 : 0)), filterShape));
    tf.grads((f: tf.Tensor) => tf.conv2d(input, f as tf.Tensor4D, 1, "same"))([sparse]);
    // The same input, now with an unmasked filter: its gradient must be the full one.
    const [dfilter] = tf.grads((f: tf.Tensor) => tf.conv2d(input, f as tf.Tensor4D, 1, "same"))([tf.tensor(dense, filterShape)]);
    return dfilter!;
  });
  const expected = await valuesOn("cpu", () => tf.grads((f: tf.Tensor) => tf.conv2d(tf.tensor(x, shape) as tf.Tensor4D, f as tf.Tensor4D, 1, "same"))([tf.tensor(dense, filterShape)])[0]!);
  const error = relativeError(gradients.values, expected.values);
  assert.ok(error < TOLERANCE, `relative error ${error}`);
});

test("masked SGD on a conv layer: the sparse path trains to the dense path's weights", async () => {
  const shape: [number, number, number, number] = [4, 10, 10, 8];
  const filterShape: [number, number, number, number] = [3, 3, 8, 8];
  const x = randomValues(random, shape);
  const target = randomValues(random, [4, 10, 10, 8]);
  const initial = randomValues(random, filterShape);
  const mask = Float32Array.from(initial, () => (random.next() < 0.2 ? 1 : 0));
  const trainOn = async (sparseBelow: string) => {
    process.env.SWAMP_SPARSE_BELOW = sparseBelow;
    const weights = await valuesOn("wasm", () => {
      const variable = tf.variable(tf.tensor(initial, filterShape));
      const optimizer = new MaskedSgd([variable], [tf.tensor(mask, filterShape)], { momentum: 0.9, weightDecay: 1e-4 });
      for (let step = 0; step < 4; step++) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.conv2d(tf.tensor(x, shape) as tf.Tensor4D, variable as unknown as tf.Tensor4D, 1, "same"), tf.tensor(target, shape)))) as tf.Scalar, [variable]);
          optimizer.step([grads[variable.name]!], 0.05);
        });
      }
      const result = variable.clone();
      optimizer.dispose();
      variable.dispose();
      return result;
    });
    return weights.values;
  };
  const dense = await trainOn("0");
  const sparse = await trainOn("1.01");
  const error = relativeError(sparse, dense);
  assert.ok(error < TOLERANCE, `relative error ${error}`);
  mask.forEach((m, i) => {
    if (m === 0) assert.ok(sparse[i] === 0, `pruned weight ${i} is ${sparse[i]}`);
  });
});
