/**
 * Sum and Mean over leading axes (all but the last few), for wasm. tfjs-backend-wasm 4.22 reduces
 * only innermost axes, so for these it first transposes the whole tensor; BatchNorm statistics and
 * gradients and every bias gradient reduce over [0, 1, 2] of an NHWC tensor, tens of times a step.
 * Here the project's column-sum routine reads the tensor once, in place. Other reductions, and
 * other dtypes, go to the stock kernels.
 */
import { Mean, Sum, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./kernel-calls.js";
import { allocate, asWasmBackend, floatOffset, heapF32, routinesFor, sizeOf, withShape, type WasmBackend } from "./wasm-backend.js";

interface ReductionAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** How many leading axes `axis` reduces, when it is exactly a prefix of x's axes; else undefined. */
function leadingAxes(x: TensorInfo, axis: number | number[]): number | undefined {
  const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a, i) => a !== i)) return undefined;
  return axes.length;
}

function reduceLeading(backend: WasmBackend, x: TensorInfo, reduced: number, keepDims: boolean, scaleByCount: boolean): TensorInfo {
  const rows = sizeOf(x.shape.slice(0, reduced));
  const kept = x.shape.slice(reduced);
  const cols = sizeOf(kept);
  const out = allocate(backend, kept.length === 0 ? [] : kept);
  routinesFor(backend).columnSums(floatOffset(backend, x), rows, cols, floatOffset(backend, out));
  if (scaleByCount) {
    const heap = heapF32(backend);
    const at = floatOffset(backend, out);
    const scale = 1 / rows;
    for (let j = 0; j < cols; j++) heap[at + j] *= scale;
  }
  return keepDims ? withShape(out, [...x.shape.slice(0, reduced).map(() => 1), ...kept]) : out;
}

function reduction(kernelName: typeof Sum | typeof Mean): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as ReductionAttrs;
    const wasm = asWasmBackend(backend);
    const reduced = x.dtype === "float32" && sizeOf(x.shape) > 0 ? leadingAxes(x, axis) : undefined;
    if (reduced === undefined) return callStock(kernelName, wasm, { x }, attrs ?? {});
    return reduceLeading(wasm, x, reduced, keepDims, kernelName === Mean);
  };
}

export const sumConfig: KernelConfig = { kernelName: Sum, backendName: "wasm", kernelFunc: reduction(Sum) };
export const meanConfig: KernelConfig = { kernelName: Mean, backendName: "wasm", kernelFunc: reduction(Mean) };
