/**
 * One particle of a cycle: from the rewound, masked weights, train the cycle's epochs with the
 * particle's own batch order, keeping an SWA average over the last epochs when the method uses
 * SWA. The particle's model (its SWA average, with BatchNorm recomputed, or its final weights) is
 * evaluated so the cycle can report every particle beside the average.
 */
import { METHOD_TRAITS, swaSnapshotEpochs } from "../../schema/config.js";
import { METRIC_KEYS } from "../../schema/metrics.js";
import { RunningAverage } from "../engine/average.js";
import { augmenterFor } from "../engine/augmentation.js";
import { recalibrateBatchNorm } from "../engine/batchnorm.js";
import type { EngineContext } from "../engine/context.js";
import { evaluate } from "../engine/evaluate.js";
import { applyMask } from "../engine/mask.js";
import { deriveSeed, Random } from "../engine/rng.js";
import { cycleLearningRate } from "../engine/schedule.js";
import { experimentTrainingRun, train } from "../engine/train.js";
import { cloneWeights } from "../engine/weights.js";
import type { Mask } from "../engine/mask.js";
import type { WeightValues } from "../engine/weights.js";

/** Training-loss points are averaged over this many steps before they are emitted. */
const LOSS_POINT_EVERY_STEPS = 20;

export interface TrainParticleInput {
  kind: "train-particle";
  cycle: number;
  particle: number;
  rewindWeights: WeightValues;
  mask: Mask;
}

export interface TrainParticleOutput {
  kind: "train-particle";
  cycle: number;
  particle: number;
  /** A 32-bit label of the particle's batch-order stream (derived from seed, cycle, particle). */
  orderSeed: number;
  /** The particle's SWA average, or its final weights for methods without SWA. */
  weights: WeightValues;
  accuracy: number;
  loss: number;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
  swaSnapshots: number;
  seconds: number;
  examplesPerSecond: number;
}

export function trainParticle(context: EngineContext, input: TrainParticleInput): TrainParticleOutput {
  const started = performance.now();
  const { config, dataset, session } = context;
  const { cycle, particle } = input;
  const start = cloneWeights(input.rewindWeights);
  applyMask(start, input.mask, session.layout);
  session.writeWeights(start);

  const snapshotEpochs = new Set(swaSnapshotEpochs(config));
  const swa = METHOD_TRAITS[config.method.name].swa;
  const average = new RunningAverage();
  const epochLosses: number[] = [];
  const { epochs, batchSize } = config.training;
  const totalExamples = epochs * dataset.train.count;
  let examples = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  const emit = (key: string, step: number, epoch: number, value: number) =>
    context.emitMetric?.({ cycle, particle, key, step, epoch, value, time: Date.now() });

  train({
    ...experimentTrainingRun(context, epochs),
    learningRate: (progress) => cycleLearningRate(config, progress),
    order: Random.derive(config.seed, ["particle-order", cycle, particle]),
    augment: augmenterFor(context, ["particle-augment", cycle, particle]),
    mask: input.mask,
    onStep: (step) => {
      examples += step.examples;
      windowLoss += step.loss;
      windowSteps++;
      if (windowSteps === LOSS_POINT_EVERY_STEPS) {
        emit(METRIC_KEYS.trainLoss, step.step, step.epochProgress, windowLoss / windowSteps);
        emit(METRIC_KEYS.learningRate, step.step, step.epochProgress, step.learningRate);
        windowLoss = 0;
        windowSteps = 0;
      }
      context.onProgress?.({ epoch: Math.ceil(step.epochProgress), epochs, examples, totalExamples, loss: step.loss });
    },
    onEpochEnd: (epoch, loss) => {
      epochLosses.push(loss);
      emit(METRIC_KEYS.epochLoss, epoch * Math.ceil(dataset.train.count / batchSize), epoch, loss);
      if (snapshotEpochs.has(epoch)) average.add(session.readWeights());
    },
  });

  const trainSeconds = (performance.now() - started) / 1000;
  let weights = session.readWeights();
  if (swa) {
    weights = average.average();
    applyMask(weights, input.mask, session.layout);
    session.writeWeights(weights);
    recalibrateBatchNorm({
      session,
      data: dataset.train,
      inputShape: dataset.inputShape,
      examples: config.training.bnRecalibrationExamples,
      batchSize,
      order: Random.derive(config.seed, ["bn-recalibration", cycle, particle]),
      mask: input.mask,
    });
    weights = session.readWeights();
  }
  const result = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses, input.mask);
  const finalStep = epochs * Math.ceil(dataset.train.count / batchSize);
  emit(METRIC_KEYS.testAccuracy, finalStep, epochs, result.accuracy);
  emit(METRIC_KEYS.testLoss, finalStep, epochs, result.loss);
  return {
    kind: "train-particle",
    cycle,
    particle,
    orderSeed: deriveSeed(config.seed, ["particle-order", cycle, particle])[0]!,
    weights,
    accuracy: result.accuracy,
    loss: result.loss,
    epochLosses,
    swaSnapshots: average.count,
    seconds: (performance.now() - started) / 1000,
    examplesPerSecond: examples / trainSeconds,
  };
}
