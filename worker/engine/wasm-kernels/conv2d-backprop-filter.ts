/**
 * Conv2DBackpropFilter for wasm (tfjs-backend-wasm 4.22 has none, so no convolution can train).
 *
 * dW[kh, kw, c, o] = Σ over output pixels p of patch(p)[kh, kw, c] · dy[p, o], i.e. patchesᵀ · dy.
 * The output pixels are taken a chunk at a time: the chunk's patches are written transposed
 * ([patchSize, pixels], JS over the heap), multiplied on XNNPACK by the chunk's rows of dy, and the
 * partial products summed. The chunk is sized to stay in cache and to keep memory bounded (a whole
 * batch of 64-channel 32x32 patches would be 300 MB).
 */
import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callKernel, callStock } from "./kernel-calls.js";
import { patchGeometry, writePatchColumns } from "./patches.js";
import { allocate, asWasmBackend, floatOffset, heapF32, release, sizeOf, withShape, type WasmBackend } from "./wasm-backend.js";

/** Floats of patch matrix per chunk: measured best between 2^17 and 2^19 on the models' shapes. */
export const FILTER_GRADIENT_CHUNK_FLOATS = 1 << 18;

function filterGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const g = patchGeometry(info);
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const patchSize = info.filterHeight * info.filterWidth * info.inChannels;
  const outChannels = info.outChannels;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0 || sizeOf(filterShape) === 0) {
    const zeros = allocate(backend, filterShape);
    const at = floatOffset(backend, zeros);
    heapF32(backend).fill(0, at, at + sizeOf(filterShape));
    return zeros;
  }
  const chunk = Math.max(1, Math.min(pixels, Math.floor(FILTER_GRADIENT_CHUNK_FLOATS / patchSize)));
  const sum = chunk < pixels ? new Float32Array(patchSize * outChannels) : undefined;
  for (let first = 0; first < pixels; first += chunk) {
    const count = Math.min(chunk, pixels - first);
    const columns = allocate(backend, [1, patchSize, count]);
    const dyRows = allocate(backend, [1, count, outChannels]);
    const heap = heapF32(backend);
    writePatchColumns(heap, floatOffset(backend, x), g, first, count, floatOffset(backend, columns));
    const dyFrom = floatOffset(backend, dy) + first * outChannels;
    heap.copyWithin(floatOffset(backend, dyRows), dyFrom, dyFrom + count * outChannels);
    const partial = callStock("BatchMatMul", backend, { a: columns, b: dyRows }, { transposeA: false, transposeB: false });
    release(backend, columns, dyRows);
    if (!sum) return withShape(partial, filterShape);
    const after = heapF32(backend);
    const from = floatOffset(backend, partial);
    for (let i = 0; i < sum.length; i++) sum[i] += after[from + i]!;
    release(backend, partial);
  }
  const out = allocate(backend, filterShape);
  heapF32(backend).set(sum!, floatOffset(backend, out));
  return out;
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
