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
  /** Optimiser steps since the task began. */
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
