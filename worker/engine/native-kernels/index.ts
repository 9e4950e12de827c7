/**
 * Native CPU kernels for the `wasm` backend: GEMM from the system BLAS (OpenBLAS, Accelerate)
 * through swamp's own Node-API addon, working in place on the wasm heap. They replace the
 * matrix-product, convolution, max-pool-gradient, leading-axis Sum and inference BatchNorm kernels
 * registered before them (tfjs-backend-wasm's own or the project's pure-wasm ones), which stay as
 * the fallback for what the native path does not cover; and BatchNorm in training mode runs as two native kernels.
 */
import { getGradient, getKernel, registerGradient, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from "@tensorflow/tfjs-core";
import { loadNative, type NativeAddon } from "./addon.js";
import { batchNormKernelConfigs, batchNormTrainingGradConfig, BATCH_NORM_TRAINING, nativeFusedBatchNorm } from "./batchnorm-kernels.js";
import { routeBatchNormalizationToNative, routeReluAfterBatchNorm } from "./batchnorm-layer.js";
import { denseReluGradConfig, denseReluKernelConfig, DENSE_RELU, routeDenseReluToNative } from "./dense-layer.js";
import { elementwiseKernelConfigs } from "./elementwise-kernels.js";
import { sparseDenseGradConfig, sparseDenseKernelConfigs, SPARSE_DENSE } from "./sparse-dense.js";
import { registerReluGradient } from "../relu-gradient.js";
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput, nativeFusedConv2D } from "./conv-kernels.js";
import { nativeBatchMatMul, nativeFusedMatMul } from "./matmul-kernels.js";
import { nativeMaxPoolGrad } from "./pool-kernels.js";
import { nativeSum } from "./reduce-kernels.js";

export interface NativeKernelsStatus {
  loaded: boolean;
  /** Why the native kernels are not in use, when they are not. */
  reason?: string;
  /** OpenBLAS's kernel set in use (e.g. "Haswell", "Zen"); "" for a BLAS that does not say. */
  coreType?: string;
  /** The BLAS library in use. */
  library?: string;
  /** The kernel names registered natively for "wasm" (plus "BatchNormalization(training)" when routed). */
  kernels?: string[];
}

const BACKEND = "wasm";

const NATIVE_KERNELS: Record<string, (native: NativeAddon, fallback: KernelFunc | undefined) => KernelFunc> = {
  BatchMatMul: nativeBatchMatMul,
  _FusedMatMul: nativeFusedMatMul,
  Conv2D: nativeConv2D,
  FusedConv2D: nativeFusedConv2D,
  Conv2DBackpropInput: nativeConv2DBackpropInput,
  Conv2DBackpropFilter: nativeConv2DBackpropFilter,
  MaxPoolGrad: nativeMaxPoolGrad,
  Sum: nativeSum,
  FusedBatchNorm: nativeFusedBatchNorm,
};

export const NATIVE_KERNEL_NAMES: readonly string[] = Object.keys(NATIVE_KERNELS);

/** Whether tfjs-layers' BatchNormalization may use the native kernels (this thread). */
let batchNormEnabled = false;
/** Whether tfjs-layers' Dense with a ReLU, or pruned, may use the native kernels (this thread). */
let denseReluEnabled = false;

/** Kernel functions made here, so that registering twice does not wrap a native kernel in another. */
const ownKernels = new WeakSet<KernelFunc>();

/** Whether the kernel now registered for `wasm` under this name is one of these native kernels. */
export function isNativeKernelRegistered(kernelName: string): boolean {
  const config = getKernel(kernelName, BACKEND);
  return config !== undefined && ownKernels.has(config.kernelFunc);
}

/**
 * Loads the addon (unless SWAMP_NATIVE=0) and registers the native kernels for "wasm", replacing
 * whatever was registered under each name and keeping it as the fallback. Idempotent; call it
 * after the project's pure-wasm kernels are registered. Never throws: when the native kernels
 * cannot be used, `reason` says why and the registered kernels are left as they were.
 */
export function registerNativeKernels(): NativeKernelsStatus {
  const loaded = loadNative();
  if (!loaded.ok) return { loaded: false, reason: loaded.reason };
  const { addon, library, coreType } = loaded.native;
  for (const [kernelName, make] of Object.entries(NATIVE_KERNELS)) {
    const previous = getKernel(kernelName, BACKEND);
    if (previous && ownKernels.has(previous.kernelFunc)) continue;
    const kernelFunc = make(addon, previous?.kernelFunc);
    ownKernels.add(kernelFunc);
    if (previous) unregisterKernel(kernelName, BACKEND);
    const config: KernelConfig = {
      kernelName,
      backendName: BACKEND,
      kernelFunc,
      // The replaced kernel's setup (its cwrap of wasm functions) must still run if the backend
      // is initialised after this registration, since it remains the fallback.
      ...(previous?.setupFunc ? { setupFunc: previous.setupFunc } : {}),
      ...(previous?.disposeFunc ? { disposeFunc: previous.disposeFunc } : {}),
    };
    registerKernel(config);
  }
  const kernels = [...NATIVE_KERNEL_NAMES];
  if (!getKernel(BATCH_NORM_TRAINING, BACKEND)) batchNormKernelConfigs(addon).forEach((config) => registerKernel(config));
  for (const config of elementwiseKernelConfigs(addon)) {
    if (!getKernel(config.kernelName, BACKEND)) registerKernel(config);
    kernels.push(config.kernelName);
  }
  registerReluGradient();
  if (!getKernel(DENSE_RELU, BACKEND)) registerKernel(denseReluKernelConfig(addon));
  if (getGradient(DENSE_RELU) !== denseReluGradConfig) registerGradient(denseReluGradConfig);
  for (const config of sparseDenseKernelConfigs(addon)) if (!getKernel(config.kernelName, BACKEND)) registerKernel(config);
  if (getGradient(SPARSE_DENSE) !== sparseDenseGradConfig) registerGradient(sparseDenseGradConfig);
  denseReluEnabled = routeDenseReluToNative(() => denseReluEnabled);
  if (denseReluEnabled) kernels.push("Dense+ReLU(" + DENSE_RELU + ")", "Dense(pruned, " + SPARSE_DENSE + ")");
  if (getGradient(BATCH_NORM_TRAINING) !== batchNormTrainingGradConfig) registerGradient(batchNormTrainingGradConfig);
  batchNormEnabled = routeBatchNormalizationToNative(() => batchNormEnabled) && routeReluAfterBatchNorm();
  if (batchNormEnabled) kernels.push("BatchNormalization(training)");
  return { loaded: true, coreType, library, kernels };
}
