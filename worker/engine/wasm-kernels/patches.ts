/**
 * The geometry of a convolution as the patch routines (heap-routines.ts) read it.
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
