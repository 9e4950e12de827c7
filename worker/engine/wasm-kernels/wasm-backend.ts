/**
 * The parts of tfjs-backend-wasm 4.22's BackendWasm that the project's kernels rely on, kept in one
 * narrow interface so that an upstream change breaks here, loudly, and nowhere else.
 *
 * Tensors live in the backend's WebAssembly memory at `dataIdMap.get(dataId).memoryOffset`;
 * `makeOutput` allocates there and `disposeData` frees. `wasm.HEAPF32` is a view of that memory
 * which is replaced whenever the memory grows, so it must be read again after every allocation
 * (including every kernel call that allocates its output).
 */
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";
import { heapRoutines, type HeapRoutines, type WasmMemory } from "./heap-routines.js";

interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
}

export interface WasmBackend {
  /** `asm.memory` is the module's exported WebAssembly.Memory (Emscripten's name for the exports). */
  wasm: { HEAPF32: Float32Array; HEAPU8: Uint8Array; asm?: { memory?: WasmMemory } };
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  /** How many tensors share the data (1: only the one holding it). */
  refCount(dataId: object): number;
}

export function asWasmBackend(backend: unknown): WasmBackend {
  const candidate = backend as Partial<WasmBackend> | null;
  if (!candidate || typeof candidate.makeOutput !== "function" || typeof candidate.disposeData !== "function" || !candidate.wasm || !candidate.dataIdMap) {
    throw new Error("project wasm kernels: the backend is not tfjs-backend-wasm's BackendWasm");
  }
  return candidate as WasmBackend;
}

/** The current float32 view of the heap; read it after the last allocation it must see. */
export function heapF32(backend: WasmBackend): Float32Array {
  return backend.wasm.HEAPF32;
}

/** Where a float32 tensor's first element sits in `heapF32` (malloc aligns to 8 bytes or more). */
export function floatOffset(backend: WasmBackend, tensor: TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data || data.memoryOffset == null) throw new Error("project wasm kernels: tensor has no data in the wasm heap");
  return data.memoryOffset >>> 2;
}

/** Where a tensor's first byte sits in `wasm.HEAPU8`. */
export function byteOffset(backend: WasmBackend, tensor: TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data || data.memoryOffset == null) throw new Error("project wasm kernels: tensor has no data in the wasm heap");
  return data.memoryOffset >>> 0;
}

/** A new float32 tensor on the heap; its contents are whatever malloc left there. */
export function allocate(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, "float32");
}

/** Frees intermediates made inside a kernel (each must be released exactly once). */
export function release(backend: WasmBackend, ...tensors: TensorInfo[]): void {
  for (const tensor of tensors) backend.disposeData(tensor.dataId);
}

/** The same data seen with another shape of the same size (no copy, no new reference). */
export function withShape(tensor: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: tensor.dataId, shape, dtype: tensor.dtype };
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

/** The project's wasm routines, instantiated over this backend's memory. */
export function routinesFor(backend: WasmBackend): HeapRoutines {
  const memory = backend.wasm.asm?.memory;
  if (!memory) throw new Error("project wasm kernels: tfjs-backend-wasm does not expose its WebAssembly memory (wasm.asm.memory)");
  return heapRoutines(memory);
}
