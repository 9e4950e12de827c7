/**
 * The one way a run directory's models are written and read: particles' and averages' weights
 * under their cycle's mask (schema/weights-file.ts: the masked format once the mask prunes
 * anything, the dense format for cycle 0), the mask read from the cycle's `mask.bin`. Files of
 * earlier versions (every model dense) are read by the same function, so old run directories
 * still resume. Anything that reads a particle or an average of a run directory calls
 * `readRunModel`; a format change is an edit here and in the format module only.
 */
import { readFile } from "node:fs/promises";
import { decodeStoredWeights, encodeStoredWeights, storedWeightsMask, weightsHeader, type WeightsFileValues, type WeightsHeaderEntry } from "../../schema/weights-file.js";
import { exists, writeFileAtomic } from "./files.js";
import type { RunLayout } from "./run-layout.js";

/** A particle's model (its index) or the cycle's averaged model. */
export type RunModel = number | "average";

export function runModelPath(layout: RunLayout, cycle: number, model: RunModel): string {
  return model === "average" ? layout.averageWeights(cycle) : layout.particleWeights(cycle, model);
}

/** A model's tensors as the run directory stores them, bit for bit as trained. */
export async function readRunModel(layout: RunLayout, cycle: number, model: RunModel): Promise<{ values: WeightsFileValues; entries: WeightsHeaderEntry[] }> {
  return readModelFile(layout, runModelPath(layout, cycle, model), cycle);
}

/** A model file of the run directory, stored under the mask of `cycle` (null: a dense model of no cycle, the rewind point). */
export async function readModelFile(layout: RunLayout, path: string, cycle: number | null): Promise<{ values: WeightsFileValues; entries: WeightsHeaderEntry[] }> {
  const file = await readFile(path);
  const needs = storedWeightsMask(file, path);
  if (needs && cycle === null) throw new Error(`${path}: a masked model outside any cycle`);
  const maskBits = needs ? new Uint8Array(await readFile(layout.mask(cycle!))) : null;
  return decodeStoredWeights(file, path, maskBits);
}

/** What the writer needs of the model: its tensors' names and shapes, and which ones the mask covers. */
export interface ModelShape {
  entries: ReadonlyArray<WeightsHeaderEntry & { prunable: boolean }>;
}

/** Encodes a model under the cycle's packed mask (null: dense), as every store of swamp keeps models. */
export function encodeRunModel(values: WeightsFileValues, shape: ModelShape, maskBits: Uint8Array | null): Buffer {
  return encodeStoredWeights(values, weightsHeader(shape), shape.entries.map((e) => e.prunable), maskBits);
}

export async function writeRunModel(layout: RunLayout, cycle: number, model: RunModel, values: WeightsFileValues, shape: ModelShape, maskBits: Uint8Array | null): Promise<void> {
  await writeFileAtomic(runModelPath(layout, cycle, model), encodeRunModel(values, shape, maskBits));
}

export function runModelExists(layout: RunLayout, cycle: number, model: RunModel): boolean {
  return exists(runModelPath(layout, cycle, model));
}
