/**
 * MaxPoolGrad natively: tfjs-backend-wasm's version took a sixth of a Conv-4 training step. NHWC
 * float32 only; anything else goes to the replaced kernel.
 */
import { backend_util, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { convGeometry } from "./conv-kernels.js";
import { requireFallback } from "./matmul-kernels.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export function nativeMaxPoolGrad(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  const orElse = requireFallback(fallback, "MaxPoolGrad");
  return (args) => {
    const { dy, input } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as PoolAttrs;
    if (!dy || !input || input.dtype !== "float32" || dy.dtype !== "float32" || input.shape.length !== 4) return orElse(args);
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    if (dy.shape.join() !== info.outShape.join()) return orElse(args);
    const backend = asWasmBackend(args.backend);
    const dx = backend.makeOutput(input.shape, "float32");
    const heap = heapF32(backend);
    native.maxPoolGrad(convGeometry(info), heap, floatOffset(backend, input), heap, floatOffset(backend, dy), heap, floatOffset(backend, dx));
    return dx;
  };
}
