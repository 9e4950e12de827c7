/**
 * _FusedMatMul for wasm: the product on XNNPACK for every transpose combination, with bias and
 * activation fused into XNNPACK's output where it can (rank-1 bias, linear/relu/relu6) and applied
 * by the wasm kernels for the rest (broadcast biases, prelu, leakyrelu, sigmoid, elu).
 */
import { _FusedMatMul, type _FusedMatMulAttrs, type _FusedMatMulInputs, type KernelConfig, type KernelFunc } from "@tensorflow/tfjs-core";
import { callStock } from "./kernel-calls.js";
import { matMul, type FusedActivation } from "./matrix-product.js";
import { asWasmBackend } from "./wasm-backend.js";

const fusedMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, bias, preluActivationWeights } = inputs as unknown as _FusedMatMulInputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as _FusedMatMulAttrs;
  const wasm = asWasmBackend(backend);
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    return callStock(_FusedMatMul, wasm, { a, b, bias, preluActivationWeights }, attrs ?? {});
  }
  return matMul(wasm, a, b, transposeA, transposeB, {
    bias: bias ?? undefined,
    activation: (activation ?? "linear") as FusedActivation,
    preluActivationWeights: preluActivationWeights ?? undefined,
    leakyreluAlpha,
  });
};

export const fusedMatMulConfig: KernelConfig = { kernelName: _FusedMatMul, backendName: "wasm", kernelFunc: fusedMatMul };
