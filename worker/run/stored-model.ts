/**
 * A finished cycle's averaged model read back from a `swamp run` directory: the one way `swamp
 * profile` and `swamp export` (every format) get it, through the run directory's model loader
 * (run-models.ts) and the cycle's mask, checked against the run's config. The compact sparse file
 * (the deployable `.swsp`) is made from it on request, as the profile measures it.
 */
import { readFile } from "node:fs/promises";
import { configHash, requireExperimentConfig, type ExperimentConfig } from "../../schema/config.js";
import { unpackMask } from "../../schema/mask-bits.js";
import type { Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { encodeSparse } from "../formats/sparse-file.js";
import { exists, readJson } from "./files.js";
import { RunLayout } from "./run-layout.js";
import { readRunModel, runModelExists } from "./run-models.js";
import type { CycleSummary } from "./summaries.js";

export class StoredModelError extends Error {
  override name = "StoredModelError";
}

export interface StoredModel {
  config: ExperimentConfig;
  configHash: string;
  cycle: number;
  summary: CycleSummary;
  /** Dense layout, pruned values zero, bit for bit as trained. */
  weights: WeightValues;
  /** The cycle's mask, packed (schema/mask-bits.ts). */
  maskBits: Uint8Array;
}

/** The finished cycles of a run directory, in order. */
export async function finishedCycles(runDir: string): Promise<number[]> {
  const layout = new RunLayout(runDir);
  if (!exists(layout.config)) throw new StoredModelError(`${runDir}: not a swamp run directory (no config.json)`);
  const cycles: number[] = [];
  for (let cycle = 0; exists(layout.cycleSummary(cycle)); cycle++) cycles.push(cycle);
  return cycles;
}

export async function readStoredModel(runDir: string, cycle: number): Promise<StoredModel> {
  const layout = new RunLayout(runDir);
  if (!exists(layout.config)) throw new StoredModelError(`${runDir}: not a swamp run directory (no config.json)`);
  const config = requireExperimentConfig(await readJson<unknown>(layout.config));
  if (!exists(layout.cycleSummary(cycle))) throw new StoredModelError(`--cycle: cycle ${cycle} of ${runDir} has not finished (no ${layout.cycleSummary(cycle)})`);
  const summary = await readJson<CycleSummary>(layout.cycleSummary(cycle));
  if (!runModelExists(layout, cycle, "average")) throw new StoredModelError(`${layout.averageWeights(cycle)}: missing; the cycle's averaged model is not stored`);
  if (!exists(layout.mask(cycle))) throw new StoredModelError(`${layout.mask(cycle)}: missing; the cycle's mask is not stored`);
  const { values } = await readRunModel(layout, cycle, "average");
  const maskBits = new Uint8Array(await readFile(layout.mask(cycle)));
  return { config, configHash: configHash(config), cycle, summary, weights: values, maskBits };
}

/** The stored model's mask over a model session's layout. */
export function storedMask(stored: StoredModel, layout: WeightLayout): Mask {
  return unpackMask(stored.maskBits, layout.prunable.map((position) => layout.entries[position]!.size));
}

/** The compact sparse file (bit masks, survivors, checksum) a deployment loads: what `swamp export --format swsp` writes. */
export function sparseFileOf(stored: StoredModel, layout: WeightLayout): Buffer {
  return encodeSparse(stored.weights, storedMask(stored, layout), layout, { configHash: stored.configHash, cycle: stored.cycle });
}
