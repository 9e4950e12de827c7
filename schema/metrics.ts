import type { DatasetName, ExperimentConfig } from "./config.js";

/**
 * Metric points as workers produce them and the server stores them. A point belongs to a cycle
 * and, when `particle` is set, to one particle of it.
 *
 * `metricPointSchema` is the one definition of a valid point: the fleet's wire format and the
 * metrics service both check points with it, so a batch the coordinator accepts from NATS is one
 * the service will store (a bad point is rejected with its batch, never in a chunk of others').
 */
import { z } from "zod";

/** What a stored point may hold; series keys and indices beyond these are refused everywhere. */
export const METRIC_POINT_LIMITS = {
  keyLength: 100,
  maxCycle: 10_000,
  maxParticle: 1_000,
  /** Steps are stored as PostgreSQL `int`. */
  maxStep: 2 ** 31 - 1,
} as const;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const FIELDS = new Set(["cycle", "particle", "key", "step", "epoch", "value", "time"]);
const isIntIn = (value: unknown, min: number, max: number): boolean => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
const isFinite = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value);

export interface MetricPointProblem {
  /** The field, e.g. `key`; `(root)` for the point itself. */
  path: string;
  message: string;
}

/**
 * What is wrong with a point (empty when nothing). A plain function rather than a zod object
 * because the service checks up to a million points per call, where this is some 50 times faster.
 */
export function metricPointProblems(point: unknown): MetricPointProblem[] {
  if (point === null || typeof point !== "object" || Array.isArray(point)) return [{ path: "(root)", message: "must be an object" }];
  const p = point as Record<string, unknown>;
  const problems: MetricPointProblem[] = [];
  const unknown = Object.keys(p).filter((field) => !FIELDS.has(field));
  if (unknown.length > 0) problems.push({ path: "(root)", message: `unknown field(s) ${unknown.map((f) => JSON.stringify(f)).join(", ")}` });
  if (!isIntIn(p.cycle, 0, METRIC_POINT_LIMITS.maxCycle)) problems.push({ path: "cycle", message: `must be an integer from 0 to ${METRIC_POINT_LIMITS.maxCycle}` });
  if (p.particle !== undefined && !isIntIn(p.particle, 0, METRIC_POINT_LIMITS.maxParticle)) {
    problems.push({ path: "particle", message: `must be an integer from 0 to ${METRIC_POINT_LIMITS.maxParticle}, or absent` });
  }
  if (typeof p.key !== "string" || p.key.length === 0 || p.key.length > METRIC_POINT_LIMITS.keyLength) {
    problems.push({ path: "key", message: `must be 1 to ${METRIC_POINT_LIMITS.keyLength} characters` });
  } else if (CONTROL_CHARACTERS.test(p.key)) {
    // PostgreSQL cannot store NUL, and line breaks in keys would forge lines in logs and CSV exports.
    problems.push({ path: "key", message: "must not contain control characters" });
  }
  if (!isIntIn(p.step, 0, METRIC_POINT_LIMITS.maxStep)) problems.push({ path: "step", message: "must be a non-negative 32-bit integer" });
  if (!isFinite(p.epoch) || (p.epoch as number) < 0) problems.push({ path: "epoch", message: "must be a finite number, at least 0" });
  if (!isFinite(p.value)) problems.push({ path: "value", message: "must be a finite number" });
  if (!isIntIn(p.time, 0, Number.MAX_SAFE_INTEGER)) problems.push({ path: "time", message: "must be milliseconds since the Unix epoch" });
  return problems;
}

/** The same check as a zod schema, for messages that carry points. */
export const metricPointSchema = z.unknown().superRefine((point, ctx) => {
  for (const problem of metricPointProblems(point)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path === "(root)" ? [] : [problem.path], message: problem.message });
  }
}) as unknown as z.ZodType<MetricPoint, z.ZodTypeDef, unknown>;

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
