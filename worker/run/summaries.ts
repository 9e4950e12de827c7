/** What `swamp run` records about each finished particle and cycle. */
import type { LayerCount } from "../engine/mask.js";

export interface ParticleSummary {
  cycle: number;
  particle: number;
  orderSeed: number;
  accuracy: number;
  loss: number;
  epochLosses: number[];
  swaSnapshots: number;
  seconds: number;
  examplesPerSecond: number;
}

/** One line of `swamp run --json`. */
export interface CycleSummary {
  cycle: number;
  sparsity: number;
  accuracy: number;
  loss: number;
  particleAccuracies: number[];
  particleLosses: number[];
  /** Best particle accuracy minus the averaged model's: negative when averaging helped. */
  bestParticleGap: number;
  alive: number;
  total: number;
  layers: LayerCount[];
  /** Wall time of the cycle: its particles and its aggregation. */
  seconds: number;
  mask: string;
  weights: string;
  sparseWeights: string;
  tfjsModel: string;
}
