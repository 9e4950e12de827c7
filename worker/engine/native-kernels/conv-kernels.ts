/**
 * Conv2D, FusedConv2D, Conv2DBackpropInput and Conv2DBackpropFilter on the native im2col/col2im
 * + GEMM path, for any stride, padding (same, valid, explicit) and dilation, NHWC only (TF.js's
 * layers use NHWC; NCHW goes to the replaced kernel).
 */
import { backend_util, type KernelFunc, type Tensor, type TensorInfo } from "@tensorflow/tfjs-core";
import type { EpilogueArguments, NativeAddon } from "./addon.js";
import { prepareEpilogue } from "./epilogue.js";
import { requireFallback } from "./matmul-kernels.js";
import { forwardMask, recordForwardMask, usableMask, worthSparse } from "./sparse-routing.js";
import { keptByChannel } from "../weight-masks.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape?: Shape4;
  filterShape?: Shape4;
  activation?: string;
  leakyreluAlpha?: number;
}

/** The 15 fields of native/src/conv.h's swamp_conv_geometry, in order. */
export function convGeometry(info: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}

function isNativeLayout(attrs: ConvAttrs, ...tensors: TensorInfo[]): boolean {
  return (attrs.dataFormat ?? "NHWC") === "NHWC" && tensors.every((t) => t.dtype === "float32" && t.shape.length === 4);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** As swamp_sparse_conv_suits: stride 1, dilation 1, and every side padded by 0 to filter − 1. */
function sparseKernelsSuit(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  const within = (pad: number, filter: number) => pad >= 0 && pad <= filter - 1;
  return (
    info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1 &&
    info.outHeight > 0 && info.outWidth > 0 && info.batchSize > 0 &&
    within(top, info.filterHeight) && within(bottom, info.filterHeight) && within(left, info.filterWidth) && within(right, info.filterWidth)
  );
}

/** The filter's mask when the sparse kernels can compute this convolution, else undefined. */
function convMask(info: backend_util.Conv2DInfo, filter: TensorInfo): Tensor | undefined {
  return sparseKernelsSuit(info) ? usableMask(filter) : undefined;
}

function forwardConv(native: NativeAddon, fallback: KernelFunc | undefined, name: string, fused: boolean): KernelFunc {
  const orElse = requireFallback(fallback, name);
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    if (!x || !filter || !isNativeLayout(attrs, x, filter)) return orElse(args);
    const info = backend_util.computeConv2DInfo(
      x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode,
    );
    const backend = asWasmBackend(args.backend);
    const epilogue = fused
      ? prepareEpilogue(backend, { bias, preluActivationWeights, activation: attrs.activation, leakyreluAlpha: attrs.leakyreluAlpha }, info.outChannels)
      : undefined;
    if (fused && !epilogue) return orElse(args);
    const geometry = convGeometry(info);
    const known = convMask(info, filter);
    recordForwardMask(x, filter.shape, known);
    const mask = worthSparse(known, "forward");
    const out = backend.makeOutput(info.outShape, "float32");
    const heap = heapF32(backend);
    const epilogueArguments: EpilogueArguments = epilogue ? epilogue.argumentsFor(heap) : [];
    if (mask) {
      const kept = keptByChannel(mask, "output");
      native.sparseConv2d(geometry, heap, floatOffset(backend, x), heap, floatOffset(backend, filter), kept, kept.length, heap, floatOffset(backend, out), ...epilogueArguments);
    } else {
      native.conv2d(geometry, heap, floatOffset(backend, x), heap, floatOffset(backend, filter), heap, floatOffset(backend, out), ...epilogueArguments);
    }
    return out;
  };
}

export function nativeConv2D(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  return forwardConv(native, fallback, "Conv2D", false);
}

export function nativeFusedConv2D(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  return forwardConv(native, fallback, "FusedConv2D", true);
}

export function nativeConv2DBackpropInput(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  const orElse = requireFallback(fallback, "Conv2DBackpropInput");
  return (args) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    if (!dy || !filter || !attrs.inputShape || !isNativeLayout(attrs, dy, filter)) return orElse(args);
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape, filter.shape as Shape4, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast",
    );
    // A dy that does not fit the geometry is reported by the replaced kernel (or TF.js's op).
    if (!sameShape(dy.shape, info.outShape)) return orElse(args);
    const backend = asWasmBackend(args.backend);
    const geometry = convGeometry(info);
    const mask = worthSparse(convMask(info, filter), "forward");
    const out = backend.makeOutput(info.inShape, "float32");
    const heap = heapF32(backend);
    if (mask) {
      const kept = keptByChannel(mask, "input");
      native.sparseConv2dBackpropInput(geometry, heap, floatOffset(backend, dy), heap, floatOffset(backend, filter), kept, kept.length, heap, floatOffset(backend, out));
    } else {
      native.conv2dBackpropInput(geometry, heap, floatOffset(backend, dy), heap, floatOffset(backend, filter), heap, floatOffset(backend, out));
    }
    return out;
  };
}

export function nativeConv2DBackpropFilter(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  const orElse = requireFallback(fallback, "Conv2DBackpropFilter");
  return (args) => {
    const { x, dy } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    if (!x || !dy || !attrs.filterShape || !isNativeLayout(attrs, x, dy)) return orElse(args);
    const info = backend_util.computeConv2DInfo(
      x.shape as Shape4, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast",
    );
    if (!sameShape(dy.shape, info.outShape)) return orElse(args);
    const backend = asWasmBackend(args.backend);
    const geometry = convGeometry(info);
    const mask = sparseKernelsSuit(info) ? worthSparse(forwardMask(x, info.filterShape), "filterGradient") : undefined;
    const out = backend.makeOutput(info.filterShape, "float32");
    const heap = heapF32(backend);
    if (mask) {
      const kept = keptByChannel(mask, "output");
      native.sparseConv2dBackpropFilter(geometry, heap, floatOffset(backend, x), heap, floatOffset(backend, dy), kept, kept.length, heap, floatOffset(backend, out));
    } else {
      native.conv2dBackpropFilter(geometry, heap, floatOffset(backend, x), heap, floatOffset(backend, dy), heap, floatOffset(backend, out));
    }
    return out;
  };
}
