/** What `swamp run` records about each finished particle and cycle. */
import type { InferenceProfile } from "../../schema/inference-profile.js";
import type { LayerCount } from "../engine/mask.js";
import type { TrainParticleOutput } from "../tasks/train-particle.js";

/** A particle's result without its weights. */
export type ParticleSummary = Omit<TrainParticleOutput, "kind" | "weights">;

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
  /** What the averaged model costs to run (worker/profile/); absent with `--no-profile`. */
  inference?: InferenceProfile;
  mask: string;
  /** The averaged model, under `mask` (the TF.js and self-contained sparse copies are made by `swamp export`). */
  weights: string;
}
