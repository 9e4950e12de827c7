/**
 * Shared by the native-kernel tests: both TF.js backends side by side, seeded random tensors, and
 * a comparison of one computation on `cpu` (the reference) and on `wasm` (native kernels).
 */
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-layers registers the gradients (tfjs-core's CommonJS bundle does not).
import "@tensorflow/tfjs-layers";
import type * as tfl from "@tensorflow/tfjs-layers";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { Random } from "../../worker/engine/rng.js";

let ready: Promise<void> | undefined;

/** Initialises `cpu` and `wasm` (with the wasm files from node_modules) and leaves `wasm` active. */
export function initBackends(): Promise<void> {
  ready ??= (async () => {
    setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))}/`);
    if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
    if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed to initialise");
  })();
  return ready;
}

export function randomValues(random: Random, shape: readonly number[]): Float32Array {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random.next() * 2 - 1;
  return values;
}

/** Runs `compute` on a backend; `compute` builds its tensors from plain arrays, on that backend. */
export async function valuesOn(backend: "cpu" | "wasm", compute: () => tf.Tensor): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const result = tf.tidy(compute);
  const out = { values: result.dataSync() as Float32Array, shape: result.shape };
  result.dispose();
  await tf.setBackend("wasm");
  return out;
}

/** max |actual − expected| / max |expected|: the error relative to the result's scale. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
    if (diff > maxDiff) maxDiff = diff;
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export const TOLERANCE = 1e-4;

/** Computes on both backends and returns the relative error, after checking the shapes agree. */
export async function compareWithCpu(compute: () => tf.Tensor): Promise<number> {
  const expected = await valuesOn("cpu", compute);
  const actual = await valuesOn("wasm", compute);
  if (expected.shape.join() !== actual.shape.join()) {
    throw new Error(`shape differs: cpu [${expected.shape.join(", ")}], wasm [${actual.shape.join(", ")}]`);
  }
  return relativeError(actual.values, expected.values);
}

/**
 * One training pass of a freshly built model on a backend: the loss and every trainable weight's
 * gradient, flattened, and the kernels it ran. The weights come from `initial`, which the first
 * call fills, so both backends start from the same model.
 */
export async function trainingPassOn(
  backend: "cpu" | "wasm",
  build: () => tfl.LayersModel,
  initial: Float32Array[],
  images: { values: Float32Array; shape: number[] },
  labels: { classes: number[]; count: number },
): Promise<{ values: Float32Array; kernels: string[] }> {
  await tf.setBackend(backend);
  const model = build();
  if (initial.length === 0) model.getWeights().forEach((w) => initial.push(w.dataSync().slice() as Float32Array));
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(initial[i]!, w.shape)));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => {
      const onehot = tf.oneHot(tf.tensor1d(labels.classes, "int32"), labels.count);
      return tf.losses.softmaxCrossEntropy(onehot, model.apply(tf.tensor(images.values, images.shape), { training: true }) as tf.Tensor) as tf.Scalar;
    }, variables);
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
