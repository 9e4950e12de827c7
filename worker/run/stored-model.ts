/**
 * A finished cycle's averaged model read back from a `swamp run` directory: the one way `swamp
 * profile` and `swamp export` (every format) get it, from the compact sparse file
 * (cycle-NNN/average.swsp), checked against the run's config.
 */
import { readFile } from "node:fs/promises";
import { configHash, requireExperimentConfig, type ExperimentConfig } from "../../schema/config.js";
import type { Mask } from "../engine/mask.js";
import type { WeightValues } from "../engine/weights.js";
import { decodeSparse, type SparseHeader } from "../formats/sparse-file.js";
import { exists, readJson } from "./files.js";
import { RunLayout } from "./run-layout.js";
import type { CycleSummary } from "./summaries.js";

export class StoredModelError extends Error {
  override name = "StoredModelError";
}

export interface StoredModel {
  config: ExperimentConfig;
  configHash: string;
  cycle: number;
  summary: CycleSummary;
  header: SparseHeader;
  /** Dense layout, pruned values zero. */
  weights: WeightValues;
  mask: Mask;
  /** The sparse file's bytes as stored. */
  sparseFile: Buffer;
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
  const path = layout.sparseModel(cycle);
  if (!exists(path)) throw new StoredModelError(`${path}: missing; the cycle's averaged model is not stored`);
  const sparseFile = await readFile(path);
  const { header, values, mask } = decodeSparse(sparseFile, path);
  const hash = configHash(config);
  if (header.configHash !== hash) throw new StoredModelError(`${path}: written for config ${header.configHash.slice(0, 12)}, but the run's config is ${hash.slice(0, 12)}`);
  if (header.cycle !== cycle) throw new StoredModelError(`${path}: holds cycle ${header.cycle}, expected ${cycle}`);
  return { config, configHash: hash, cycle, summary, header, weights: values, mask, sparseFile };
}
