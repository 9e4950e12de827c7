/**
 * The pruning mask of a weight tensor, found from the tensor's data: kernels see only TensorInfo,
 * and a layer reads its variable (whose data the optimiser replaces every step) straight into the
 * convolution, so the optimiser attaches the mask to each new value of the variable. Kernels that
 * can skip pruned weights (the native sparse convolutions) look it up; a mask that was disposed no
 * longer counts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";

const masks = new WeakMap<object, tf.Tensor>();
/** Per mask data (tensors are immutable, so a mask's data never changes): its kept entries. */
const keptLists = new WeakMap<object, Int32Array>();
const keptByChannelLists = new WeakMap<object, Partial<Record<KeptGrouping, Int32Array>>>();

/** Channels of a weight tensor whose last axis is the output channel, the one before it the input. */
export type KeptGrouping = "output" | "input";

/** From now on `weights`' data is known to be zero wherever `mask` (same shape, 0/1) is 0. */
export function attachMask(weights: tf.Tensor, mask: tf.Tensor): void {
  masks.set(weights.dataId, mask);
}

export function maskOf(weights: TensorInfo): tf.Tensor | undefined {
  const mask = masks.get(weights.dataId);
  return mask && !mask.isDisposed ? mask : undefined;
}

/**
 * The flat indices of the entries the mask keeps, ascending, computed once per mask: the sparse
 * kernels take this list instead of scanning the whole mask at every call.
 */
export function keptIndices(mask: TensorInfo): Int32Array {
  let kept = keptLists.get(mask.dataId);
  if (kept === undefined) {
    const values = tf.engine().readSync(mask.dataId) as ArrayLike<number>;
    let count = 0;
    for (let i = 0; i < values.length; i++) count += values[i] !== 0 ? 1 : 0;
    kept = new Int32Array(count);
    for (let i = 0, next = 0; i < values.length; i++) if (values[i] !== 0) kept[next++] = i;
    keptLists.set(mask.dataId, kept);
  }
  return kept;
}

/**
 * The kept indices grouped by output channel (index mod the last axis) or input channel (the axis
 * before it), ascending within a channel, computed once per mask and grouping: the order in which
 * the sparse kernels (native/src/sparse_conv.c) sum, so they need not sort at every call.
 */
export function keptByChannel(mask: TensorInfo, grouping: KeptGrouping): Int32Array {
  const lists = keptByChannelLists.get(mask.dataId) ?? {};
  let grouped = lists[grouping];
  if (grouped === undefined) {
    const kept = keptIndices(mask);
    const outputs = mask.shape.at(-1) ?? 1;
    const inputs = mask.shape.at(-2) ?? 1;
    const channelOf = grouping === "output" ? (e: number) => e % outputs : (e: number) => Math.floor(e / outputs) % inputs;
    const channels = grouping === "output" ? outputs : inputs;
    const starts = new Int32Array(channels + 1);
    for (let n = 0; n < kept.length; n++) starts[channelOf(kept[n]!) + 1]!++;
    for (let c = 0; c < channels; c++) starts[c + 1]! += starts[c]!;
    grouped = new Int32Array(kept.length);
    for (let n = 0; n < kept.length; n++) grouped[starts[channelOf(kept[n]!)]!++] = kept[n]!;
    lists[grouping] = grouped;
    keptByChannelLists.set(mask.dataId, lists);
  }
  return grouped;
}

/** The fraction of entries the mask keeps. */
export function keptFraction(mask: TensorInfo): number {
  const size = mask.shape.reduce((a, b) => a * b, 1);
  return size === 0 ? 1 : keptIndices(mask).length / size;
}
