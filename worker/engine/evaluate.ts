/**
 * Test-set accuracy and mean cross-entropy of a model in inference mode. Given the mask the
 * weights carry, a pruned chain of Dense layers (LeNet-300-100) with few enough kept weights, or a
 * pruned Conv-n with few enough kept multiply-adds, is evaluated by its one-call sparse pass
 * (native-kernels/sparse-mlp.ts, sparse-convnet.ts) instead of TF.js's dense one: the same logits
 * within float rounding, at a fraction of the cost, every cycle.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DatasetSplit } from "../data/dataset.js";
import { keptFlopsPerExample, forwardFlopsPerExample } from "./flops.js";
import { aliveCount, totalCount, type Mask } from "./mask.js";
import type { ModelSession } from "./model-session.js";
import { loadNative } from "./native-kernels/addon.js";
import { planSparseConvNet, runSparseConvNet } from "./native-kernels/sparse-convnet.js";
import { planSparseMlp, runSparseMlp } from "./native-kernels/sparse-mlp.js";
import { worthSparseAt } from "./native-kernels/sparse-routing.js";

export interface Evaluation {
  accuracy: number;
  loss: number;
}

const EVALUATION_BATCH = 1000;

export function evaluate(session: ModelSession, split: DatasetSplit, inputShape: [number, number, number], numClasses: number, mask?: Mask): Evaluation {
  const logits = mask ? sparseLogits(session, split, mask) : undefined;
  if (logits) return evaluateLogits(logits, split, numClasses);
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

/** The split's logits by the one-call sparse pass, or undefined where it does not apply or would not pay. */
function sparseLogits(session: ModelSession, split: DatasetSplit, mask: Mask): Float32Array | undefined {
  if (tf.getBackend() !== "wasm" || split.count === 0) return undefined;
  const total = totalCount(mask);
  const keptWeights = total === 0 ? 1 : aliveCount(mask) / total;
  const dense = forwardFlopsPerExample(session.model);
  const keptWork = dense === 0 ? 1 : keptFlopsPerExample(session, mask) / dense;
  const mlp = worthSparseAt(keptWeights, total, "mlpInference");
  const convNet = worthSparseAt(keptWork, total, "convNetInference");
  if (!mlp && !convNet) return undefined;
  const loaded = loadNative();
  if (!loaded.ok) return undefined;
  const weights = session.readWeights();
  // A model is one kind or the other: each planner names why another model is not its kind.
  const mlpPlan = mlp ? planSparseMlp(session.model, session.layout, weights, mask) : undefined;
  if (mlpPlan !== undefined && typeof mlpPlan !== "string") return runSparseMlp(loaded.native.addon, mlpPlan, split.images, split.count);
  const convNetPlan = convNet ? planSparseConvNet(session.model, session.layout, weights, mask) : undefined;
  if (convNetPlan !== undefined && typeof convNetPlan !== "string") return runSparseConvNet(loaded.native.addon, convNetPlan, split.images, split.count);
  return undefined;
}

/** Accuracy (the first largest logit) and mean softmax cross-entropy, summed in double. */
function evaluateLogits(logits: Float32Array, split: DatasetSplit, numClasses: number): Evaluation {
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < split.count; i++) {
    const row = i * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (logits[row + c]! > logits[row + best]!) best = c;
    const max = logits[row + best]!;
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp(logits[row + c]! - max);
    const label = split.labels[i]!;
    lossSum += max + Math.log(sum) - logits[row + label]!;
    if (best === label) correct++;
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count };
}
