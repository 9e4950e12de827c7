/**
 * The pruning mask of a weight tensor, found from the tensor's data: kernels see only TensorInfo,
 * and a layer reads its variable (whose data the optimiser replaces every step) straight into the
 * convolution, so the optimiser attaches the mask to each new value of the variable. Kernels that
 * can skip pruned weights (the native sparse convolutions) look it up; a mask that was disposed no
 * longer counts.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";

const masks = new WeakMap<object, tf.Tensor>();
const keptFractions = new WeakMap<object, number>();

/** From now on `weights`' data is known to be zero wherever `mask` (same shape, 0/1) is 0. */
export function attachMask(weights: tf.Tensor, mask: tf.Tensor): void {
  masks.set(weights.dataId, mask);
}

export function maskOf(weights: TensorInfo): tf.Tensor | undefined {
  const mask = masks.get(weights.dataId);
  return mask && !mask.isDisposed ? mask : undefined;
}

/** The fraction of entries the mask keeps, computed once per mask. */
export function keptFraction(mask: tf.Tensor): number {
  let fraction = keptFractions.get(mask.dataId);
  if (fraction === undefined) {
    const values = mask.dataSync();
    let kept = 0;
    for (let i = 0; i < values.length; i++) kept += values[i] !== 0 ? 1 : 0;
    fraction = values.length === 0 ? 1 : kept / values.length;
    keptFractions.set(mask.dataId, fraction);
  }
  return fraction;
}
