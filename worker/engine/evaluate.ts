/** Test-set accuracy and mean cross-entropy of a model in inference mode. */
import * as tf from "@tensorflow/tfjs-core";
import type { DatasetSplit } from "../data/dataset.js";
import type { ModelSession } from "./model-session.js";

export interface Evaluation {
  accuracy: number;
  loss: number;
}

const EVALUATION_BATCH = 1000;

export function evaluate(session: ModelSession, split: DatasetSplit, inputShape: [number, number, number], numClasses: number): Evaluation {
  const example = inputShape[0] * inputShape[1] * inputShape[2];
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < split.count; start += EVALUATION_BATCH) {
    const count = Math.min(EVALUATION_BATCH, split.count - start);
    const [batchCorrect, batchLoss] = tf.tidy(() => {
      const x = tf.tensor(split.images.subarray(start * example, (start + count) * example), [count, ...inputShape], "float32");
      const labels = tf.tensor1d(split.labels.subarray(start, start + count), "int32");
      const logits = session.model.apply(x, { training: false }) as tf.Tensor;
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits, undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32"));
      return [hits.dataSync()[0]!, loss.dataSync()[0]!];
    });
    correct += batchCorrect;
    lossSum += batchLoss;
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count };
}
