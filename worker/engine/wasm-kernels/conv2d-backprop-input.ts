/**
 * Conv2DBackpropInput for wasm (tfjs-backend-wasm 4.22's own is a scalar loop).
 *
 * Stride 1: dx is the forward convolution of dy, padded by (filter − 1 − forward padding), with
 * the filter flipped in both spatial dimensions and its in/out channels swapped; that convolution
 * runs on XNNPACK.
 * Other strides, paddings the formula above would make negative, and 'valid' convolutions whose
 * input is much larger than their output (the transposed convolution would mostly multiply
 * padding): each output pixel's patch gradient is dy[p] · Wᵀ, a chunk of pixels at a time, then
 * added back onto the input positions it came from (col2im); both by the project's wasm routines.
 */
import { backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callKernel, callStock } from "./kernel-calls.js";
import { patchGeometry } from "./patches.js";
import { allocate, asWasmBackend, floatOffset, heapF32, release, routinesFor, sizeOf, type WasmBackend } from "./wasm-backend.js";

/** Floats of patch-gradient matrix per chunk of the col2im path, so that a chunk stays in L2. */
const INPUT_GRADIENT_CHUNK_FLOATS = 1 << 16;
/** Input pixels per output pixel above which the patch path beats the transposed convolution. */
const MAX_CONVOLUTION_WASTE = 1.3;
/**
 * Fewer input channels than this (the transposed convolution's output channels) leave XNNPACK's
 * convolution too little to multiply per pixel: measured slower than the patch path below 16.
 */
const MIN_CONVOLUTION_CHANNELS = 16;

/** W[fh, fw, in, out] → W'[kh, kw, out, in] = W[fh − 1 − kh, fw − 1 − kw, in, out]. */
function flippedSwappedFilter(backend: WasmBackend, filter: TensorInfo): TensorInfo {
  const [fh, fw, inChannels, outChannels] = filter.shape as [number, number, number, number];
  const flipped = allocate(backend, [fh, fw, outChannels, inChannels]);
  const heap = heapF32(backend);
  const source = floatOffset(backend, filter);
  const target = floatOffset(backend, flipped);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const from = source + ((fh - 1 - kh) * fw + (fw - 1 - kw)) * inChannels * outChannels;
      const to = target + (kh * fw + kw) * outChannels * inChannels;
      for (let i = 0; i < inChannels; i++) {
        for (let o = 0; o < outChannels; o++) heap[to + o * inChannels + i] = heap[from + i * outChannels + o]!;
      }
    }
  }
  return flipped;
}

/** The paddings of the stride-1 transposed convolution; negative where it does not apply. */
function transposedPadding(info: backend_util.Conv2DInfo): [number, number, number, number] {
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight + info.padInfo.top;
  const right = info.inWidth - info.outWidth + info.padInfo.left;
  return [top, bottom, left, right];
}

function inputGradientByConvolution(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, padding: [number, number, number, number]): TensorInfo {
  const [top, bottom, left, right] = padding;
  const flipped = flippedSwappedFilter(backend, filter);
  try {
    return callStock("Conv2D", backend, { x: dy, filter: flipped }, {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: "NHWC",
      dilations: [1, 1],
    });
  } finally {
    release(backend, flipped);
  }
}

function inputGradientByPatches(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const g = patchGeometry(info);
  const patchSize = info.filterHeight * info.filterWidth * info.inChannels;
  const outChannels = info.outChannels;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  const dx = allocate(backend, info.inShape);
  heapF32(backend).fill(0, floatOffset(backend, dx), floatOffset(backend, dx) + sizeOf(info.inShape));
  if (pixels === 0 || patchSize === 0) return dx;
  const chunk = Math.max(1, Math.min(pixels, Math.floor(INPUT_GRADIENT_CHUNK_FLOATS / patchSize)));
  const patchGradients = allocate(backend, [chunk * patchSize]);
  const filterT = allocate(backend, [outChannels * patchSize]);
  const routines = routinesFor(backend);
  const dyAt = floatOffset(backend, dy);
  const filterTAt = floatOffset(backend, filterT);
  const patchesAt = floatOffset(backend, patchGradients);
  const dxAt = floatOffset(backend, dx);
  routines.transpose(floatOffset(backend, filter), patchSize, outChannels, filterTAt);
  for (let first = 0; first < pixels; first += chunk) {
    const count = Math.min(chunk, pixels - first);
    // patch gradients [count, patchSize] = dy rows [count, outChannels] · Wᵀ [outChannels, patchSize]
    routines.productNN(dyAt + first * outChannels, outChannels, filterTAt, patchSize, patchesAt, patchSize, count, patchSize, outChannels, false);
    routines.addPatchRows(dxAt, patchesAt, first, count, g);
  }
  release(backend, filterT);
  release(backend, patchGradients);
  return dx;
}

const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  const wasm = asWasmBackend(backend);
  if (dy.dtype !== "float32" || filter.dtype !== "float32") {
    throw new Error(`Conv2DBackpropInput (wasm): only float32 is supported, got dy ${dy.dtype} and filter ${filter.dtype}`);
  }
  if (dy.shape.length !== 4 || filter.shape.length !== 4) {
    throw new Error(`Conv2DBackpropInput (wasm): dy and filter must be rank 4, got shapes [${dy.shape}] and [${filter.shape}]`);
  }
  const channelsFirst = backend_util.convertConv2DDataFormat(dataFormat) === "channelsFirst";
  const inShapeNhwc = (channelsFirst ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : [...inputShape]) as [number, number, number, number];
  const dyNhwc = channelsFirst ? callKernel("Transpose", wasm, { x: dy }, { perm: [0, 2, 3, 1] }) : dy;
  let dx: TensorInfo | undefined;
  try {
    const info = backend_util.computeConv2DInfo(inShapeNhwc, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, "channelsLast");
    if (info.outShape.join() !== dyNhwc.shape.join()) {
      throw new Error(`Conv2DBackpropInput (wasm): dy has shape [${dyNhwc.shape}] but a convolution of an input [${inShapeNhwc}] with filter [${filter.shape}] gives [${info.outShape}]`);
    }
    const padding = transposedPadding(info);
    // The transposed convolution computes every input position from a full filter window, so it
    // multiplies (in/out pixels) times more than the patch products: worth it only near 1.
    const wasted = (info.inHeight * info.inWidth) / Math.max(1, info.outHeight * info.outWidth);
    const byConvolution = info.strideHeight === 1 && info.strideWidth === 1 && padding.every((p) => p >= 0) && wasted <= MAX_CONVOLUTION_WASTE && info.inChannels >= MIN_CONVOLUTION_CHANNELS && sizeOf(info.inShape) > 0 && sizeOf(dyNhwc.shape) > 0;
    dx = byConvolution ? inputGradientByConvolution(wasm, dyNhwc, filter, padding) : inputGradientByPatches(wasm, dyNhwc, filter, info);
  } finally {
    if (channelsFirst) release(wasm, dyNhwc);
  }
  if (!channelsFirst) return dx;
  const dxNchw = callKernel("Transpose", wasm, { x: dx }, { perm: [0, 3, 1, 2] });
  release(wasm, dx);
  return dxNchw;
};

export const conv2DBackpropInputConfig: KernelConfig = { kernelName: Conv2DBackpropInput, backendName: "wasm", kernelFunc: conv2DBackpropInput };
