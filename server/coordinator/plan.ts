/**
 * What an experiment needs next, derived from what its ledger holds and nothing else:
 *   no rewind point                  → pretrain
 *   a cycle with particles missing   → train-particle for each missing one
 *   all particles of the cycle in    → aggregate-cycle
 *   every cycle aggregated           → the experiment is complete
 * Pure, so the same state always gives the same plan, on any replica, after any restart.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef, FleetTaskKind, TaskDraft, TaskIdentity } from "../../schema/fleet-messages.js";

/** One recorded task result, as the ledger keeps it. */
export interface LedgerEntry {
  kind: FleetTaskKind;
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

export type Plan =
  | {
      kind: "tasks";
      /** Where the experiment stands (see `stageOf`); tasks of one plan share it. */
      stage: number;
      tasks: TaskDraft[];
      /** Set when the tasks train particles: the cycle they belong to and the mask they train under. */
      particleCycle?: { cycle: number; mask: ArtifactRef | null; previousTotalWeights: number | null };
    }
  | { kind: "complete"; stage: number };

/**
 * Stages in the order an experiment passes them: pretrain 0, then per cycle c its particles
 * (1 + 2c) and its aggregate (2 + 2c). A task's follow-ups are the planned tasks of a later stage.
 */
export function stageOf(identity: Pick<TaskIdentity, "kind" | "cycle">): number {
  if (identity.kind === "pretrain") return 0;
  const cycle = identity.cycle ?? 0;
  return identity.kind === "train-particle" ? 1 + 2 * cycle : 2 + 2 * cycle;
}

export const COMPLETE_STAGE = Number.POSITIVE_INFINITY;

/** The ledger contradicts itself (e.g. a non-final aggregate without a next mask). */
export class InconsistentLedgerError extends Error {
  constructor(experimentId: string, detail: string) {
    super(`experiment ${experimentId}: ${detail}`);
    this.name = "InconsistentLedgerError";
  }
}

export function planNextTasks(input: PlanInput): Plan {
  const { experimentId, config, ledger } = input;
  const lastCycle = config.pruning.cycles;
  const particles = config.method.particles;
  const pretrain = ledger.find((entry) => entry.kind === "pretrain");
  if (!pretrain) return { kind: "tasks", stage: 0, tasks: [{ kind: "pretrain", experimentId, config, inputs: {} }] };
  const rewindWeights = pretrain.outputs.weights;
  if (!rewindWeights) throw new InconsistentLedgerError(experimentId, "the recorded pretrain result has no weights");

  const aggregates = new Map<number, LedgerEntry>();
  const particleWeights = new Map<number, Map<number, ArtifactRef>>();
  for (const entry of ledger) {
    if (entry.kind === "aggregate-cycle" && entry.cycle !== null) aggregates.set(entry.cycle, entry);
    if (entry.kind === "train-particle" && entry.cycle !== null && entry.particle !== null && entry.outputs.weights) {
      let cycleParticles = particleWeights.get(entry.cycle);
      if (!cycleParticles) particleWeights.set(entry.cycle, (cycleParticles = new Map()));
      cycleParticles.set(entry.particle, entry.outputs.weights);
    }
  }

  for (let cycle = 0; cycle <= lastCycle; cycle++) {
    if (aggregates.has(cycle)) continue;
    let mask: ArtifactRef | null = null;
    let previousTotalWeights: number | null = null;
    if (cycle > 0) {
      const previous = aggregates.get(cycle - 1)!;
      mask = previous.outputs.nextMask ?? null;
      if (!mask) throw new InconsistentLedgerError(experimentId, `the aggregate of cycle ${cycle - 1} recorded no next mask`);
      previousTotalWeights = typeof previous.numbers.total === "number" ? previous.numbers.total : null;
    }
    const done = particleWeights.get(cycle) ?? new Map<number, ArtifactRef>();
    const missing = Array.from({ length: particles }, (_, particle) => particle).filter((particle) => !done.has(particle));
    if (missing.length > 0) {
      return {
        kind: "tasks",
        stage: stageOf({ kind: "train-particle", cycle }),
        tasks: missing.map((particle) => ({ kind: "train-particle", experimentId, config, cycle, particle, inputs: { rewindWeights, mask } })),
        particleCycle: { cycle, mask, previousTotalWeights },
      };
    }
    return {
      kind: "tasks",
      stage: stageOf({ kind: "aggregate-cycle", cycle }),
      tasks: [
        {
          kind: "aggregate-cycle",
          experimentId,
          config,
          cycle,
          final: cycle === lastCycle,
          inputs: { particleWeights: Array.from({ length: particles }, (_, particle) => done.get(particle)!), mask },
        },
      ],
    };
  }
  return { kind: "complete", stage: COMPLETE_STAGE };
}
