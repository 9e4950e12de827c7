/**
 * ReLU's gradient through one kernel where the backend has it (the native kernels register it for
 * wasm): TF.js's own gradient is Step, Cast and Multiply, three full passes over every activation
 * of a convolutional net. Elsewhere the gradient is TF.js's composition, unchanged.
 */
import * as tf from "@tensorflow/tfjs-core";

export const RELU_GRAD_KERNEL = "SwampReluGrad";

/** dy · step(x), as TF.js's ReLU gradient defines it (NaN where x is NaN). */
export function reluGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (dy.dtype === "float32" && x.dtype === "float32" && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), "float32"));
}

const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => reluGradient(dy as tf.Tensor, x!) };
  },
};

/** Makes Relu's gradient go through reluGradient; idempotent. */
export function registerReluGradient(): void {
  if (tf.getGradient(tf.Relu) !== reluGradConfig) tf.registerGradient(reluGradConfig);
}
