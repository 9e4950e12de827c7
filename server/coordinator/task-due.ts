/**
 * The ledger facts one task's standing depends on (see protocol/plan.ts `taskStanding`), read
 * with a handful of indexed look-ups.
 */
import type { EntityManager } from "typeorm";
import type { TaskIdentity } from "../../schema/fleet-messages.js";
import type { LedgerFacts } from "../../protocol/plan.js";

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
