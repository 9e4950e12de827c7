/**
 * Linear interpolation between two stored models and the loss barrier on the segment: train and
 * test loss and accuracy of (1−α)·A + α·B at `points` evenly spaced α in [0, 1].
 *
 * BatchNorm statistics of an interpolated model are recomputed at every interior point (running
 * statistics do not interpolate); at α = 0 and α = 1 the stored model is evaluated as stored,
 * statistics included, unless the chosen mask changed it, so the ends equal the stored models'
 * own evaluations. Masked weights stay zero along the segment, since both ends are zero there.
 */
import type { AnalysisInput, AnalysisResult, InterpolationPair, MaskChoice, ModelSelector } from "../../schema/analyses.js";
import { Random } from "../engine/rng.js";
import type { WeightValues } from "../engine/weights.js";
import { evaluateWeights, seededSubset, throwIfStopped } from "./evaluation.js";
import type { AnalysisContext } from "./registry.js";
import { combineMasks, selectModel, underMask, type SelectedModel } from "./selected-models.js";

interface PlannedPair {
  a: () => Promise<SelectedModel>;
  b: () => Promise<SelectedModel>;
  mask: MaskChoice;
}

export async function interpolate(context: AnalysisContext, input: AnalysisInput<"interpolate">): Promise<AnalysisResult<"interpolate">> {
  const { dataset, session } = context;
  const planned = planPairs(context, input);
  const train = seededSubset(dataset.train, input.trainExamples, Random.derive(input.seed, ["analysis", "interpolate", "train-subset"]));
  const splits = { train, test: dataset.test };
  const alphas = Array.from({ length: input.points }, (_, i) => i / (input.points - 1));
  const pairs: InterpolationPair[] = [];
  for (const [pairIndex, plan] of planned.entries()) {
    const [a, b] = [await plan.a(), await plan.b()];
    const mask = combineMasks(a, b, plan.mask);
    const endA = underMask(a, mask, session);
    const endB = underMask(b, mask, session);
    const curve = { trainLoss: [] as number[], trainAccuracy: [] as number[], testLoss: [] as number[], testAccuracy: [] as number[] };
    for (const [i, alpha] of alphas.entries()) {
      throwIfStopped(context);
      const atEnd = alpha === 0 ? endA : alpha === 1 ? endB : undefined;
      const weights = atEnd ? atEnd.weights : lerp(endA.weights, endB.weights, alpha);
      const recalibrate = atEnd && !atEnd.changed ? undefined : Random.derive(input.seed, ["analysis", "interpolate", "bn", pairIndex, i]);
      const result = evaluateWeights(context, weights, splits, recalibrate);
      curve.trainLoss.push(result.train.loss);
      curve.trainAccuracy.push(result.train.accuracy);
      curve.testLoss.push(result.test.loss);
      curve.testAccuracy.push(result.test.accuracy);
      context.onProgress((pairIndex + (i + 1) / alphas.length) / planned.length);
    }
    pairs.push({ a: a.label, b: b.label, mask: plan.mask, alphas, ...curve, barrier: barrier(alphas, curve.trainLoss), testBarrier: barrier(alphas, curve.testLoss) });
  }
  return { pairs, trainExamples: train.count, testExamples: dataset.test.count };
}

/** max over α of loss(α) − ((1−α)·loss(0) + α·loss(1)); 0 when the curve never rises above the chord. */
export function barrier(alphas: readonly number[], losses: readonly number[]): number {
  const first = losses[0]!;
  const last = losses[losses.length - 1]!;
  return Math.max(...alphas.map((alpha, i) => losses[i]! - ((1 - alpha) * first + alpha * last)));
}

/** (1−α)·a + α·b, tensor by tensor. */
export function lerp(a: WeightValues, b: WeightValues, alpha: number): WeightValues {
  return a.map((tensor, i) => {
    const other = b[i]!;
    const out = new Float32Array(tensor.length);
    for (let j = 0; j < tensor.length; j++) out[j] = (1 - alpha) * tensor[j]! + alpha * other[j]!;
    return out;
  });
}

function planPairs(context: AnalysisContext, input: AnalysisInput<"interpolate">): PlannedPair[] {
  const { session, sources } = context;
  const { cycle } = input;
  const source = sources[0]!;
  const model = (from: typeof source, at: number, selector: ModelSelector) => () => selectModel(session, from, at, selector);
  const particles = source.config.method.particles;
  switch (input.pairs) {
    case "particles": {
      if (particles < 2) throw new Error(`pairs "particles": ${source.label} trains ${particles} particle per cycle; interpolation needs two (use pairs "cycles" or "swamp-vs-imp")`);
      const pairs: PlannedPair[] = [];
      for (let p = 0; p < particles; p++) for (let q = p + 1; q < particles; q++) pairs.push({ a: model(source, cycle, `particle:${p}`), b: model(source, cycle, `particle:${q}`), mask: input.mask });
      return pairs;
    }
    case "average":
      return Array.from({ length: particles }, (_, p) => ({ a: model(source, cycle, `particle:${p}`), b: model(source, cycle, "average"), mask: input.mask }));
    case "cycles":
      // The later cycle's mask is a subset of the earlier one's: applying it is the intersection.
      return [{ a: model(source, cycle - 1, "average"), b: model(source, cycle, "average"), mask: "intersection" }];
    case "swamp-vs-imp":
      return [{ a: model(source, cycle, "average"), b: model(sources[1]!, cycle, "average"), mask: input.mask }];
  }
}
