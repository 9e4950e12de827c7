/**
 * Where the protocol is decided: what an experiment needs next, derived from what its ledger holds
 * and nothing else. The coordinator (the fleet, `swamp up`) plans with `planNextTasks`, and checks a
 * single task with `taskStanding`, which agrees with it (test/fleet/plan.test.ts).
 *
 *   no rewind point                  → pretrain
 *   a cycle with particles missing   → train-particle for each missing one
 *   all particles of the cycle in    → aggregate-cycle
 *   every cycle aggregated           → the experiment is complete
 * Pure, so the same state always gives the same plan, on any replica, after any restart.
 */
import type { ExperimentConfig } from "../schema/config.js";
import type { ArtifactRef, FleetTaskKind, TaskDraft, TaskIdentity } from "../schema/fleet-messages.js";
import { TASK_KIND_DESCRIPTORS, taskKind } from "./task-kinds.js";

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
  return taskKind(identity.kind).stage(identity.cycle ?? 0);
}

export const COMPLETE_STAGE = Number.POSITIVE_INFINITY;

/**
 * Whether recording this task's result completes the experiment: it is the task of the last stage.
 * Kinds outside the plan (their stage is not finite: analyses, queued on request) never count.
 */
export function completesExperiment(config: ExperimentConfig, identity: Pick<TaskIdentity, "kind" | "cycle">): boolean {
  const lastStage = Math.max(...TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.stage(config.pruning.cycles)).filter(Number.isFinite));
  return stageOf(identity) === lastStage;
}

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

// ---------------------------------------------------------------------------------------------
// One task at a time: whether it is due, from the few ledger facts it depends on (the coordinator
// asks this for every result, so it reads a handful of indexed rows instead of the whole ledger).
// Stages run in order, so a task is due exactly when the stage before it is complete and its own
// result is not recorded.

/** What the ledger holds around one task. */
export interface LedgerFacts {
  /** The task's own result is recorded. */
  recorded: boolean;
  pretrainRecorded: boolean;
  /** The aggregate of the cycle before the task's (cycle 0: the pretrain stands in). */
  previousAggregateRecorded: boolean;
  /** The aggregate of the task's cycle. */
  aggregateRecorded: boolean;
  /** Particle results recorded in the task's cycle. */
  particlesRecorded: number;
}

export type TaskStanding = { kind: "recorded" } | { kind: "due" } | { kind: "not-due"; reason: string };

export function taskStanding(config: ExperimentConfig, identity: TaskIdentity, facts: LedgerFacts): TaskStanding {
  if (facts.recorded) return { kind: "recorded" };
  const notDue = (reason: string): TaskStanding => ({ kind: "not-due", reason: `the task was never queued (${reason})` });
  if (identity.kind === "pretrain") return { kind: "due" };
  const cycle = identity.cycle ?? 0;
  if (cycle > config.pruning.cycles) return notDue(`the experiment's last cycle is ${config.pruning.cycles}`);
  if (!facts.previousAggregateRecorded) return notDue(cycle === 0 ? "pretraining is not done" : `cycle ${cycle - 1} is not aggregated`);
  if (facts.aggregateRecorded) return notDue(`cycle ${cycle} is already aggregated`);
  if (identity.kind === "train-particle") {
    if ((identity.particle ?? 0) >= config.method.particles) return notDue(`the experiment trains ${config.method.particles} particle(s)`);
    return { kind: "due" };
  }
  if (facts.particlesRecorded < config.method.particles) return notDue(`cycle ${cycle} has ${facts.particlesRecorded} of its ${config.method.particles} particles`);
  return { kind: "due" };
}
