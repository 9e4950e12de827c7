/**
 * Shared by the project wasm kernel tests: the `cpu` backend (the reference) and `wasm` with the
 * project's kernels registered and nothing layered over them (no native kernels), seeded random
 * tensors, and one kernel run on both backends.
 */
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's CommonJS bundle registers no gradients; tfjs-layers does.
import "@tensorflow/tfjs-layers";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { Random } from "../../worker/engine/rng.js";
import { registerProjectWasmKernels } from "../../worker/engine/wasm-kernels/index.js";

export const TOLERANCE = 1e-4;

let ready: Promise<void> | undefined;

export function initProjectWasm(): Promise<void> {
  ready ??= (async () => {
    setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`);
    registerProjectWasmKernels();
    if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
    if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed to initialise");
  })();
  return ready;
}

export interface HostTensor {
  values: Float32Array;
  shape: number[];
}

export function randomTensor(random: Random, shape: readonly number[]): HostTensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random.next() * 2 - 1;
  return { values, shape: [...shape] };
}

/** max |actual − expected| / max(1, max |expected|); Infinity on NaN or on a shape mismatch. */
export function relativeError(actual: HostTensor, expected: HostTensor): number {
  if (actual.shape.join() !== expected.shape.join()) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.values.length; i++) {
    const diff = Math.abs(actual.values[i]! - expected.values[i]!);
    if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
    maxDiff = Math.max(maxDiff, diff);
    maxRef = Math.max(maxRef, Math.abs(expected.values[i]!));
  }
  return maxDiff / Math.max(1, maxRef);
}

/**
 * Runs one kernel on a backend with the given inputs (uploaded to that backend), and checks that
 * the backend holds exactly as much data afterwards as before (no intermediate leaked).
 */
export async function runKernelOn(backend: "cpu" | "wasm", kernelName: string, inputs: Record<string, HostTensor>, attrs: object): Promise<HostTensor> {
  await tf.setBackend(backend);
  const dataBefore = tf.backend().numDataIds();
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, input] of Object.entries(inputs)) tensors[name] = tf.tensor(input.values, input.shape);
  const result = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const out = { values: (await result.data()) as Float32Array, shape: result.shape };
  result.dispose();
  tf.dispose(Object.values(tensors));
  const dataAfter = tf.backend().numDataIds();
  if (dataAfter !== dataBefore) throw new Error(`${kernelName} on ${backend} leaked ${dataAfter - dataBefore} tensor buffers`);
  return out;
}

/** The relative error of the wasm kernel against the cpu kernel on the same inputs. */
export async function compareKernel(kernelName: string, inputs: Record<string, HostTensor>, attrs: object): Promise<number> {
  const expected = await runKernelOn("cpu", kernelName, inputs, attrs);
  const actual = await runKernelOn("wasm", kernelName, inputs, attrs);
  await tf.setBackend("wasm");
  return relativeError(actual, expected);
}
