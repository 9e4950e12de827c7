/**
 * BatchNorm recalibration: after weights are averaged, the running statistics no longer match the
 * averaged weights, so they are recomputed with one pass over training images. Each BatchNorm's
 * running mean and variance become the plain average, over the batches, of the batch mean and
 * (biased) batch variance of its input, as PyTorch's `momentum=None` cumulative averaging does.
 * Given the weights' mask, the pass runs on the sparse kernels wherever training would (the masks
 * are attached to the variables for its duration, as the optimiser attaches them), so a pruned
 * model's recalibration costs what its forward pass does.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DatasetSplit } from "../data/dataset.js";
import type { Mask } from "./mask.js";
import type { ModelSession } from "./model-session.js";
import type { Random } from "./rng.js";
import { maskTensorsByTrainableIndex } from "./train.js";
import { attachMask } from "./weight-masks.js";

export interface RecalibrationRun {
  session: ModelSession;
  data: DatasetSplit;
  inputShape: [number, number, number];
  examples: number;
  batchSize: number;
  /** Chooses which training images are used. */
  order: Random;
  /** The mask the weights carry (pruned weights are zero), so the sparse kernels may skip them. */
  mask?: Mask;
}

export function recalibrateBatchNorm(run: RecalibrationRun): void {
  const { session, data, inputShape, batchSize } = run;
  if (!session.hasBatchNorm) return;
  const example = inputShape[0] * inputShape[1] * inputShape[2];
  const examples = Math.min(run.examples, data.count);
  const order = run.order.permutation(data.count).subarray(0, examples);
  const images = new Float32Array(batchSize * example);
  const saved = session.batchNormLayers.map((layer) => layer.momentum);
  const masks = maskTensorsByTrainableIndex(session, run.mask);
  const variables = session.trainableVariables();
  masks.forEach((mask, i) => mask && attachMask(variables[i]!, mask));
  try {
    for (let start = 0, batch = 1; start < examples; start += batchSize, batch++) {
      const count = Math.min(batchSize, examples - start);
      for (let k = 0; k < count; k++) {
        const index = order[start + k]!;
        images.set(data.images.subarray(index * example, (index + 1) * example), k * example);
      }
      // A running update with momentum (k−1)/k at batch k leaves the plain average of all batches.
      for (const layer of session.batchNormLayers) layer.momentum = (batch - 1) / batch;
      tf.tidy(() => {
        session.model.apply(tf.tensor(images.subarray(0, count * example), [count, ...inputShape], "float32"), { training: true });
      });
    }
  } finally {
    session.batchNormLayers.forEach((layer, i) => (layer.momentum = saved[i]!));
    tf.dispose(masks.filter((mask): mask is tf.Tensor => mask !== undefined));
  }
}
