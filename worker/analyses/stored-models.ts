/**
 * Where an analysis reads stored models from, whatever keeps them: a `swamp run` directory
 * (run-directory-models.ts) or a server experiment's artifacts (the fleet's implementation). An
 * analysis never opens a file or an artifact itself, so both give the same results.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { WeightValues } from "../engine/weights.js";

export interface StoredModels {
  /** Names the source in results and errors, e.g. the run directory or `experiment 42`. */
  readonly label: string;
  /** The filled config the models were trained with. */
  readonly config: ExperimentConfig;
  /** Cycles whose averaged model is stored, ascending. */
  completedCycles(): Promise<number[]>;
  /** The cycle's mask as packed bits (schema/mask-bits.ts), the dense mask for cycle 0. */
  maskBits(cycle: number): Promise<Uint8Array>;
  /** Particle P's stored model of the cycle (its SWA average, or final weights), every tensor in layout order. */
  particle(cycle: number, particle: number): Promise<WeightValues>;
  /** The cycle's averaged, masked model with its recalibrated BatchNorm statistics. */
  average(cycle: number): Promise<WeightValues>;
}

/** A stored model that is not there (an unfinished cycle, a particle number past the run's). */
export class StoredModelMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoredModelMissingError";
  }
}
