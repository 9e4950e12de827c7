/**
 * Evaluating a weight vector the way the analyses need it: on a fixed seeded subset of a split,
 * with BatchNorm statistics recomputed for weights no training produced (interpolated, averaged or
 * off-grid models), and stopping between points when asked.
 */
import type { DatasetSplit } from "../data/dataset.js";
import { recalibrateBatchNorm } from "../engine/batchnorm.js";
import { evaluate, type Evaluation } from "../engine/evaluate.js";
import type { Random } from "../engine/rng.js";
import type { WeightValues } from "../engine/weights.js";
import type { AnalysisContext } from "./registry.js";

/** `count` images of the split chosen by `order` (the whole split, unchanged, when count is absent or covers it). */
export function seededSubset(split: DatasetSplit, count: number | undefined, order: Random): DatasetSplit {
  if (count === undefined || count >= split.count) return split;
  const example = split.images.length / split.count;
  const chosen = order.permutation(split.count).subarray(0, count).sort();
  const images = new Float32Array(count * example);
  const labels = new Int32Array(count);
  chosen.forEach((index, k) => {
    images.set(split.images.subarray(index * example, (index + 1) * example), k * example);
    labels[k] = split.labels[index]!;
  });
  return { images, labels, count };
}

/**
 * Writes the weights into the session, recomputes BatchNorm statistics when `recalibrate` gives
 * the order of training images to use (models with BatchNorm only), and evaluates each split.
 */
export function evaluateWeights<S extends string>(context: AnalysisContext, weights: WeightValues, splits: Record<S, DatasetSplit>, recalibrate: Random | undefined): Record<S, Evaluation> {
  const { session, dataset, config } = context;
  session.writeWeights(weights);
  if (recalibrate && session.hasBatchNorm) {
    recalibrateBatchNorm({ session, data: dataset.train, inputShape: dataset.inputShape, examples: config.training.bnRecalibrationExamples, batchSize: config.training.batchSize, order: recalibrate });
  }
  const results = {} as Record<S, Evaluation>;
  for (const name of Object.keys(splits) as S[]) results[name] = evaluate(session, splits[name], dataset.inputShape, dataset.numClasses);
  return results;
}

export class AnalysisStopped extends Error {
  constructor() {
    super("analysis was stopped");
    this.name = "AnalysisStopped";
  }
}

export function throwIfStopped(context: AnalysisContext): void {
  if (context.signal?.aborted) throw new AnalysisStopped();
}
