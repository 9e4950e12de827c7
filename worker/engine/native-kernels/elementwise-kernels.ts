/**
 * The optimiser step and the ReLU gradient as single native passes. TF.js composes the first from
 * six element-wise operations per variable (each a full read and write of the weights) and the
 * second from Step, Cast and Multiply; in a LeNet-300-100 step those chains cost as much as every
 * matrix product together.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { MASKED_SGD_KERNEL, type MaskedSgdAttrs } from "../sgd.js";
import { RELU_GRAD_KERNEL } from "../relu-gradient.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";
import { keptIndices } from "../weight-masks.js";
import { worthSparse } from "./sparse-routing.js";

function maskedSgdKernel(native: NativeAddon): KernelFunc {
  return (args) => {
    const { variable, gradient, velocity, mask } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as MaskedSgdAttrs;
    const backend = asWasmBackend(args.backend);
    const newVariable = backend.makeOutput(variable!.shape, "float32");
    const newVelocity = backend.makeOutput(variable!.shape, "float32");
    const heap = heapF32(backend);
    const at = (t: TensorInfo) => floatOffset(backend, t);
    const sparse = worthSparse(mask, "optimizerStep");
    if (sparse) {
      const kept = keptIndices(sparse);
      native.maskedSgdKept(
        util.sizeFromShape(variable!.shape), kept, kept.length,
        heap, at(variable!), heap, at(gradient!), heap, at(velocity!),
        attrs.learningRate, attrs.momentum, attrs.weightDecay,
        heap, at(newVariable), heap, at(newVelocity),
      );
      return [newVariable, newVelocity];
    }
    native.maskedSgd(
      util.sizeFromShape(variable!.shape),
      heap, at(variable!), heap, at(gradient!), heap, at(velocity!),
      mask ? heap : null, mask ? at(mask) : 0,
      attrs.learningRate, attrs.momentum, attrs.weightDecay,
      heap, at(newVariable), heap, at(newVelocity),
    );
    return [newVariable, newVelocity];
  };
}

function reluGradKernel(native: NativeAddon): KernelFunc {
  return (args) => {
    const { dy, x } = args.inputs as Record<string, TensorInfo>;
    const backend = asWasmBackend(args.backend);
    const dx = backend.makeOutput(x!.shape, "float32");
    const heap = heapF32(backend);
    native.reluGrad(util.sizeFromShape(x!.shape), heap, floatOffset(backend, dy!), heap, floatOffset(backend, x!), heap, floatOffset(backend, dx));
    return dx;
  };
}

export function elementwiseKernelConfigs(native: NativeAddon): KernelConfig[] {
  return [
    { kernelName: MASKED_SGD_KERNEL, backendName: "wasm", kernelFunc: maskedSgdKernel(native) },
    { kernelName: RELU_GRAD_KERNEL, backendName: "wasm", kernelFunc: reluGradKernel(native) },
  ];
}
