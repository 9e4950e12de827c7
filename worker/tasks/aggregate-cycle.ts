/**
 * The end of a cycle: the uniform average of the particles' models, masked, with BatchNorm
 * statistics recomputed whenever averaging happened; its evaluation; and, unless it is the last
 * cycle, magnitude pruning of that averaged model into the next cycle's mask.
 */
import { configHash, METHOD_TRAITS } from "../../schema/config.js";
import { uniformAverage } from "../engine/average.js";
import { recalibrateBatchNorm } from "../engine/batchnorm.js";
import { backendInfo } from "../engine/backend.js";
import type { EngineContext } from "../engine/context.js";
import { evaluate } from "../engine/evaluate.js";
import { aliveCount, applyMask, layerCounts, totalCount } from "../engine/mask.js";
import { pruneByMagnitude, requireNoEmptiedLayer } from "../engine/prune.js";
import { Random } from "../engine/rng.js";
import type { LayerCount, Mask } from "../engine/mask.js";
import type { WeightValues } from "../engine/weights.js";
import { profileInference, THROUGHPUT_BATCH } from "../profile/inference-profile.js";
import type { InferenceProfile } from "../../schema/inference-profile.js";

export interface AggregateCycleInput {
  kind: "aggregate-cycle";
  cycle: number;
  particleWeights: WeightValues[];
  mask: Mask;
  /** The last cycle is not pruned further. */
  final: boolean;
  /** Whether to measure the averaged model's inference cost (worker/profile/); default true. */
  profile?: boolean;
}

export interface AggregateCycleOutput {
  kind: "aggregate-cycle";
  cycle: number;
  /** The averaged, masked model with recomputed BatchNorm statistics. */
  weights: WeightValues;
  accuracy: number;
  loss: number;
  sparsity: number;
  alive: number;
  total: number;
  layers: LayerCount[];
  /** The mask of the next cycle; absent after the final cycle. */
  nextMask?: Mask;
  /** The averaged model's inference profile; absent when not asked for. */
  inference?: InferenceProfile;
  seconds: number;
}

export function aggregateCycle(context: EngineContext, input: AggregateCycleInput): AggregateCycleOutput {
  const started = performance.now();
  const { config, dataset, session } = context;
  if (input.particleWeights.length !== config.method.particles) {
    throw new Error(`cycle ${input.cycle}: expected ${config.method.particles} particle models, got ${input.particleWeights.length}`);
  }
  const weights = averagedModel(context, input);
  const result = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses, input.mask);
  const alive = aliveCount(input.mask);
  const total = totalCount(input.mask);
  const nextMask = input.final
    ? undefined
    : pruneByMagnitude(weights, input.mask, session.layout, { rate: config.pruning.rate, scope: config.pruning.scope, exclude: config.pruning.exclude });
  if (nextMask) requireNoEmptiedLayer(nextMask, session.layout, input.cycle);
  const inference = input.profile === false ? undefined : profileAveragedModel(context, weights, input);
  return {
    kind: "aggregate-cycle",
    cycle: input.cycle,
    weights,
    accuracy: result.accuracy,
    loss: result.loss,
    sparsity: total === 0 ? 0 : (total - alive) / total,
    alive,
    total,
    layers: layerCounts(input.mask, session.layout),
    nextMask,
    ...(inference ? { inference } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The uniform average of the particles' models, masked, with BatchNorm statistics recomputed
 * whenever averaging happened; left in the session and returned. Deterministic, so another task
 * thread computing it from the same input holds the same floats (aggregate-profile.ts).
 */
export function averagedModel(context: EngineContext, input: Pick<AggregateCycleInput, "cycle" | "particleWeights" | "mask">): WeightValues {
  const { config, dataset, session } = context;
  const averaged = uniformAverage(input.particleWeights);
  applyMask(averaged, input.mask, session.layout);
  session.writeWeights(averaged);
  const averagingHappened = METHOD_TRAITS[config.method.name].swa || input.particleWeights.length > 1;
  if (averagingHappened) {
    recalibrateBatchNorm({
      session,
      data: dataset.train,
      inputShape: dataset.inputShape,
      examples: config.training.bnRecalibrationExamples,
      batchSize: config.training.batchSize,
      order: Random.derive(config.seed, ["bn-recalibration", input.cycle, "average"]),
      mask: input.mask,
    });
  }
  return session.readWeights();
}

/** The averaged model's inference profile; undefined where no backend is known. */
export function profileAveragedModel(context: EngineContext, weights: WeightValues, input: Pick<AggregateCycleInput, "cycle" | "mask">): InferenceProfile | undefined {
  const { config, dataset, session } = context;
  const backend = backendInfo();
  if (!backend) return undefined;
  const exampleSize = dataset.inputShape[0] * dataset.inputShape[1] * dataset.inputShape[2];
  return profileInference({
    session,
    weights,
    mask: input.mask,
    backend,
    examples: dataset.test.images.subarray(0, THROUGHPUT_BATCH * exampleSize),
    inputShape: dataset.inputShape,
    configHash: configHash(config),
    cycle: input.cycle,
  });
}
