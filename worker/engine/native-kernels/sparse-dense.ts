/**
 * A pruned Dense layer in time proportional to its kept weights: forward (with bias and ReLU),
 * input gradient and kernel gradient on the sparse convolutions of native/src/sparse_conv.c, the
 * layer being the 1×1 convolution of one image one pixel row long, a pixel per example. The
 * kernels take the mask as an input; which passes run sparse is decided per pass by its kept
 * fraction (sparse-routing.ts), so a layer just below one crossover may run its forward sparse and
 * its kernel gradient dense, still to the same values within float rounding.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { prepareEpilogue } from "./epilogue.js";
import { worthSparse } from "./sparse-routing.js";
import { reluGradient } from "../relu-gradient.js";
import { keptByChannel } from "../weight-masks.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

/** Inputs x [batch, in], kernel [in, out], bias [out], mask [in, out]; attrs { activation: "relu" | "linear" }. */
export const SPARSE_DENSE = "SwampSparseDense";
/** Inputs dy [batch, out], kernel, mask; output dx [batch, in]. */
export const SPARSE_DENSE_INPUT_GRAD = "SwampSparseDenseInputGrad";
/** Inputs x, dy, mask; output the kernel gradient [in, out], 0 where the mask is. */
export const SPARSE_DENSE_KERNEL_GRAD = "SwampSparseDenseKernelGrad";

export type SparseDenseActivation = "relu" | "linear";

/** native/src/conv.h's geometry of x [batch, in] · kernel [in, out] as a 1×1 convolution. */
function denseGeometry(batch: number, inputs: number, outputs: number): Int32Array {
  return Int32Array.from([1, 1, batch, inputs, 1, batch, outputs, 1, 1, 1, 1, 1, 1, 0, 0]);
}

function dims(kernel: TensorInfo): [number, number] {
  return [kernel.shape[0]!, kernel.shape[1]!];
}

function forwardKernel(native: NativeAddon): KernelFunc {
  return ({ inputs, attrs, backend: anyBackend }) => {
    const { x, kernel, bias, mask } = inputs as Record<string, TensorInfo>;
    const backend = asWasmBackend(anyBackend);
    const [ins, outs] = dims(kernel!);
    const batch = x!.shape[0]!;
    const epilogue = prepareEpilogue(backend, { bias: bias!, activation: (attrs as { activation: SparseDenseActivation }).activation }, outs);
    if (!epilogue) throw new Error(`${SPARSE_DENSE}: bias of shape [${bias!.shape}] is not one value per output`);
    const out = backend.makeOutput([batch, outs], "float32");
    const heap = heapF32(backend);
    const kept = keptByChannel(mask!, "output");
    native.sparseConv2d(
      denseGeometry(batch, ins, outs), heap, floatOffset(backend, x!), heap, floatOffset(backend, kernel!),
      kept, kept.length, heap, floatOffset(backend, out), ...epilogue.argumentsFor(heap),
    );
    return out;
  };
}

function inputGradKernel(native: NativeAddon): KernelFunc {
  return ({ inputs, backend: anyBackend }) => {
    const { dy, kernel, mask } = inputs as Record<string, TensorInfo>;
    const backend = asWasmBackend(anyBackend);
    const [ins, outs] = dims(kernel!);
    const batch = dy!.shape[0]!;
    const dx = backend.makeOutput([batch, ins], "float32");
    const heap = heapF32(backend);
    const kept = keptByChannel(mask!, "input");
    native.sparseConv2dBackpropInput(
      denseGeometry(batch, ins, outs), heap, floatOffset(backend, dy!), heap, floatOffset(backend, kernel!),
      kept, kept.length, heap, floatOffset(backend, dx),
    );
    return dx;
  };
}

function kernelGradKernel(native: NativeAddon): KernelFunc {
  return ({ inputs, backend: anyBackend }) => {
    const { x, dy, mask } = inputs as Record<string, TensorInfo>;
    const backend = asWasmBackend(anyBackend);
    const [ins, outs] = [x!.shape[1]!, dy!.shape[1]!];
    const batch = x!.shape[0]!;
    const dkernel = backend.makeOutput([ins, outs], "float32");
    const heap = heapF32(backend);
    const kept = keptByChannel(mask!, "output");
    native.sparseConv2dBackpropFilter(
      denseGeometry(batch, ins, outs), heap, floatOffset(backend, x!), heap, floatOffset(backend, dy!),
      kept, kept.length, heap, floatOffset(backend, dkernel),
    );
    return dkernel;
  };
}

export function sparseDenseKernelConfigs(native: NativeAddon): KernelConfig[] {
  return [
    { kernelName: SPARSE_DENSE, backendName: "wasm", kernelFunc: forwardKernel(native) },
    { kernelName: SPARSE_DENSE_INPUT_GRAD, backendName: "wasm", kernelFunc: inputGradKernel(native) },
    { kernelName: SPARSE_DENSE_KERNEL_GRAD, backendName: "wasm", kernelFunc: kernelGradKernel(native) },
  ];
}

export const sparseDenseGradConfig: tf.GradConfig = {
  kernelName: SPARSE_DENSE,
  inputsToSave: ["x", "kernel", "mask"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, kernel, mask, y] = saved as tf.Tensor[];
    // ReLU(z) > 0 exactly where z > 0, so the output stands in for the pre-activation.
    const dz = (attrs as { activation: SparseDenseActivation }).activation === "relu" ? reluGradient(dy as tf.Tensor, y!) : (dy as tf.Tensor);
    return {
      x: () =>
        worthSparse(mask!, "denseInputGradient")
          ? (tf.engine().runKernel(SPARSE_DENSE_INPUT_GRAD, { dy: dz, kernel: kernel!, mask: mask! }) as tf.Tensor)
          : tf.matMul(dz, kernel!, false, true),
      kernel: () =>
        worthSparse(mask!, "denseKernelGradient")
          ? (tf.engine().runKernel(SPARSE_DENSE_KERNEL_GRAD, { x: x!, dy: dz, mask: mask! }) as tf.Tensor)
          : tf.matMul(x!, dz, true, false),
      bias: () => tf.sum(dz, 0),
      // A constant of the layer, never trained.
      mask: () => tf.zerosLike(mask!),
    };
  },
};

/** x · kernel + bias, then the activation, on the sparse kernels; the caller has checked the mask. */
export function sparseDense(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, mask: tf.Tensor, activation: SparseDenseActivation): tf.Tensor {
  return tf.engine().runKernel(SPARSE_DENSE, { x, kernel, bias, mask }, { activation } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
