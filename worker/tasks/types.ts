/**
 * The three kinds of work a SWAMP experiment splits into, with their inputs and outputs as plain
 * data (weights inline). `swamp run` passes them between threads; the fleet passes artifact
 * references instead and resolves them to these before calling a handler.
 */
import type { LayerCount, Mask } from "../engine/mask.js";
import type { WeightValues } from "../engine/weights.js";
import type { InferenceProfile } from "../../schema/inference-profile.js";

export interface PretrainInput {
  kind: "pretrain";
}

export interface PretrainOutput {
  kind: "pretrain";
  /** The rewind point θ_T0 (the seeded initialisation when rewindEpochs is 0). */
  weights: WeightValues;
  seconds: number;
}

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

export type TaskInput = PretrainInput | TrainParticleInput | AggregateCycleInput;
export type TaskOutput = PretrainOutput | TrainParticleOutput | AggregateCycleOutput;
export type TaskKind = TaskInput["kind"];
export type OutputOf<K extends TaskKind> = Extract<TaskOutput, { kind: K }>;
export type InputOf<K extends TaskKind> = Extract<TaskInput, { kind: K }>;
