/**
 * The run directory as the plan's ledger (protocol/plan.ts): a task counts as recorded once its
 * last output file is written (a particle's summary, a cycle's summary, the rewind point), the
 * same files `--resume` has always trusted. The directory names files by position, so the
 * references here only say that an output exists; `swamp run` reads the bytes from the layout.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import type { LedgerEntry } from "../../protocol/plan.js";
import { cycleCount } from "../../schema/config.js";
import { exists } from "./files.js";
import type { RunLayout } from "./run-layout.js";

/** Stands for an output file of the run directory (which is found by its position, not its hash). */
const IN_RUN_DIRECTORY: ArtifactRef = { sha256: "0".repeat(64), size: 0, format: "run-directory-file" };

export function runDirectoryLedger(layout: RunLayout, config: ExperimentConfig): LedgerEntry[] {
  const ledger: LedgerEntry[] = [];
  if (!exists(layout.rewindWeights)) return ledger;
  ledger.push({ kind: "pretrain", cycle: null, particle: null, outputs: { weights: IN_RUN_DIRECTORY }, numbers: {} });
  const cycles = cycleCount(config);
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let particle = 0; particle < config.method.particles; particle++) {
      if (exists(layout.particleSummary(cycle, particle)) && exists(layout.particleWeights(cycle, particle))) {
        ledger.push({ kind: "train-particle", cycle, particle, outputs: { weights: IN_RUN_DIRECTORY }, numbers: {} });
      }
    }
    if (!exists(layout.cycleSummary(cycle))) break;
    const nextMask = cycle < cycles - 1 ? IN_RUN_DIRECTORY : null;
    ledger.push({ kind: "aggregate-cycle", cycle, particle: null, outputs: { weights: IN_RUN_DIRECTORY, nextMask }, numbers: {} });
  }
  return ledger;
}
