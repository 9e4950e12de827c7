/**
 * Identity for wasm that shares the data (one more reference) instead of copying it, as the cpu
 * and webgl backends do: tensors are immutable, and tfjs-core clones through Identity on every
 * gradient step (about 80 full-activation copies per ResNet-20 step with the stock kernel).
 */
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./kernel-calls.js";
import { asWasmBackend } from "./wasm-backend.js";

const identity: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const wasm = asWasmBackend(backend);
  if (x.dtype === "string") return callStock(Identity, wasm, { x });
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityConfig: KernelConfig = { kernelName: Identity, backendName: "wasm", kernelFunc: identity };
