/**
 * Routes tfjs-layers' BatchNormalization, in training mode on the wasm backend, to the native
 * batch-norm kernels (batchnorm-kernels.ts). Everything else — inference, other backends, axes
 * other than the last, layers without γ or β — runs tfjs-layers' own code. The output, the
 * gradients and the moving-average updates are those of tfjs-layers (tested against it on the
 * cpu backend); only the way they are computed changes.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import { BATCH_NORM_TRAINING } from "./batchnorm-kernels.js";
import { routeLayerCall, singleInput } from "./layer-routing.js";

interface LayerVariableLike {
  read(): tf.Tensor;
  write(value: tf.Tensor): unknown;
}

interface BatchNormalizationLike {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariableLike;
  beta: LayerVariableLike;
  movingMean: LayerVariableLike;
  movingVariance: LayerVariableLike;
}

/** As tfjs-layers' BatchNormalization does it: moving ← moving − (moving − value)·(1 − momentum). */
function updateMovingAverage(variable: LayerVariableLike, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const current = variable.read();
    variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum)));
  });
}

function routable(layer: BatchNormalizationLike, input: tf.Tensor): boolean {
  const rank = input.rank;
  const axis = layer.axis >= 0 ? layer.axis : layer.axis + rank;
  return rank >= 2 && axis === rank - 1 && input.dtype === "float32" && layer.center && layer.scale && tf.getBackend() === "wasm";
}

/**
 * Installs the routing once per thread; `enabled()` is asked at every call, so the native path can
 * be switched off without reinstalling. Returns false when tfjs-layers' class was not found.
 */
export function routeBatchNormalizationToNative(enabled: () => boolean): boolean {
  return routeLayerCall("BatchNormalization", Symbol.for("swamp.nativeBatchNormalization"), (original) =>
    function (this: BatchNormalizationLike, inputs, kwargs: { training?: boolean } | undefined) {
      const input = singleInput(inputs);
      if (!kwargs?.training || !input || !enabled() || !routable(this, input)) return original.call(this, inputs, kwargs);
      return tf.tidy(() => {
        const [y, mean, variance] = tf.engine().runKernel(
          BATCH_NORM_TRAINING,
          { x: input, gamma: this.gamma.read(), beta: this.beta.read() },
          { epsilon: this.epsilon },
        ) as tf.Tensor[];
        updateMovingAverage(this.movingMean, mean!, this.momentum);
        updateMovingAverage(this.movingVariance, variance!, this.momentum);
        return y!;
      });
    },
  );
}
