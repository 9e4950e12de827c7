/**
 * Moving convolution patches between an NHWC image on the wasm heap and a patch matrix, in plain
 * JS over the heap: `writePatchColumns` (im2col, transposed) for the filter gradient and
 * `addPatchRows` (col2im) for the input gradient at strides above 1.
 *
 * A patch is indexed by (kh, kw, c) → (kh * filterWidth + kw) * inChannels + c, the layout of a
 * [filterHeight, filterWidth, inChannels, outChannels] filter, so patch matrices multiply with
 * filters and filter gradients directly. Output pixel p = (n * outHeight + oy) * outWidth + ox.
 */
import type { backend_util } from "@tensorflow/tfjs-core";

export interface PatchGeometry {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

export function patchGeometry(info: backend_util.Conv2DInfo): PatchGeometry {
  return {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Per output pixel of a range: the top-left input row, column and element offset of its patch. */
class PatchOrigins {
  rows = new Int32Array(0);
  cols = new Int32Array(0);
  offsets = new Int32Array(0);

  fill(g: PatchGeometry, imageOffset: number, firstPixel: number, count: number): void {
    if (this.rows.length < count) {
      this.rows = new Int32Array(count);
      this.cols = new Int32Array(count);
      this.offsets = new Int32Array(count);
    }
    const pixelsPerImage = g.outHeight * g.outWidth;
    let n = Math.floor(firstPixel / pixelsPerImage);
    let oy = Math.floor((firstPixel - n * pixelsPerImage) / g.outWidth);
    let ox = firstPixel - n * pixelsPerImage - oy * g.outWidth;
    for (let q = 0; q < count; q++) {
      const row = oy * g.strideHeight - g.padTop;
      const col = ox * g.strideWidth - g.padLeft;
      this.rows[q] = row;
      this.cols[q] = col;
      this.offsets[q] = imageOffset + ((n * g.inHeight + row) * g.inWidth + col) * g.inChannels;
      if (++ox === g.outWidth) {
        ox = 0;
        if (++oy === g.outHeight) {
          oy = 0;
          n++;
        }
      }
    }
  }
}

const origins = new PatchOrigins();

/**
 * im2col, transposed: for output pixels [firstPixel, firstPixel + count), writes a
 * [patchSize, count] matrix at `columnsOffset` whose column q is the patch of pixel firstPixel + q
 * (zeros where the patch hangs over the padding). Transposed so that the product with the output
 * gradient's rows, patchesᵀ · dy = dW, needs no other rearrangement.
 *
 * Each matrix row (one filter tap and channel) is written left to right, one output row's run of
 * pixels at a time: within a run the source steps by strideWidth · inChannels, so the inner loop
 * is a plain strided copy with no per-element bounds checks.
 */
export function writePatchColumns(heap: Float32Array, imageOffset: number, g: PatchGeometry, firstPixel: number, count: number, columnsOffset: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  const pixelsPerImage = outHeight * outWidth;
  const sourceStep = strideWidth * inChannels;
  const lastPixel = firstPixel + count;
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      // Output columns whose tap (kh, kw) falls inside the image: ox in [oxLow, oxHigh).
      const oxLow = Math.max(0, Math.ceil((padLeft - kw) / strideWidth));
      const oxHigh = Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - kw) / strideWidth) + 1);
      for (let c = 0; c < inChannels; c++) {
        let target = columnsOffset + ((kh * filterWidth + kw) * inChannels + c) * count;
        let pixel = firstPixel;
        while (pixel < lastPixel) {
          const n = Math.floor(pixel / pixelsPerImage);
          const withinImage = pixel - n * pixelsPerImage;
          const oy = Math.floor(withinImage / outWidth);
          const oxStart = withinImage - oy * outWidth;
          const oxEnd = Math.min(outWidth, oxStart + (lastPixel - pixel));
          const iy = oy * strideHeight + kh - padTop;
          if (iy < 0 || iy >= inHeight || oxLow >= oxHigh) {
            heap.fill(0, target, target + (oxEnd - oxStart));
          } else {
            const from = Math.max(oxStart, oxLow);
            const to = Math.max(from, Math.min(oxEnd, oxHigh));
            heap.fill(0, target, target + Math.min(from, oxEnd) - oxStart);
            let source = imageOffset + ((n * inHeight + iy) * inWidth + from * strideWidth + kw - padLeft) * inChannels + c;
            const end = target + (to - oxStart);
            for (let t = target + (from - oxStart); t < end; t++) {
              heap[t] = heap[source]!;
              source += sourceStep;
            }
            heap.fill(0, end, target + (oxEnd - oxStart));
          }
          target += oxEnd - oxStart;
          pixel += oxEnd - oxStart;
        }
      }
    }
  }
}

/**
 * col2im: adds each row q of a [count, patchSize] matrix at `rowsOffset` (the gradient of the patch
 * of output pixel firstPixel + q) into the image gradient at `imageOffset`, dropping what falls on
 * the padding.
 */
export function addPatchRows(heap: Float32Array, imageOffset: number, g: PatchGeometry, firstPixel: number, count: number, rowsOffset: number): void {
  origins.fill(g, imageOffset, firstPixel, count);
  const { rows, cols, offsets } = origins;
  const channels = g.inChannels;
  const runLength = g.filterWidth * channels;
  const patchSize = g.filterHeight * runLength;
  for (let q = 0; q < count; q++) {
    const row0 = rows[q]!;
    const col0 = cols[q]!;
    const kwFirst = Math.max(0, -col0);
    const kwEnd = Math.min(g.filterWidth, g.inWidth - col0);
    if (kwFirst >= kwEnd) continue;
    const source0 = rowsOffset + q * patchSize;
    for (let kh = 0; kh < g.filterHeight; kh++) {
      const row = row0 + kh;
      if (row < 0 || row >= g.inHeight) continue;
      const from = kwFirst * channels;
      const to = kwEnd * channels;
      const target = offsets[q]! + kh * g.inWidth * channels;
      const source = source0 + kh * runLength;
      for (let i = from; i < to; i++) heap[target + i] += heap[source + i]!;
    }
  }
}
