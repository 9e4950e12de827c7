/** BatchMatMul for wasm with every transpose combination on XNNPACK (see matrix-product.ts). */
import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./kernel-calls.js";
import { matMul } from "./matrix-product.js";
import { asWasmBackend } from "./wasm-backend.js";

const batchMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const wasm = asWasmBackend(backend);
  // Only float32 has an XNNPACK path; the stock kernel reports anything else.
  if (a.dtype !== "float32" || b.dtype !== "float32") return callStock(BatchMatMul, wasm, { a, b }, { transposeA, transposeB });
  return matMul(wasm, a, b, transposeA, transposeB);
};

export const batchMatMulConfig: KernelConfig = { kernelName: BatchMatMul, backendName: "wasm", kernelFunc: batchMatMul };
