/**
 * Routes tfjs-layers' BatchNormalization, in training mode on the wasm backend, to the native
 * batch-norm kernels (batchnorm-kernels.ts). Everything else — inference, other backends, axes
 * other than the last, layers without γ or β — runs tfjs-layers' own code. The output, the
 * gradients and the moving-average updates are those of tfjs-layers (tested against it on the
 * cpu backend); only the way they are computed changes.
 *
 * A BatchNorm whose only consumer is a ReLU activation layer (every one in the Conv-N blocks, the
 * first of each ResNet block) can take that ReLU into its kernels once `fuseBatchNormRelu` has
 * marked it: its output is then already through the ReLU, and the activation layer passes it on.
 * That saves two full passes over the activations per step (the ReLU and its gradient).
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-layers";
import { BATCH_NORM_TRAINING, type BatchNormTrainingAttrs } from "./batchnorm-kernels.js";
import { routeLayerCall, singleInput } from "./layer-routing.js";

/** On a BatchNormalization layer whose output only a ReLU activation layer reads. */
const FOLLOWED_BY_RELU = Symbol.for("swamp.batchNormFollowedByRelu");

/** Outputs of BatchNorm calls that took their ReLU in: a ReLU applied to them again changes nothing. */
const throughRelu = new WeakSet<tf.Tensor>();

interface LayerVariableLike {
  read(): tf.Tensor;
  write(value: tf.Tensor): unknown;
}

interface BatchNormalizationLike {
  [FOLLOWED_BY_RELU]?: boolean;
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
      const relu = this[FOLLOWED_BY_RELU] === true;
      const output = tf.tidy(() => {
        const attrs: BatchNormTrainingAttrs = { epsilon: this.epsilon, relu };
        const [y, mean, variance] = tf.engine().runKernel(
          BATCH_NORM_TRAINING,
          { x: input, gamma: this.gamma.read(), beta: this.beta.read() },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        updateMovingAverage(this.movingMean, mean!, this.momentum);
        updateMovingAverage(this.movingVariance, variance!, this.momentum);
        return y!;
      });
      if (relu) throughRelu.add(output);
      return output;
    },
  );
}

/** Asked on every activation layer's call in training, so it reads the activation object (as the Conv2D routing does) rather than building the layer's config. */
function isReluActivation(layer: tfl.layers.Layer): boolean {
  const activation = (layer as unknown as { activation?: { getClassName(): string } }).activation;
  return layer.getClassName() === "Activation" && activation?.getClassName() === "relu";
}

/**
 * Installs, once per thread, the activation layers' side of the fusion: a ReLU activation layer
 * handed a BatchNorm output that already went through its ReLU returns it unchanged (ReLU is
 * idempotent, so this holds whoever calls it). Returns false when tfjs-layers' class was not found.
 */
export function routeReluAfterBatchNorm(): boolean {
  return routeLayerCall("Activation", Symbol.for("swamp.reluAfterBatchNorm"), (original) =>
    function (this: tfl.layers.Layer, inputs, kwargs) {
      const input = singleInput(inputs);
      if (!input || !throughRelu.has(input) || !isReluActivation(this)) return original.call(this, inputs, kwargs);
      // A new tensor over the same data: tfjs-layers would clone the input itself, and the clone's
      // gradient (a Cast) is a full copy; a reshape's is not.
      return tf.reshape(input, input.shape);
    },
  );
}

/**
 * Marks each BatchNormalization of the model whose output is read only by one ReLU activation
 * layer (and is not a model output), so that in training on the native kernels it applies that
 * ReLU itself. Only for models whose layers are called through the model: a marked layer called
 * on its own would return its output through the ReLU. Returns how many were marked.
 */
export function fuseBatchNormRelu(model: tfl.LayersModel): number {
  let marked = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization" || layer.inboundNodes.length !== 1 || layer.outboundNodes.length !== 1) continue;
    const next = layer.outboundNodes[0]!.outboundLayer;
    const isOutput = model.outputs.some((output) => output.sourceLayer === layer);
    if (isOutput || next.inboundNodes.length !== 1 || !isReluActivation(next)) continue;
    (layer as unknown as BatchNormalizationLike)[FOLLOWED_BY_RELU] = true;
    marked++;
  }
  return marked;
}
