/**
 * The run directory as the plan's ledger (protocol/plan.ts): a task counts as recorded once the
 * files its descriptor's `runDirectory.done` names are written (a particle's summary and model, a
 * cycle's summary, the rewind point), the same files `--resume` has always trusted. The directory
 * names files by position, not by hash, so its references carry the file and the task that wrote
 * it instead (RunDirectoryRef); the plan passes them on to later tasks' inputs unchanged, and
 * `swamp run` reads the bytes from there.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef } from "../../schema/fleet-messages.js";
import { plannedStages, type LedgerEntry } from "../../protocol/plan.js";
import type { TaskPlace } from "../../protocol/task-kind.js";
import { exists } from "./files.js";
import type { RunLayout } from "./run-layout.js";

/** An output file of the run directory, as the ledger references it: its hash and size are not read. */
export interface RunDirectoryRef extends ArtifactRef {
  format: "run-directory-file";
  path: string;
  /** The task that wrote it. */
  kind: string;
  place: TaskPlace;
}

function runDirectoryRef(path: string, kind: string, place: TaskPlace): RunDirectoryRef {
  return { sha256: "0".repeat(64), size: 0, format: "run-directory-file", path, kind, place };
}

/** The file a reference of the run-directory ledger names. */
export function isRunDirectoryRef(ref: ArtifactRef): ref is RunDirectoryRef {
  return ref.format === "run-directory-file" && typeof (ref as Partial<RunDirectoryRef>).path === "string";
}

export function runDirectoryLedger(layout: RunLayout, config: ExperimentConfig): LedgerEntry[] {
  const ledger: LedgerEntry[] = [];
  for (const { descriptor, places } of plannedStages(config)) {
    const runDirectory = descriptor.runDirectory;
    if (!runDirectory) throw new Error(`task kind "${descriptor.name}" is planned but says nothing of the run directory (runDirectory)`);
    for (const place of places) {
      if (!runDirectory.done(layout, place).every(exists)) continue;
      const outputs = Object.fromEntries(
        Object.entries(runDirectory.outputs).map(([name, pathOf]) => {
          const path = pathOf(layout, place);
          return [name, exists(path) ? runDirectoryRef(path, descriptor.name, place) : null];
        }),
      );
      ledger.push({ kind: descriptor.name, cycle: place.cycle ?? null, particle: place.particle ?? null, outputs, numbers: {} });
    }
  }
  return ledger;
}
