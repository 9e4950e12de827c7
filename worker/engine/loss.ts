/**
 * The training loss: mean softmax cross-entropy of logits against integer class labels. Where the
 * backend has the fused kernel (the project's wasm kernels) the loss and its gradient come from
 * one kernel call; elsewhere it is TF.js's own composition.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Kernel inputs: logits [rows, classes] float32, labels [rows] int32; outputs: [mean loss, d(mean loss)/d logits]. */
export const SOFTMAX_CROSS_ENTROPY_KERNEL = "SwampSoftmaxCrossEntropy";

export function meanSoftmaxCrossEntropy(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar {
  if (!tf.getKernel(SOFTMAX_CROSS_ENTROPY_KERNEL, tf.getBackend())) {
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
  }
  const lossOf = tf.customGrad((input, save) => {
    const [loss, gradient] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY_KERNEL, { logits: input as tf.Tensor2D, labels }) as [tf.Scalar, tf.Tensor2D];
    (save as tf.GradSaveFunc)([gradient]);
    return { value: loss, gradFunc: (dy, [saved]) => tf.mul(dy, saved!) };
  });
  return lossOf(logits) as tf.Scalar;
}
