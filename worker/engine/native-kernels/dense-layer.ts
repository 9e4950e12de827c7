/**
 * tfjs-layers' Dense with a ReLU, as one kernel forward (product, bias and ReLU in the native
 * GEMM's epilogue) and a short backward (one ReLU-gradient pass, two products, one column sum).
 * TF.js fuses these only outside gradient recording, so during training every hidden layer of a
 * LeNet ran as product, bias add and ReLU, and a backward of about a dozen operations. Routed on
 * the wasm backend for rank-2 float32 inputs with a bias; everything else runs tfjs-layers' own code.
 * A kernel whose pruning mask keeps few weights (ReLU or no activation) goes to the sparse Dense
 * kernels instead (sparse-dense.ts), in training, evaluation and BatchNorm recalibration alike.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { nativeFusedMatMul } from "./matmul-kernels.js";
import { routeLayerCall, singleInput } from "./layer-routing.js";
import { reluGradient } from "../relu-gradient.js";
import { sparseDense } from "./sparse-dense.js";
import { usableMask, worthSparse } from "./sparse-routing.js";

export const DENSE_RELU = "SwampDenseRelu";

export function denseReluKernelConfig(native: NativeAddon): KernelConfig {
  const fused = nativeFusedMatMul(native, undefined);
  const kernelFunc: KernelFunc = ({ inputs, backend }) => {
    const { x, kernel, bias } = inputs as Record<string, TensorInfo>;
    return fused({ inputs: { a: x!, b: kernel!, bias: bias! }, attrs: { transposeA: false, transposeB: false, activation: "relu" }, backend });
  };
  return { kernelName: DENSE_RELU, backendName: "wasm", kernelFunc };
}

export const denseReluGradConfig: tf.GradConfig = {
  kernelName: DENSE_RELU,
  inputsToSave: ["x", "kernel"],
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [x, kernel, y] = saved;
    // ReLU(z) > 0 exactly where z > 0, so the output stands in for the pre-activation.
    const dz = reluGradient(dy as tf.Tensor, y!);
    return {
      x: () => tf.matMul(dz, kernel!, false, true),
      kernel: () => tf.matMul(x!, dz, true, false),
      bias: () => tf.sum(dz, 0),
    };
  },
};

interface DenseLike {
  kernel: { read(): tf.Tensor } | null;
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string } | null;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): void;
}

/**
 * Installs the routing once per thread; `enabled()` is asked at every call. Returns false when
 * tfjs-layers' class was not found.
 */
export function routeDenseReluToNative(enabled: () => boolean): boolean {
  return routeLayerCall("Dense", Symbol.for("swamp.nativeDenseRelu"), (original) =>
    function (this: DenseLike, inputs, kwargs) {
      const input = singleInput(inputs);
      const activation = this.activation?.getClassName();
      const routable =
        input !== undefined && input.rank === 2 && input.dtype === "float32" && input.shape[0]! > 0 && this.kernel !== null && this.bias !== null &&
        (activation === "relu" || activation === "linear") && tf.getBackend() === "wasm" && enabled();
      if (!routable) return original.call(this, inputs, kwargs);
      const kernel = this.kernel!.read();
      const mask = worthSparse(usableMask(kernel), "denseForward");
      if (!mask && activation !== "relu") return original.call(this, inputs, kwargs);
      return tf.tidy(() => {
        this.invokeCallHook(inputs, kwargs);
        if (mask) return sparseDense(input, kernel, this.bias!.read(), mask, activation === "relu" ? "relu" : "linear");
        return tf.engine().runKernel(DENSE_RELU, { x: input, kernel, bias: this.bias!.read() }) as tf.Tensor;
      });
    },
  );
}
