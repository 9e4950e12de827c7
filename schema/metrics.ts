import type { DatasetName, ExperimentConfig } from "./config.js";

/**
 * Metric points as workers produce them and the server stores them. A point belongs to a cycle
 * and, when `particle` is set, to one particle of it.
 */
export interface MetricPoint {
  cycle: number;
  /** Absent for metrics of the cycle's averaged model. */
  particle?: number;
  /** e.g. `train/loss`, `train/lr`, `test/accuracy`. */
  key: string;
  /** Optimiser steps since the task began (see `experimentStep` for one axis over the whole run). */
  step: number;
  /** Fractional epochs since the task began. */
  epoch: number;
  value: number;
  /** Milliseconds since the Unix epoch. */
  time: number;
}

/** The keys the engine emits; other keys are allowed. */
export const METRIC_KEYS = {
  trainLoss: "train/loss",
  learningRate: "train/lr",
  epochLoss: "train/epoch-loss",
  pretrainLoss: "pretrain/epoch-loss",
  examplesPerSecond: "train/examples-per-second",
  testAccuracy: "test/accuracy",
  testLoss: "test/loss",
} as const;

/**
 * Training examples per epoch when `data.trainSubset` is absent: the standard training splits
 * (the synthetic set's default size is defined here too, and used by its generator).
 */
export const STANDARD_TRAIN_EXAMPLES: Record<DatasetName, number> = { "fashion-mnist": 60_000, mnist: 60_000, cifar10: 50_000, synthetic: 2_000 };

/** Optimiser steps per epoch of the config's training set (the engine's ceil(examples / batch)). */
export function stepsPerEpoch(config: ExperimentConfig): number {
  return Math.ceil((config.data.trainSubset ?? STANDARD_TRAIN_EXAMPLES[config.data.name]) / config.training.batchSize);
}

/**
 * A point's step on one axis for the whole experiment (cycle-major), so that every curve of a
 * run plots on one x-axis: pretraining's `rewindEpochs` epochs come first, then each cycle's
 * `epochs` epochs, all cycles' particles sharing their cycle's range. Stored steps count from the
 * start of their task (pretraining's epoch-loss points count epochs), so:
 *
 * - pretraining's epoch loss (cycle 0, no particle): epoch × stepsPerEpoch;
 * - a particle's point of cycle c: rewindEpochs·spe + c·epochs·spe + step;
 * - a cycle's averaged-model point (no particle, evaluated after the cycle's training):
 *   rewindEpochs·spe + (c + 1)·epochs·spe + step (its stored step is 0).
 *
 * Computed on read from the config (spe = stepsPerEpoch), never stored: it is exact for the
 * standard training splits and for any trainSubset.
 */
export function experimentStep(config: ExperimentConfig, point: Pick<MetricPoint, "cycle" | "particle" | "key" | "step">): number {
  const spe = stepsPerEpoch(config);
  const pretrainSteps = config.training.rewindEpochs * spe;
  const cycleSteps = config.training.epochs * spe;
  if (point.particle === undefined || point.particle === null) {
    if (point.key === METRIC_KEYS.pretrainLoss) return point.step * spe;
    return pretrainSteps + (point.cycle + 1) * cycleSteps + point.step;
  }
  return pretrainSteps + point.cycle * cycleSteps + point.step;
}
