/**
 * Sum over leading axes natively (bias gradients: Σ over the batch, and over height and width for
 * convolutions). tfjs-backend-wasm transposes the reduced axes to the end first, a full copy of
 * the gradient; other reductions go to the replaced kernel.
 */
import { util, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { requireFallback } from "./matmul-kernels.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

export function nativeSum(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  const orElse = requireFallback(fallback, "Sum");
  return (args) => {
    const { x } = args.inputs as { x?: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims?: boolean };
    if (!x || x.dtype !== "float32" || x.shape.length === 0) return orElse(args);
    const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    // Only a prefix of the axes: the rest of each row is contiguous.
    if (axes.length === 0 || axes.some((a, i) => a !== i)) return orElse(args);
    const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const cols = util.sizeFromShape(kept);
    const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const backend = asWasmBackend(args.backend);
    const out = backend.makeOutput(outShape, "float32");
    const heap = heapF32(backend);
    native.columnSums(heap, floatOffset(backend, x), rows, cols, heap, floatOffset(backend, out));
    return out;
  };
}
