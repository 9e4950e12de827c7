/**
 * StoredModels over a `swamp run` output directory (worker/run/run-layout.ts names its files).
 * Every weights file is read through readRunModel (worker/run/run-models.ts), the one place that knows how particle and
 * averaged models are encoded on disk.
 */
import { readFile, readdir } from "node:fs/promises";
import { requireExperimentConfig, type ExperimentConfig } from "../../schema/config.js";
import { denseMaskBits } from "../../schema/mask-bits.js";
import { maskLayersOf } from "../../schema/mask-overlap.js";
import { readRunModel } from "../run/run-models.js";
import type { WeightValues } from "../engine/weights.js";
import { exists } from "../run/files.js";
import { RunLayout } from "../run/run-layout.js";
import { StoredModelMissingError, type StoredModels } from "./stored-models.js";

/** A directory that is not a `swamp run` output (no config.json, or an unreadable one). */
export class RunDirectoryModelsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunDirectoryModelsError";
  }
}

export async function openRunDirectory(dir: string): Promise<StoredModels> {
  const layout = new RunLayout(dir);
  if (!exists(layout.config)) throw new RunDirectoryModelsError(`${dir} is not a swamp run directory (it has no config.json)`);
  let config: ExperimentConfig;
  try {
    config = requireExperimentConfig(JSON.parse(await readFile(layout.config, "utf8")));
  } catch (error) {
    throw new RunDirectoryModelsError(`${layout.config}: ${(error as Error).message}`);
  }
  return new RunDirectoryModels(dir, layout, config);
}


class RunDirectoryModels implements StoredModels {
  constructor(
    readonly label: string,
    private readonly layout: RunLayout,
    readonly config: ExperimentConfig,
  ) {}

  async completedCycles(): Promise<number[]> {
    const names = await readdir(this.layout.root);
    return names
      .map((name) => /^cycle-(\d{3,})$/.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .filter((cycle) => exists(this.layout.cycleSummary(cycle)))
      .sort((a, b) => a - b);
  }

  async maskBits(cycle: number): Promise<Uint8Array> {
    const path = this.layout.mask(cycle);
    if (exists(path)) return new Uint8Array(await readFile(path));
    if (cycle === 0) return denseMaskBits(maskLayersOf(this.config).reduce((sum, layer) => sum + layer.size, 0));
    throw new StoredModelMissingError(`${this.label}: cycle ${cycle} has no mask (${path}); the run has ${this.config.pruning.cycles + 1} cycles`);
  }

  async particle(cycle: number, particle: number): Promise<WeightValues> {
    if (particle >= this.config.method.particles) throw new StoredModelMissingError(`${this.label}: no particle ${particle}; the run trains ${this.config.method.particles} particle(s) per cycle (0…${this.config.method.particles - 1})`);
    const path = this.layout.particleWeights(cycle, particle);
    if (!exists(path)) throw new StoredModelMissingError(`${this.label}: cycle ${cycle} particle ${particle} is not stored (${path})`);
    return (await readRunModel(this.layout, cycle, particle)).values;
  }

  async average(cycle: number): Promise<WeightValues> {
    const path = this.layout.averageWeights(cycle);
    if (!exists(this.layout.cycleSummary(cycle)) || !exists(path)) throw new StoredModelMissingError(`${this.label}: cycle ${cycle} is not finished (no ${this.layout.cycleSummary(cycle)})`);
    return (await readRunModel(this.layout, cycle, "average")).values;
  }
}
