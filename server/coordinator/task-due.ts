/**
 * The ledger facts one task's standing depends on (see protocol/plan.ts `taskStanding`): how many
 * results the experiment holds of each kind in each cycle, and whether the task's own is one of
 * them, in one grouped look-up of its rows.
 */
import type { EntityManager } from "typeorm";
import type { TaskIdentity } from "../../schema/fleet-messages.js";
import type { LedgerFacts } from "../../protocol/plan.js";

export async function ledgerFacts(manager: EntityManager, taskId: string, identity: TaskIdentity): Promise<LedgerFacts> {
  const rows: Array<{ kind: string; cycle: number | null; count: number; holds_task: boolean }> = await manager.query(
    `SELECT kind, cycle_index AS cycle, count(*)::int AS count, bool_or(task_id = $2) AS holds_task
       FROM task_results WHERE experiment_id = $1 GROUP BY kind, cycle_index`,
    [identity.experimentId, taskId],
  );
  return { recorded: rows.some((row) => row.holds_task), results: rows.map(({ kind, cycle, count }) => ({ kind, cycle, count })) };
}
