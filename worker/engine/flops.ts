/**
 * Multiply-add work of a model per example, for reporting achieved GFLOP/s. Only dense and
 * convolution layers count (they dominate); a training step costs about three forward passes
 * (forward, gradient by input, gradient by weight).
 */
import type * as tfl from "@tensorflow/tfjs-layers";

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
