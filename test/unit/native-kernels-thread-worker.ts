/**
 * One of the worker threads of native-kernels-threads.test.ts: loads the addon in its own thread,
 * computes its convolutions and products alone (checked against the cpu backend), then, once every
 * thread is ready, computes them again many times while the other threads do the same, and
 * reports whether every concurrent result equals the solo one bit for bit.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { Random } from "../../worker/engine/rng.js";
import { compareWithCpu, initBackends, randomValues } from "./native-kernels-harness.js";

export interface ThreadReport {
  loaded: boolean;
  reason?: string;
  cpuError: number;
  mismatches: number;
  iterations: number;
  concurrentStart: number;
  concurrentEnd: number;
}

const { seed, barrier, threads, iterations } = workerData as { seed: number; barrier: SharedArrayBuffer; threads: number; iterations: number };

async function main(): Promise<ThreadReport> {
  await initBackends();
  const status = registerNativeKernels();
  const random = Random.derive(seed, ["native-threads"]);
  const x = randomValues(random, [4, 14, 14, 32]);
  const w = randomValues(random, [3, 3, 32, 48]);
  const dy = randomValues(random, [4, 7, 7, 48]);
  const a = randomValues(random, [96, 200]);
  const b = randomValues(random, [150, 200]);
  const compute = () => [
    tf.conv2d(tf.tensor4d(x, [4, 14, 14, 32]), tf.tensor4d(w, [3, 3, 32, 48]), 2, "same"),
    tf.engine().runKernel("Conv2DBackpropFilter", { x: tf.tensor4d(x, [4, 14, 14, 32]), dy: tf.tensor4d(dy, [4, 7, 7, 48]) }, { strides: 2, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 32, 48] } as unknown as tf.NamedAttrMap) as tf.Tensor,
    tf.engine().runKernel("Conv2DBackpropInput", { dy: tf.tensor4d(dy, [4, 7, 7, 48]), filter: tf.tensor4d(w, [3, 3, 32, 48]) }, { strides: 2, pad: "same", dataFormat: "NHWC", inputShape: [4, 14, 14, 32] } as unknown as tf.NamedAttrMap) as tf.Tensor,
    tf.matMul(tf.tensor2d(a, [96, 200]), tf.tensor2d(b, [150, 200]), false, true),
  ];
  // The backward kernels are checked against cpu in the single-threaded tests; here the forward
  // convolution and the product anchor the solo results to the cpu backend.
  const cpuError = Math.max(
    await compareWithCpu(() => tf.conv2d(tf.tensor4d(x, [4, 14, 14, 32]), tf.tensor4d(w, [3, 3, 32, 48]), 2, "same")),
    await compareWithCpu(() => tf.matMul(tf.tensor2d(a, [96, 200]), tf.tensor2d(b, [150, 200]), false, true)),
  );
  // Read inside tidy but return nothing from it: tidy walks a returned container element by element.
  const read = (): Float32Array[] => {
    let values: Float32Array[] = [];
    tf.tidy(() => {
      values = compute().map((t) => t.dataSync().slice() as Float32Array);
    });
    return values;
  };
  const solo = read();

  // Start together: count in, then wait until everyone has.
  const counter = new Int32Array(barrier);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
  while (Atomics.load(counter, 0) < threads) Atomics.wait(counter, 0, Atomics.load(counter, 0), 50);

  const concurrentStart = Date.now();
  let mismatches = 0;
  for (let i = 0; i < iterations; i++) {
    const results = read();
    results.forEach((values, k) => {
      const expected = solo[k]!;
      if (values.length !== expected.length || values.some((v, j) => !Object.is(v, expected[j]))) mismatches++;
    });
  }
  return { loaded: status.loaded, reason: status.reason, cpuError, mismatches, iterations, concurrentStart, concurrentEnd: Date.now() };
}

main().then(
  (report) => parentPort!.postMessage(report),
  (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? error.stack : String(error) }),
);
