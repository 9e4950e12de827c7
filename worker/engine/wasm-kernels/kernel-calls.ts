/**
 * How the project's kernels call other wasm kernels: directly through their kernel functions, as
 * tfjs's own backends do, so nothing is recorded on the gradient tape or tracked by the engine and
 * every intermediate is freed by the caller with `release`.
 *
 * The stock kernels that a project kernel replaces are kept here when they are replaced, because
 * the project kernels still hand them the cases they do well (e.g. untransposed products, which
 * tfjs-backend-wasm runs on XNNPACK).
 */
import { getKernel, type KernelConfig, type NamedAttrMap, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend.js";

const BACKEND_NAME = "wasm";
const stockKernels = new Map<string, KernelConfig>();

/** Remembers tfjs-backend-wasm's own kernel before a project kernel replaces it (first one wins). */
export function keepStockKernel(config: KernelConfig): void {
  if (!stockKernels.has(config.kernelName)) stockKernels.set(config.kernelName, config);
}

export function stockKernel(kernelName: string): KernelConfig | undefined {
  return stockKernels.get(kernelName);
}

type Inputs = Record<string, TensorInfo | undefined>;

function invoke(config: KernelConfig | undefined, kernelName: string, backend: WasmBackend, inputs: Inputs, attrs: NamedAttrMap): TensorInfo {
  if (!config) throw new Error(`project wasm kernels: no "${kernelName}" kernel is registered for the wasm backend`);
  const result = config.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, backend: backend as never, attrs });
  if (Array.isArray(result)) throw new Error(`project wasm kernels: "${kernelName}" returned several outputs where one was expected`);
  return result;
}

/** Runs tfjs-backend-wasm's own implementation of a kernel the project replaced. */
export function callStock(kernelName: string, backend: WasmBackend, inputs: Inputs, attrs: NamedAttrMap = {}): TensorInfo {
  return invoke(stockKernels.get(kernelName) ?? getKernel(kernelName, BACKEND_NAME), kernelName, backend, inputs, attrs);
}

/** Runs whatever is registered now for the wasm backend under this name. */
export function callKernel(kernelName: string, backend: WasmBackend, inputs: Inputs, attrs: NamedAttrMap = {}): TensorInfo {
  return invoke(getKernel(kernelName, BACKEND_NAME), kernelName, backend, inputs, attrs);
}
