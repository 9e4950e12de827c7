/**
 * The inference profile of a cycle's averaged model on its own task thread: `swamp run` runs it
 * beside the aggregate (which then skips its profile), so the profile's forward passes use the
 * core that would otherwise idle while the aggregate evaluates and prunes. The thread averages the
 * particles itself, as the aggregate does, rather than wait for the aggregate's weights. Not a
 * task of the plan: a fleet worker runs the whole aggregate on one thread.
 */
import type { EngineContext } from "../engine/context.js";
import type { Mask } from "../engine/mask.js";
import type { WeightValues } from "../engine/weights.js";
import type { InferenceProfile } from "../../schema/inference-profile.js";
import { averagedModel, profileAveragedModel } from "./aggregate-cycle.js";

export interface AggregateProfileInput {
  kind: "aggregate-profile";
  cycle: number;
  particleWeights: WeightValues[];
  mask: Mask;
}

export interface AggregateProfileOutput {
  kind: "aggregate-profile";
  cycle: number;
  /** Absent where no backend is known, as the aggregate's own profile would be. */
  inference?: InferenceProfile;
}

export function aggregateProfile(context: EngineContext, input: AggregateProfileInput): AggregateProfileOutput {
  const inference = profileAveragedModel(context, averagedModel(context, input), input);
  return { kind: "aggregate-profile", cycle: input.cycle, ...(inference ? { inference } : {}) };
}
