/**
 * Conv2DBackpropFilter for wasm (tfjs-backend-wasm 4.22 has none, so no convolution can train).
 *
 * dW[kh, kw, c, o] = Σ over output pixels p of patch(p)[kh, kw, c] · dy[p, o], i.e. patchesᵀ · dy,
 * computed by the project's wasm routines (heap-routines.ts), two ways:
 * - stride 1 with a few input channels: products of shifted channel planes (no patch matrix);
 * - otherwise: the output pixels a chunk at a time, the chunk's patches written transposed
 *   ([patchSize, pixels]) and multiplied by the chunk's rows of dy, summed in place. The chunk
 *   stays in cache and keeps memory bounded (a whole batch of 64-channel 32x32 patches is 300 MB).
 * Both beat XNNPACK here, which must pack dy (pixels x outChannels) at ~250 multiply-adds a float.
 */
import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callKernel } from "./kernel-calls.js";
import { patchGeometry } from "./patches.js";
import { allocate, asWasmBackend, floatOffset, heapF32, release, routinesFor, sizeOf, type WasmBackend } from "./wasm-backend.js";

/** Floats of patch matrix per chunk, so that a chunk stays in L2. */
const PATCH_CHUNK_FLOATS = 1 << 16;
/** Output rows per product on the shifted-plane path (keeps both operands' rows in L2). */
const SHIFTED_CHUNK = 512;
/** Fewer input channels than this make too few product rows for the shifted-plane path. */
const SHIFTED_MIN_CHANNELS = 4;

function zeros(backend: WasmBackend, shape: number[]): TensorInfo {
  const out = allocate(backend, shape);
  const at = floatOffset(backend, out);
  heapF32(backend).fill(0, at, at + sizeOf(shape));
  return out;
}

/** dW = Σ over chunks of patchesᵀ · dy: patches by im2col, products by the SIMD routine, summed in place. */
function patchGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, filterShape: number[], pixels: number): TensorInfo {
  const g = patchGeometry(info);
  const patchSize = info.filterHeight * info.filterWidth * info.inChannels;
  const outChannels = info.outChannels;
  const chunk = Math.max(1, Math.min(pixels, Math.floor(PATCH_CHUNK_FLOATS / patchSize)));
  const out = allocate(backend, filterShape);
  const columns = allocate(backend, [patchSize * chunk]);
  const dyColumns = allocate(backend, [outChannels * chunk]);
  const routines = routinesFor(backend);
  const xAt = floatOffset(backend, x);
  const dyAt = floatOffset(backend, dy);
  const columnsAt = floatOffset(backend, columns);
  const dyColumnsAt = floatOffset(backend, dyColumns);
  const outAt = floatOffset(backend, out);
  for (let first = 0; first < pixels; first += chunk) {
    const count = Math.min(chunk, pixels - first);
    routines.patchColumns(xAt, columnsAt, first, count, g);
    routines.transpose(dyAt + first * outChannels, count, outChannels, dyColumnsAt);
    routines.productNT(columnsAt, count, dyColumnsAt, count, outAt, outChannels, patchSize, outChannels, count, first > 0);
  }
  release(backend, columns, dyColumns);
  return out;
}

/**
 * Stride 1: no patch matrix at all. With x padded and split into channel planes, and dy placed on
 * the same padded grid (zeros beyond its edge), filter tap (kh, kw) sees x's planes shifted by
 * kh·Wp + kw grid cells, so dW[kh, kw] = shifted xᵀ · dy is one product whose left operand rows are
 * the planes themselves. Grid cells right of dy's edge are wasted (Wp / ow of the work), which the
 * saved im2col more than repays once there are a few input channels.
 */
function shiftedPlanesGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, filterShape: number[]): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const paddedHeight = outHeight + filterHeight - 1;
  const paddedWidth = outWidth + filterWidth - 1;
  const cells = paddedHeight * paddedWidth;
  const plane = batchSize * cells;
  // The last taps of the last image read up to fw − 1 cells past the planes, against dy's zeros;
  // they must be finite (0 · NaN is NaN), so the planes get that many zeroed cells more.
  const xSize = inChannels * plane + filterWidth;
  const xPlanes = allocate(backend, [xSize]);
  const dyPlanes = allocate(backend, [outChannels * plane]);
  const out = allocate(backend, filterShape);
  const heap = heapF32(backend);
  const xAt = floatOffset(backend, xPlanes);
  const dyAt = floatOffset(backend, dyPlanes);
  const outAt = floatOffset(backend, out);
  heap.fill(0, xAt, xAt + xSize);
  heap.fill(0, dyAt, dyAt + outChannels * plane);
  heap.fill(0, outAt, outAt + sizeOf(filterShape));
  const routines = routinesFor(backend);
  // At stride 1 the padded input is exactly the grid: (oh + fh − 1) x (ow + fw − 1).
  routines.toPaddedPlanes(floatOffset(backend, x), batchSize, inHeight, inWidth, inChannels, info.padInfo.top, info.padInfo.left, paddedHeight, paddedWidth, xAt);
  routines.toPaddedPlanes(floatOffset(backend, dy), batchSize, outHeight, outWidth, outChannels, 0, 0, paddedHeight, paddedWidth, dyAt);
  // Per image, only grid rows above dy's bottom edge carry gradient.
  const usefulCells = outHeight * paddedWidth;
  for (let n = 0; n < batchSize; n++) {
    for (let start = 0; start < usefulCells; start += SHIFTED_CHUNK) {
      const length = Math.min(SHIFTED_CHUNK, usefulCells - start);
      const cell = n * cells + start;
      const accumulate = n > 0 || start > 0;
      for (let kh = 0; kh < filterHeight; kh++) {
        for (let kw = 0; kw < filterWidth; kw++) {
          const tap = (kh * filterWidth + kw) * inChannels * outChannels;
          routines.productNT(xAt + cell + kh * paddedWidth + kw, plane, dyAt + cell, plane, outAt + tap, outChannels, inChannels, outChannels, length, accumulate);
        }
      }
    }
  }
  release(backend, xPlanes, dyPlanes);
  return out;
}

function filterGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0 || sizeOf(filterShape) === 0) return zeros(backend, filterShape);
  const shifted = info.strideHeight === 1 && info.strideWidth === 1 && info.inChannels >= SHIFTED_MIN_CHANNELS;
  return shifted ? shiftedPlanesGradient(backend, x, dy, info, filterShape) : patchGradient(backend, x, dy, info, filterShape, pixels);
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const wasm = asWasmBackend(backend);
  if (x.dtype !== "float32" || dy.dtype !== "float32") {
    throw new Error(`Conv2DBackpropFilter (wasm): only float32 is supported, got x ${x.dtype} and dy ${dy.dtype}`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`Conv2DBackpropFilter (wasm): x and dy must be rank 4, got shapes [${x.shape}] and [${dy.shape}]`);
  }
  // The patches are gathered channels-last; NCHW tensors are rearranged first.
  const channelsFirst = backend_util.convertConv2DDataFormat(dataFormat) === "channelsFirst";
  const xNhwc = channelsFirst ? callKernel("Transpose", wasm, { x }, { perm: [0, 2, 3, 1] }) : x;
  const dyNhwc = channelsFirst ? callKernel("Transpose", wasm, { x: dy }, { perm: [0, 2, 3, 1] }) : dy;
  try {
    const info = backend_util.computeConv2DInfo(xNhwc.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, "channelsLast");
    if (info.outShape.join() !== dyNhwc.shape.join()) {
      throw new Error(`Conv2DBackpropFilter (wasm): dy has shape [${dyNhwc.shape}] but a convolution of x [${xNhwc.shape}] with filter [${filterShape}] gives [${info.outShape}]`);
    }
    return filterGradient(wasm, xNhwc, dyNhwc, info);
  } finally {
    if (channelsFirst) release(wasm, xNhwc, dyNhwc);
  }
};

export const conv2DBackpropFilterConfig: KernelConfig = { kernelName: Conv2DBackpropFilter, backendName: "wasm", kernelFunc: conv2DBackpropFilter };
