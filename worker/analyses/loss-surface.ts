/**
 * A model's training loss as a function of its surviving weights only: the coordinates are every
 * trainable value that the mask keeps (all of a tensor without a mask), and the loss is the mean
 * cross-entropy over a fixed set of images in inference mode (BatchNorm uses its stored running
 * statistics, so the loss is a deterministic function of the weights). Curvature estimates
 * (hessian.ts) see the model only through this.
 */
import * as tf from "@tensorflow/tfjs-core";
import { meanSoftmaxCrossEntropy } from "../engine/loss.js";

export interface LossSurface {
  /** Number of free coordinates. */
  readonly size: number;
  /** Euclidean norm of the model's free coordinates. */
  readonly weightNorm: number;
  /** The loss at the model moved by `offset` (free coordinates; absent = the model itself). */
  loss(offset?: Float64Array): number;
  /** The gradient of the loss at the model moved by `offset`, over the free coordinates. */
  gradient(offset?: Float64Array): Float64Array;
  /** Writes the model's own weights back. */
  restore(): void;
}

export interface ModelLossOptions {
  variables: tf.Variable[];
  /** Per variable: 0/1 per value (0 = pruned, not a coordinate), or undefined for a dense tensor. */
  masks: Array<Uint8Array | undefined>;
  /** Logits of a batch, in inference mode. */
  forward: (x: tf.Tensor) => tf.Tensor;
  images: Float32Array;
  labels: Int32Array;
  /** Shape of one example, e.g. [28, 28, 1]. */
  exampleShape: number[];
  /** Images per forward pass. */
  batchSize: number;
}

export function modelLossSurface(options: ModelLossOptions): LossSurface {
  const { variables, masks, forward, images, labels, exampleShape, batchSize } = options;
  const count = labels.length;
  const example = exampleShape.reduce((a, b) => a * b, 1);
  const base = variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  // Where each variable's free coordinates start in the flat vector, and which values they are.
  const free = base.map((values, i) => {
    const mask = masks[i];
    const indices: number[] = [];
    for (let j = 0; j < values.length; j++) if (!mask || mask[j] === 1) indices.push(j);
    return Int32Array.from(indices);
  });
  const offsets: number[] = [];
  let size = 0;
  for (const indices of free) {
    offsets.push(size);
    size += indices.length;
  }
  let norm = 0;
  free.forEach((indices, i) => indices.forEach((j) => (norm += base[i]![j]! ** 2)));

  const write = (offset: Float64Array | undefined) => {
    variables.forEach((variable, i) => {
      const values = Float32Array.from(base[i]!);
      if (offset) free[i]!.forEach((j, k) => (values[j] = values[j]! + offset[offsets[i]! + k]!));
      const tensor = tf.tensor(values, variable.shape, "float32");
      variable.assign(tensor);
      tensor.dispose();
    });
  };
  const batches = function* (): Generator<{ x: tf.Tensor; y: tf.Tensor1D; share: number }> {
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      yield {
        x: tf.tensor(images.subarray(start * example, (start + n) * example), [n, ...exampleShape], "float32"),
        y: tf.tensor1d(labels.subarray(start, start + n), "int32"),
        share: n / count,
      };
    }
  };
  return {
    size,
    weightNorm: Math.sqrt(norm),
    loss(offset) {
      write(offset);
      let total = 0;
      for (const { x, y, share } of batches()) {
        total += tf.tidy(() => meanSoftmaxCrossEntropy(y, forward(x) as tf.Tensor2D).dataSync()[0]!) * share;
        x.dispose();
        y.dispose();
      }
      return total;
    },
    gradient(offset) {
      write(offset);
      const out = new Float64Array(size);
      for (const { x, y, share } of batches()) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => meanSoftmaxCrossEntropy(y, forward(x) as tf.Tensor2D), variables);
          variables.forEach((variable, i) => {
            const g = grads[variable.name]!.dataSync() as Float32Array;
            free[i]!.forEach((j, k) => (out[offsets[i]! + k]! += g[j]! * share));
          });
        });
        x.dispose();
        y.dispose();
      }
      return out;
    },
    restore() {
      write(undefined);
    },
  };
}
