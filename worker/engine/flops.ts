/**
 * Multiply-add work of a model per example, for reporting achieved GFLOP/s. Only dense and
 * convolution layers count (they dominate); a training step costs about three forward passes
 * (forward, gradient by input, gradient by weight).
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Mask } from "./mask.js";
import type { ModelSession } from "./model-session.js";

export function forwardFlopsPerExample(model: tfl.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kernel = (layer as unknown as { kernel?: { shape: number[] } }).kernel;
    if (!kernel) continue;
    const kernelSize = kernel.shape.reduce((a, b) => a * b, 1);
    const className = layer.getClassName();
    if (className === "Dense") flops += 2 * kernelSize;
    else if (className === "Conv2D") {
      const output = layer.outputShape as number[];
      flops += 2 * kernelSize * output[1]! * output[2]!;
    }
  }
  return flops;
}

export function trainingFlopsPerExample(model: tfl.LayersModel): number {
  return 3 * forwardFlopsPerExample(model);
}

/** Multiply-adds ×2 per example of the dense and convolution layers over their kept weights. */
export function keptFlopsPerExample(session: ModelSession, mask: Mask): number {
  const { layout } = session;
  const keptByLayer = new Map<string, { kept: number; total: number }>();
  layout.prunable.forEach((position, i) => {
    let kept = 0;
    for (const bit of mask[i]!) kept += bit;
    keptByLayer.set(layout.entries[position]!.layer, { kept, total: mask[i]!.length });
  });
  const dense = forwardFlopsPerExample(session.model);
  let removed = 0;
  for (const layer of session.model.layers) {
    const counts = keptByLayer.get(layer.name);
    if (!counts || counts.total === 0) continue;
    const className = layer.getClassName();
    const pixels = className === "Conv2D" ? (layer.outputShape as number[])[1]! * (layer.outputShape as number[])[2]! : className === "Dense" ? 1 : 0;
    removed += 2 * (counts.total - counts.kept) * pixels;
  }
  return dense - removed;
}
