/**
 * Whether a task is due: what `planNextTasks` would queue for it, decided from the few ledger
 * facts the task depends on (a handful of indexed look-ups instead of reading the whole ledger,
 * since it is asked for every result). Stages run in order (pretrain, then per cycle its particles
 * and its aggregate), so a task is due exactly when the stage before it is complete and its own
 * result is not recorded.
 */
import type { EntityManager } from "typeorm";
import type { ExperimentConfig } from "../../schema/config.js";
import type { TaskIdentity } from "../../schema/fleet-messages.js";

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

export async function ledgerFacts(manager: EntityManager, taskId: string, identity: TaskIdentity): Promise<LedgerFacts> {
  const cycle = identity.cycle ?? 0;
  const rows: Array<{ recorded: boolean; pretrain: boolean; previous_aggregate: boolean; aggregate: boolean; particles: number }> = await manager.query(
    `SELECT EXISTS (SELECT 1 FROM task_results WHERE task_id = $2) AS recorded,
            EXISTS (SELECT 1 FROM task_results WHERE experiment_id = $1 AND kind = 'pretrain') AS pretrain,
            EXISTS (SELECT 1 FROM task_results WHERE experiment_id = $1 AND kind = 'aggregate-cycle' AND cycle_index = $3 - 1) AS previous_aggregate,
            EXISTS (SELECT 1 FROM task_results WHERE experiment_id = $1 AND kind = 'aggregate-cycle' AND cycle_index = $3) AS aggregate,
            (SELECT count(*)::int FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle' AND cycle_index = $3) AS particles`,
    [identity.experimentId, taskId, cycle],
  );
  const row = rows[0]!;
  return {
    recorded: row.recorded,
    pretrainRecorded: row.pretrain,
    previousAggregateRecorded: cycle === 0 ? row.pretrain : row.previous_aggregate,
    aggregateRecorded: row.aggregate,
    particlesRecorded: row.particles,
  };
}

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
