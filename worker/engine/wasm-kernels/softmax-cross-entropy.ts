/**
 * The mean softmax cross-entropy of a batch and its gradient with respect to the logits, in one
 * kernel: TF.js's composition (one-hot labels, log-sum-exp, reductions, and their gradients) is
 * about twenty small operations per training step, each with its own dispatch cost, which in a
 * LeNet-300-100 step add up to a sixth of the time. Sums run in double precision.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { SOFTMAX_CROSS_ENTROPY_KERNEL } from "../loss.js";
import { asWasmBackend, byteOffset, floatOffset, heapF32 } from "./wasm-backend.js";

const softmaxCrossEntropy: KernelFunc = ({ inputs, backend }) => {
  const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
  if (logits.dtype !== "float32" || logits.shape.length !== 2) throw new Error(`${SOFTMAX_CROSS_ENTROPY_KERNEL}: logits must be a float32 matrix, got ${logits.dtype} [${logits.shape.join(", ")}]`);
  const [rows, classes] = logits.shape as [number, number];
  if (labels.dtype !== "int32" || labels.shape.length !== 1 || labels.shape[0] !== rows) throw new Error(`${SOFTMAX_CROSS_ENTROPY_KERNEL}: labels must be ${rows} int32 class indices, got ${labels.dtype} [${labels.shape.join(", ")}]`);
  const wasm = asWasmBackend(backend);
  const loss = wasm.makeOutput([], "float32");
  const gradient = wasm.makeOutput([rows, classes], "float32");
  // Views taken after the last allocation: growing the heap replaces its buffer.
  const heap = heapF32(wasm);
  const labelValues = new Int32Array(heap.buffer, byteOffset(wasm, labels), rows);
  const x = floatOffset(wasm, logits);
  const dx = floatOffset(wasm, gradient);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = x + r * classes;
    const label = labelValues[r]!;
    if (!(label >= 0 && label < classes)) throw new Error(`${SOFTMAX_CROSS_ENTROPY_KERNEL}: label ${label} of row ${r} is not a class index in [0, ${classes})`);
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, heap[row + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(heap[row + c]! - max);
    const logSumExp = max + Math.log(sum);
    total += logSumExp - heap[row + label]!;
    for (let c = 0; c < classes; c++) heap[dx + r * classes + c] = (Math.exp(heap[row + c]! - logSumExp) - (c === label ? 1 : 0)) / rows;
  }
  heap[floatOffset(wasm, loss)] = rows > 0 ? total / rows : 0;
  return [loss, gradient];
};

export const softmaxCrossEntropyConfig: KernelConfig = { kernelName: SOFTMAX_CROSS_ENTROPY_KERNEL, backendName: "wasm", kernelFunc: softmaxCrossEntropy };
