/**
 * Run by native-kernels-fallback.test.ts in a fresh process (SWAMP_NATIVE=0 in its environment):
 * selects the wasm backend the way the engine does, then trains a small conv + BatchNorm + dense
 * net for a few steps, and prints what it found as one JSON line.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../../worker/engine/backend.js";
import { isNativeKernelRegistered, NATIVE_KERNEL_NAMES, registerNativeKernels } from "../../worker/engine/native-kernels/index.js";
import { BATCH_NORM_TRAINING } from "../../worker/engine/native-kernels/batchnorm-kernels.js";
import { Random } from "../../worker/engine/rng.js";

async function main(): Promise<void> {
  const backend = await initBackend("wasm");
  const status = registerNativeKernels();
  const input = tfl.input({ shape: [12, 12, 1] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ axis: -1 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: "relu" }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3 }).apply(x) as tfl.SymbolicTensor });
  const random = Random.derive(7, ["native-fallback"]);
  const images = Float32Array.from({ length: 16 * 144 }, () => random.nextNormal());
  const labels = Int32Array.from({ length: 16 }, (_, i) => i % 3);
  const optimizer = tf.train.sgd(0.1);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  const kernels = new Set<string>();
  for (let step = 0; step < 12; step++) {
    const profile = await tf.profile(() => {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, "int32"), 3), model.apply(tf.tensor(images, [16, 12, 12, 1]), { training: true }) as tf.Tensor) as tf.Scalar,
        true,
        variables,
      )!;
      losses.push(loss.dataSync()[0]!);
      return loss;
    });
    profile.kernelNames.forEach((name) => kernels.add(name));
    (profile.result as tf.Tensor).dispose();
  }
  console.log(JSON.stringify({
    backend: backend.name,
    backendKernelSets: backend.kernels,
    loaded: status.loaded,
    reason: status.reason,
    anyNativeKernel: NATIVE_KERNEL_NAMES.some((name) => isNativeKernelRegistered(name)),
    usedNativeBatchNorm: kernels.has(BATCH_NORM_TRAINING),
    usedConv2DBackpropFilter: kernels.has("Conv2DBackpropFilter"),
    losses,
  }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
