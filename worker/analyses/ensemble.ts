/**
 * An ensemble of stored models: the test accuracy and cross-entropy of their averaged predicted
 * probabilities (IMP-k: the averaged models of k runs at one cycle; or the particles of one SWAMP
 * cycle), beside the one model whose weights are the members' average, when they share a mask.
 * For the particles of a cycle that model is the stored averaged model recomputed the way
 * aggregate-cycle computes it (same BatchNorm recalibration stream), so its accuracy is the one
 * cycles.jsonl records.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import type { DatasetSplit } from "../data/dataset.js";
import { uniformAverage } from "../engine/average.js";
import { applyMask, masksEqual } from "../engine/mask.js";
import type { ModelSession } from "../engine/model-session.js";
import { Random } from "../engine/rng.js";
import { evaluateWeights, throwIfStopped } from "./evaluation.js";
import type { AnalysisContext } from "./registry.js";
import { selectModel, type SelectedModel } from "./selected-models.js";

const PREDICTION_BATCH = 1000;

export async function ensemble(context: AnalysisContext, input: AnalysisInput<"ensemble">): Promise<AnalysisResult<"ensemble">> {
  const { session, dataset, sources } = context;
  const members: SelectedModel[] = [];
  if (input.members === "particles") {
    const source = sources[0]!;
    for (let p = 0; p < source.config.method.particles; p++) members.push(await selectModel(session, source, input.cycle, `particle:${p}`));
  } else {
    for (const source of sources) members.push(await selectModel(session, source, input.cycle, input.model));
  }
  const test = dataset.test;
  const summed = new Float64Array(test.count * dataset.numClasses);
  const memberAccuracies: number[] = [];
  const memberLosses: number[] = [];
  const steps = members.length + 1;
  for (const [k, member] of members.entries()) {
    throwIfStopped(context);
    session.writeWeights(member.weights);
    const probabilities = predictProbabilities(session, test, dataset.inputShape);
    for (let i = 0; i < summed.length; i++) summed[i]! += probabilities[i]!;
    const scored = score(probabilities, test.labels, dataset.numClasses);
    memberAccuracies.push(scored.accuracy);
    memberLosses.push(scored.loss);
    context.onProgress((k + 1) / steps);
  }
  for (let i = 0; i < summed.length; i++) summed[i]! /= members.length;
  const combined = score(summed, test.labels, dataset.numClasses);

  let averaged: { accuracy: number; loss: number } | null = null;
  if (members.every((m) => masksEqual(m.mask, members[0]!.mask))) {
    const weights = uniformAverage(members.map((m) => m.weights));
    applyMask(weights, members[0]!.mask, session.layout);
    const order = input.members === "particles" ? Random.derive(sources[0]!.config.seed, ["bn-recalibration", input.cycle, "average"]) : Random.derive(input.seed, ["analysis", "ensemble", "bn"]);
    averaged = evaluateWeights(context, weights, { test }, members.length > 1 ? order : undefined).test;
  }
  return {
    members: members.map((m) => m.label),
    accuracy: combined.accuracy,
    loss: combined.loss,
    memberAccuracies,
    memberLosses,
    averagedWeightsAccuracy: averaged?.accuracy ?? null,
    averagedWeightsLoss: averaged?.loss ?? null,
    testExamples: test.count,
  };
}

/** Softmax probabilities of every image of the split, row by row, in inference mode. */
function predictProbabilities(session: ModelSession, split: DatasetSplit, inputShape: [number, number, number]): Float32Array {
  const example = inputShape[0] * inputShape[1] * inputShape[2];
  const parts: Float32Array[] = [];
  for (let start = 0; start < split.count; start += PREDICTION_BATCH) {
    const count = Math.min(PREDICTION_BATCH, split.count - start);
    parts.push(
      tf.tidy(() => {
        const x = tf.tensor(split.images.subarray(start * example, (start + count) * example), [count, ...inputShape], "float32");
        return tf.softmax(session.model.apply(x, { training: false }) as tf.Tensor2D).dataSync() as Float32Array;
      }),
    );
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Accuracy of the most probable class and mean −log p(label) (probabilities floored at 1e-12). */
export function score(probabilities: ArrayLike<number>, labels: Int32Array, numClasses: number): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  for (let n = 0; n < labels.length; n++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probabilities[n * numClasses + c]! > probabilities[n * numClasses + best]!) best = c;
    if (best === labels[n]) correct++;
    loss -= Math.log(Math.max(probabilities[n * numClasses + labels[n]!]!, 1e-12));
  }
  return { accuracy: correct / labels.length, loss: loss / labels.length };
}
