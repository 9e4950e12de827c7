/**
 * The bias + activation that TF.js fuses into _FusedMatMul and FusedConv2D, translated into the
 * addon's epilogue arguments. Only what is a per-column (per-channel) vector or a scalar is
 * supported natively; anything else is left to the kernel the native one replaced.
 */
import { util, type TensorInfo } from "@tensorflow/tfjs-core";
import type { EpilogueArguments } from "./addon.js";
import { floatOffset, type WasmBackend } from "../wasm-kernels/wasm-backend.js";

/** tfjs-backend-wasm's FusableActivation numbering, which the addon shares. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 };

export interface EpilogueInputs {
  bias?: TensorInfo | null;
  preluActivationWeights?: TensorInfo | null;
  activation?: string | null;
  leakyreluAlpha?: number | null;
}

/** A vector that broadcasts along the last axis: shape [..., 1, cols] or a single value. */
function isColumnVector(tensor: TensorInfo, cols: number): boolean {
  if (tensor.dtype !== "float32") return false;
  const n = util.sizeFromShape(tensor.shape);
  if (n === 1) return true;
  return n === cols && tensor.shape[tensor.shape.length - 1] === cols;
}

export interface PreparedEpilogue {
  /** Builds the arguments; call after the kernel's last allocation (it reads the heap). */
  argumentsFor(heap: Float32Array): EpilogueArguments;
}

/** Undefined when the combination cannot run natively. */
export function prepareEpilogue(backend: WasmBackend, inputs: EpilogueInputs, cols: number): PreparedEpilogue | undefined {
  const activation = ACTIVATIONS[inputs.activation ?? "linear"];
  if (activation === undefined) return undefined;
  const bias = inputs.bias ?? null;
  if (bias && !isColumnVector(bias, cols)) return undefined;
  const prelu = activation === ACTIVATIONS.prelu ? (inputs.preluActivationWeights ?? null) : null;
  if (activation === ACTIVATIONS.prelu && (!prelu || !isColumnVector(prelu, cols))) return undefined;
  const alpha = inputs.leakyreluAlpha ?? 0.2;
  return {
    argumentsFor(heap) {
      return [
        bias ? heap : null,
        bias ? floatOffset(backend, bias) : 0,
        bias ? util.sizeFromShape(bias.shape) : 1,
        activation,
        alpha,
        prelu ? heap : null,
        prelu ? floatOffset(backend, prelu) : 0,
        prelu ? util.sizeFromShape(prelu.shape) : 1,
      ];
    },
  };
}
