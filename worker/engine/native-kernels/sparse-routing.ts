/**
 * When a convolution or a Dense layer runs on the sparse kernels (native/src/sparse_conv.c; a
 * Dense layer is a 1×1 convolution there), and the optimiser steps over the kept weights only:
 * the weight operand carries a pruning mask (weight-masks.ts) that keeps few enough weights. The
 * filter gradient's kernel never sees the weights, only the forward pass's input, so each forward
 * pass records its mask under that input's data.
 */
import type { Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { keptFraction, maskOf } from "../weight-masks.js";

/**
 * The kept fraction below which the sparse kernels beat the dense ones. Convolutions (against
 * Winograd for Conv-4's layers), measured on whole Conv-4 training steps on an AVX2 EPYC core: the
 * forward pass and the input gradient from about 0.15, the filter gradient (two loads per
 * multiply-add where the dense path's GEMMs reuse their tiles) from about 0.05. Dense layers
 * (against OpenBLAS's GEMM), per pass at batch 128 on a loaded Zen 4 core
 * (`node dist/bench/dense-crossover.js`): on LeNet-300-100's and Conv-n's narrower shapes (784×300,
 * 300×100, 256×256) forward and input gradient from about 0.10, the kernel gradient (a dot product
 * per kept weight against GEMM's reused tiles) from about 0.05; on a kernel of over a million
 * weights (Conv-4's 6272×256, whose planes outgrow the cache) forward from about 0.04, input
 * gradient 0.05, kernel gradient 0.01–0.02. The optimiser's step over the kept weights only
 * gathers instead of streaming and pays from about 0.02. A whole training step of a pruned chain
 * of Dense layers as one native call (sparse-mlp-training.ts) beats TF.js's dense step at every
 * kept fraction (1.12× with 99.9% kept, 1.37× at 50%, 1.86× at 25%: `node dist/bench/sparse.js
 * --models lenet-300-100 --masks uniform --kept 1,0.999,0.8,0.5,0.35,0.25,0.15`, a loaded AVX-512
 * Xeon core), so it runs whenever training is masked; inside it a layer keeping under 0.3 of its
 * weights runs its products over the kept weights, a denser one as BLAS GEMMs (the loops alone,
 * `SWAMP_SPARSE_BELOW=1.01`, break even with TF.js's dense step at about 0.5 overall).
 * Evaluation of such a model by the one-call inference pass (sparse-mlp.ts), by the kept fraction of all pruned weights: from about 0.26 (the inference
 * profile's crossover, README's "Inference cost and deployment"). Evaluation of a pruned Conv-n by
 * its one-call pass (sparse-convnet.ts), by the kept fraction of its forward multiply-adds (a kept
 * weight of conv2 does 784 per example, one of fc1 one): 1.03× dense at 0.174, 0.81× at 0.225,
 * 1.72× at 0.10 (`node dist/bench/inference.js --models conv-4 --cycles 13,14,15,17,20`, an
 * AVX-512 Xeon core). SWAMP_SPARSE_BELOW sets one threshold for all (0 turns the sparse kernels
 * and the sparse steps off).
 */
const SPARSE_BELOW = {
  forward: 0.15,
  filterGradient: 0.05,
  denseForward: 0.1,
  denseInputGradient: 0.1,
  denseKernelGradient: 0.04,
  optimizerStep: 0.02,
  mlpTrainingStep: 1.01,
  mlpTrainingLayer: 0.3,
  mlpInference: 0.25,
  convNetInference: 0.15,
};

/** Dense kernels of more weights than this take LARGE_DENSE_BELOW's thresholds. */
const LARGE_DENSE_WEIGHTS = 1_000_000;
const LARGE_DENSE_BELOW: Partial<Record<SparsePass, number>> = { denseForward: 0.04, denseInputGradient: 0.05, denseKernelGradient: 0.015 };

export type SparsePass = keyof typeof SPARSE_BELOW;

/** A threshold that, while set, overrides every other (see withSparseThreshold). */
let thresholdOverride: number | undefined;

/**
 * Runs `work` with one kept-fraction threshold for every pass: the inference profiler measures a
 * model with the sparse kernels off (0) and on for every pruned layer (above 1).
 */
export function withSparseThreshold<T>(below: number, work: () => T): T {
  const previous = thresholdOverride;
  thresholdOverride = below;
  try {
    return work();
  } finally {
    thresholdOverride = previous;
  }
}

function sparseBelow(pass: SparsePass, weights: number): number {
  if (thresholdOverride !== undefined) return thresholdOverride;
  const setting = process.env.SWAMP_SPARSE_BELOW;
  const value = setting === undefined || setting === "" ? Number.NaN : Number(setting);
  if (Number.isFinite(value)) return value;
  return (weights > LARGE_DENSE_WEIGHTS ? LARGE_DENSE_BELOW[pass] : undefined) ?? SPARSE_BELOW[pass];
}

/** Equal up to leading 1s: a weight reshaped by an op keeps its data, and so its mask. */
function sameShape(a: readonly number[], b: readonly number[]): boolean {
  const strip = (shape: readonly number[]) => {
    const first = shape.findIndex((dim) => dim !== 1);
    return first < 0 ? [] : shape.slice(first);
  };
  const x = strip(a);
  const y = strip(b);
  return x.length === y.length && x.every((dim, i) => dim === y[i]);
}

/** The weights' float32 mask of the same shape, if one is attached and alive. */
export function usableMask(weights: TensorInfo): Tensor | undefined {
  const mask = maskOf(weights);
  return mask && mask.dtype === "float32" && sameShape(mask.shape, weights.shape) ? mask : undefined;
}

export function worthSparse<T extends TensorInfo>(mask: T | undefined, pass: SparsePass): T | undefined {
  return mask && keptFraction(mask) < sparseBelow(pass, mask.shape.reduce((a, b) => a * b, 1)) ? mask : undefined;
}

/** Whether a pass over `weights` weights of which this fraction is kept runs sparse. */
export function worthSparseAt(kept: number, weights: number, pass: SparsePass): boolean {
  return kept < sparseBelow(pass, weights);
}

/**
 * The mask known at a forward pass, by its input's data. The engine saves that input through
 * Identity, which the project's wasm kernel (wasm-kernels/identity.ts) makes share the data; with
 * a copying Identity the lookup misses and the dense filter gradient runs, slower but as correct.
 * A forward pass without a mask clears the entry, so a stale mask is never applied.
 */
const masksByForwardInput = new WeakMap<object, { mask: Tensor | undefined; weightShape: readonly number[] }>();

export function recordForwardMask(input: TensorInfo, weightShape: readonly number[], mask: Tensor | undefined): void {
  masksByForwardInput.set(input.dataId, { mask, weightShape });
}

/** The mask the forward pass with this input and a weight of this shape knew, if any and alive. */
export function forwardMask(input: TensorInfo, weightShape: readonly number[]): Tensor | undefined {
  const entry = masksByForwardInput.get(input.dataId);
  return entry?.mask && !entry.mask.isDisposed && sameShape(entry.weightShape, weightShape) ? entry.mask : undefined;
}
