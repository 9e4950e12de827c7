/**
 * BatchNorm in training mode as two native kernels (forward: batch statistics and normalisation;
 * backward: the gradient with respect to x, γ and β), each two passes over the data. TF.js
 * composes the same computation from moments, FusedBatchNorm and their gradients, about twenty
 * full-size operations, one of them a Tile that alone took longer than every convolution of a
 * Conv-4 training step on wasm. tfjs-layers' BatchNormalization calls that composition directly,
 * so its `call` is routed here in training mode on the wasm backend; inference and every other
 * case keep the original code. The moving averages are updated exactly as tfjs-layers does.
 * Inference (TF.js's FusedBatchNorm kernel, with given statistics) runs natively too: the wasm
 * backend's version took almost half of a Conv-4 evaluation.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { requireFallback } from "./matmul-kernels.js";
import { asWasmBackend, floatOffset, heapF32 } from "../wasm-kernels/wasm-backend.js";

export const BATCH_NORM_TRAINING = "SwampBatchNormTraining";
export const BATCH_NORM_TRAINING_GRAD = "SwampBatchNormTrainingGrad";

/**
 * Both training kernels' attributes. With `relu`, the forward kernel's output is max(0, y), the
 * ReLU that follows a BatchNorm in the Conv-N and ResNet blocks computed in the same pass, and the
 * gradient kernel takes dy at that ReLU's output.
 */
export interface BatchNormTrainingAttrs {
  epsilon: number;
  relu?: boolean;
}

function rowsAndChannels(shape: number[]): [number, number] {
  const channels = shape[shape.length - 1]!;
  return [tf.util.sizeFromShape(shape) / channels, channels];
}

function forwardKernel(native: NativeAddon): KernelFunc {
  return (args) => {
    const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
    const { epsilon, relu } = args.attrs as unknown as BatchNormTrainingAttrs;
    const [rows, channels] = rowsAndChannels(x!.shape);
    const backend = asWasmBackend(args.backend);
    const y = backend.makeOutput(x!.shape, "float32");
    const mean = backend.makeOutput([channels], "float32");
    const variance = backend.makeOutput([channels], "float32");
    const heap = heapF32(backend);
    const at = (t: TensorInfo) => floatOffset(backend, t);
    native.batchNormTraining(heap, at(x!), rows, channels, heap, at(gamma!), heap, at(beta!), epsilon, heap, at(y), heap, at(mean), heap, at(variance), relu ? 1 : 0);
    return [y, mean, variance];
  };
}

function gradKernel(native: NativeAddon): KernelFunc {
  return (args) => {
    const { dy, x, gamma, beta, mean, variance, dmean, dvariance } = args.inputs as Record<string, TensorInfo | undefined>;
    const { epsilon, relu } = args.attrs as unknown as BatchNormTrainingAttrs;
    const [rows, channels] = rowsAndChannels(x!.shape);
    const backend = asWasmBackend(args.backend);
    const dx = backend.makeOutput(x!.shape, "float32");
    const dgamma = backend.makeOutput([channels], "float32");
    const dbeta = backend.makeOutput([channels], "float32");
    const heap = heapF32(backend);
    const at = (t: TensorInfo) => floatOffset(backend, t);
    native.batchNormTrainingGrad(
      heap, at(dy!), heap, at(x!), rows, channels, heap, at(gamma!), heap, at(mean!), heap, at(variance!), epsilon,
      dmean ? heap : null, dmean ? at(dmean) : 0, dvariance ? heap : null, dvariance ? at(dvariance) : 0,
      heap, at(dx), heap, at(dgamma), heap, at(dbeta), heap, at(beta!), relu ? 1 : 0,
    );
    return [dx, dgamma, dbeta];
  };
}

/**
 * FusedBatchNorm (inference with given mean and variance) when every per-channel input has one
 * value per channel of x's last axis; anything else (broadcast shapes, other dtypes) goes to the
 * replaced kernel.
 */
export function nativeFusedBatchNorm(native: NativeAddon, fallback: KernelFunc | undefined): KernelFunc {
  const orElse = requireFallback(fallback, "FusedBatchNorm");
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const epsilon = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
    if (!x || !mean || !variance || x.shape.length === 0) return orElse(args);
    const [rows, channels] = rowsAndChannels(x.shape);
    const perChannel = [x, mean, variance, offset, scale].every((t) => t === undefined || t.dtype === "float32") &&
      [mean, variance, offset, scale].every((t) => t === undefined || tf.util.sizeFromShape(t.shape) === channels);
    if (!perChannel) return orElse(args);
    const backend = asWasmBackend(args.backend);
    const y = backend.makeOutput(x.shape, "float32");
    const heap = heapF32(backend);
    const at = (t: TensorInfo) => floatOffset(backend, t);
    native.batchNormInference(
      heap, at(x), rows, channels, heap, at(mean), heap, at(variance),
      offset ? heap : null, offset ? at(offset) : 0, scale ? heap : null, scale ? at(scale) : 0, epsilon, heap, at(y),
    );
    return y;
  };
}

export function batchNormKernelConfigs(native: NativeAddon): KernelConfig[] {
  return [
    { kernelName: BATCH_NORM_TRAINING, backendName: "wasm", kernelFunc: forwardKernel(native) },
    { kernelName: BATCH_NORM_TRAINING_GRAD, backendName: "wasm", kernelFunc: gradKernel(native) },
  ];
}

/**
 * The gradient of the forward kernel: one call of the backward kernel for x, γ and β together.
 * It runs in the body of the gradient function, inside the engine's "backward" scope, so the three
 * results are released with that scope even when the engine asks for fewer than all of them.
 */
export const batchNormTrainingGradConfig: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ["x", "gamma", "beta"],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, gamma, beta, mean, variance] = saved;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(
      BATCH_NORM_TRAINING_GRAD,
      { dy: dy!, x: x!, gamma: gamma!, beta: beta!, mean: mean!, variance: variance!, dmean: dmean!, dvariance: dvariance! },
      attrs as NamedAttrMap,
    ) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};
