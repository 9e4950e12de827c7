/**
 * The project's wasm training kernels, registered over (or, for Conv2DBackpropFilter, beside)
 * tfjs-backend-wasm 4.22's own: the kernels a training step needs that the stock backend lacks or
 * runs in scalar loops. Each is checked against the cpu backend in test/unit/wasm-kernels*.test.ts.
 *
 *   BatchMatMul, _FusedMatMul   every transpose combination on XNNPACK    (matrix-product.ts)
 *   Conv2DBackpropFilter        missing upstream; project wasm routines   (heap-routines.ts)
 *   Conv2DBackpropInput         transposed convolution on XNNPACK, or patch products + col2im
 *   MaxPoolGrad                 project wasm routine
 *   Sum, Mean                   over leading axes (BatchNorm, bias gradients) by column sums
 *   Tile                        block copies (BatchNorm's gradient tiles to full activations)
 *   Identity                    shares data instead of copying it
 *   Add, Sub, Multiply          activation with a per-channel vector, SIMD rows
 *   SwampSoftmaxCrossEntropy    the training loss and its gradient in one call (../loss.ts)
 *
 * Each falls back to the stock kernel for what it does not speed up. Later layers (e.g. native
 * BLAS kernels) register after these and may keep them as fallbacks.
 */
import { getKernel, getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig } from "@tensorflow/tfjs-core";
import { batchMatMulConfig } from "./batch-mat-mul.js";
import { conv2DBackpropFilterConfig } from "./conv2d-backprop-filter.js";
import { conv2DBackpropInputConfig } from "./conv2d-backprop-input.js";
import { fusedMatMulConfig } from "./fused-mat-mul.js";
import { identityConfig } from "./identity.js";
import { keepStockKernel } from "./kernel-calls.js";
import { meanConfig, sumConfig } from "./leading-axes-reduction.js";
import { maxPoolGradConfig } from "./max-pool-grad.js";
import { addConfig, multiplyConfig, subConfig } from "./row-vector-arithmetic.js";
import { softmaxCrossEntropyConfig } from "./softmax-cross-entropy.js";
import { tileConfig } from "./tile.js";

/** The name BackendInfo.kernels reports for this set. */
export const PROJECT_WASM_KERNEL_SET = "project-wasm";

const PROJECT_KERNELS: readonly KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  sumConfig,
  meanConfig,
  tileConfig,
  identityConfig,
  addConfig,
  subConfig,
  multiplyConfig,
  softmaxCrossEntropyConfig,
];

export const PROJECT_WASM_KERNEL_NAMES: readonly string[] = PROJECT_KERNELS.map((config) => config.kernelName);

let registered = false;

/**
 * Registers the project's kernels for the "wasm" backend in this thread (kernel registries are
 * per thread). Idempotent. Call it before the wasm backend is initialised or after: a replaced
 * kernel's stock setup is carried over, and runs at initialisation or has run already.
 */
export function registerProjectWasmKernels(): string[] {
  if (registered) return [...PROJECT_WASM_KERNEL_NAMES];
  if (getKernelsForBackend("wasm").length === 0) {
    throw new Error("registerProjectWasmKernels: no wasm kernels are registered; import @tensorflow/tfjs-backend-wasm first");
  }
  // Keep every stock kernel as it is now, so that project kernels reach tfjs-backend-wasm's own
  // implementations even after later layers replace them.
  for (const config of getKernelsForBackend("wasm")) keepStockKernel(config);
  for (const config of PROJECT_KERNELS) {
    const stock = getKernel(config.kernelName, "wasm");
    if (stock) unregisterKernel(config.kernelName, "wasm");
    registerKernel({
      ...config,
      // The stock kernel stays callable (it is the XNNPACK path for untransposed products), so its
      // setup (the cwrap of its wasm function) must still run when the backend initialises.
      ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
      ...(stock?.disposeFunc ? { disposeFunc: stock.disposeFunc } : {}),
    });
  }
  registered = true;
  return [...PROJECT_WASM_KERNEL_NAMES];
}

export function projectWasmKernelsRegistered(): boolean {
  return registered;
}
