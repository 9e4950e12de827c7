/**
 * The run directory as the plan's ledger (protocol/plan.ts): a task counts as recorded once the
 * files its descriptor's `runDirectory.done` names are written (a particle's summary and model, a
 * cycle's summary, the rewind point), the same files `--resume` has always trusted. The directory
 * names files by position, so the references here only say that an output exists; `swamp run`
 * reads the bytes from the layout.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import { plannedStages, type LedgerEntry } from "../../protocol/plan.js";
import { exists } from "./files.js";
import type { RunLayout } from "./run-layout.js";

/** Stands for an output file of the run directory (which is found by its position, not its hash). */
const IN_RUN_DIRECTORY: ArtifactRef = { sha256: "0".repeat(64), size: 0, format: "run-directory-file" };

export function runDirectoryLedger(layout: RunLayout, config: ExperimentConfig): LedgerEntry[] {
  const ledger: LedgerEntry[] = [];
  for (const { descriptor, places } of plannedStages(config)) {
    const runDirectory = descriptor.runDirectory;
    if (!runDirectory) throw new Error(`task kind "${descriptor.name}" is planned but says nothing of the run directory (runDirectory)`);
    for (const place of places) {
      if (!runDirectory.done(layout, place).every(exists)) continue;
      const outputs = Object.fromEntries(Object.entries(runDirectory.outputs).map(([name, path]) => [name, exists(path(layout, place)) ? IN_RUN_DIRECTORY : null]));
      ledger.push({ kind: descriptor.name, cycle: place.cycle ?? null, particle: place.particle ?? null, outputs, numbers: {} });
    }
  }
  return ledger;
}
