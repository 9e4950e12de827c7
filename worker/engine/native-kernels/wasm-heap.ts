/**
 * The parts of tfjs-backend-wasm's BackendWasm that native kernels need: tensors live in the
 * backend's WebAssembly memory at `dataIdMap.get(dataId).memoryOffset`, outputs are allocated
 * there by `makeOutput`, and `wasm.HEAPF32` views that memory. The heap view is replaced whenever
 * the memory grows, so it is read again after every allocation, right before the native call.
 */
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";

interface WasmTensorData {
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
}

export interface WasmBackendInternals {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

export function asWasmBackend(backend: unknown): WasmBackendInternals {
  const candidate = backend as Partial<WasmBackendInternals> | null;
  if (!candidate || typeof candidate.makeOutput !== "function" || !candidate.wasm || !candidate.dataIdMap) {
    throw new Error("native kernels: the backend is not tfjs-backend-wasm's BackendWasm");
  }
  return candidate as WasmBackendInternals;
}

/** The current heap view; call after the last makeOutput of a kernel. */
export function heapOf(backend: WasmBackendInternals): Float32Array {
  return backend.wasm.HEAPF32;
}

/** The element offset of a float32 tensor in the heap. */
export function elementOffset(backend: WasmBackendInternals, tensor: TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data || data.memoryOffset == null) throw new Error("native kernels: tensor has no data in the wasm heap");
  // wasm's malloc aligns to at least 8 bytes, so a float32 tensor always starts on an element.
  return data.memoryOffset >>> 2;
}
