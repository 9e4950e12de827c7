/**
 * StoredModels over the artifact store: the models and masks of one source experiment, as the
 * server resolved them into references (protocol/task-kinds/analyze.ts), fetched on demand through
 * `fetch` (on the analysis thread, a request to the worker's main thread, which holds the store).
 */
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import { decodeStoredFile } from "../../transport/stored-weights.js";
import type { AnalysisSource } from "../../protocol/task-kinds/analyze.js";
import { StoredModelMissingError, type StoredModels } from "../analyses/stored-models.js";
import type { WeightValues } from "../engine/weights.js";

export type FetchArtifact = (ref: ArtifactRef) => Promise<Uint8Array>;

export function artifactStoredModels(source: AnalysisSource, fetch: FetchArtifact): StoredModels {
  const byCycle = new Map(source.cycles.map((cycle) => [cycle.cycle, cycle]));
  const cycleOf = (cycle: number) => {
    const stored = byCycle.get(cycle);
    if (!stored) throw new StoredModelMissingError(`${source.label} has no completed cycle ${cycle} (completed: ${[...byCycle.keys()].join(", ") || "none"})`);
    return stored;
  };
  const weights = async (ref: ArtifactRef, what: string): Promise<WeightValues> => {
    // A pruned cycle's models are stored under its mask, which they name (transport/stored-weights.ts).
    return (await decodeStoredFile(await fetch(ref), `${source.label} ${what}`, fetch)).values as WeightValues;
  };
  return {
    label: source.label,
    config: source.config,
    completedCycles: async () => [...byCycle.keys()].sort((a, b) => a - b),
    maskBits: async (cycle) => fetch(cycleOf(cycle).mask),
    average: async (cycle) => weights(cycleOf(cycle).average, `cycle ${cycle} average`),
    particle: async (cycle, particle) => {
      const ref = cycleOf(cycle).particles[particle];
      if (!ref) throw new StoredModelMissingError(`${source.label} has no stored model of particle ${particle} in cycle ${cycle}`);
      return weights(ref, `cycle ${cycle} particle ${particle}`);
    },
  };
}
