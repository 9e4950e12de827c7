/**
 * What a plan reads: the results an experiment has recorded, from the database (the fleet,
 * `swamp up`) or from the run directory (`swamp run`). Descriptors' `plan` functions read the
 * outputs of earlier stages through `PlanLedger`, indexed once per plan.
 */
import type { ExperimentConfig } from "../schema/config.js";
import type { ArtifactRef } from "../schema/fleet-message-fields.js";

/** One recorded task result, as the ledger keeps it (cycle and particle null where the kind has none). */
export interface LedgerEntry {
  kind: string;
  cycle: number | null;
  particle: number | null;
  outputs: Record<string, ArtifactRef | null>;
  numbers: Record<string, unknown>;
}

export interface PlanInput {
  experimentId: string;
  config: ExperimentConfig;
  ledger: readonly LedgerEntry[];
}

/** The ledger contradicts itself (e.g. a non-final aggregate without a next mask). */
export class InconsistentLedgerError extends Error {
  constructor(experimentId: string, detail: string) {
    super(`experiment ${experimentId}: ${detail}`);
    this.name = "InconsistentLedgerError";
  }
}

const taskKey = (kind: string, cycle: number | null, particle: number | null) => `${kind}:${cycle ?? ""}:${particle ?? ""}`;
const stageKey = (kind: string, cycle: number | null) => `${kind}:${cycle ?? ""}`;

/** The ledger as the plan reads it: a task's result, and how many results a stage holds. */
export class PlanLedger {
  readonly experimentId: string;
  readonly config: ExperimentConfig;
  private readonly byTask = new Map<string, LedgerEntry>();
  private readonly byStage = new Map<string, number>();

  constructor(input: PlanInput) {
    this.experimentId = input.experimentId;
    this.config = input.config;
    for (const entry of input.ledger) {
      this.byTask.set(taskKey(entry.kind, entry.cycle, entry.particle), entry);
      const stage = stageKey(entry.kind, entry.cycle);
      this.byStage.set(stage, (this.byStage.get(stage) ?? 0) + 1);
    }
  }

  /** The recorded result of a task (null for a coordinate its kind does not have). */
  result(kind: string, cycle: number | null = null, particle: number | null = null): LedgerEntry | undefined {
    return this.byTask.get(taskKey(kind, cycle, particle));
  }

  /** How many results of `kind` the ledger holds in `cycle` (null: kinds without a cycle). */
  resultsIn(kind: string, cycle: number | null): number {
    return this.byStage.get(stageKey(kind, cycle)) ?? 0;
  }

  /** The ledger cannot be planned from: `detail` says why. */
  inconsistent(detail: string): InconsistentLedgerError {
    return new InconsistentLedgerError(this.experimentId, detail);
  }
}
