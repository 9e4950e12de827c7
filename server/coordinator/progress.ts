/** Where experiments stand, for a terminal: one row per experiment, read in one query. */
import type { EntityManager } from "typeorm";
import type { ExperimentStatus } from "../../schema/statuses.js";

export interface ExperimentProgress {
  id: string;
  name: string;
  status: ExperimentStatus;
  cyclesCompleted: number;
  cyclesPlanned: number;
  particlesPerCycle: number;
  /** Particles finished in the cycle being trained. */
  particlesDone: number;
  /** Sparsity and accuracy of the last completed cycle. */
  sparsity: number | null;
  accuracy: number | null;
  error: string | null;
}

/**
 * Queued and running experiments, and whatever their state those named in `alsoIds` and those
 * created at or after `createdSince` (so one that ran from start to end between two polls is
 * still seen), oldest first.
 */
export async function experimentProgress(manager: EntityManager, alsoIds: readonly string[] = [], createdSince?: Date): Promise<ExperimentProgress[]> {
  const rows: Array<Record<string, unknown>> = await manager.query(
    `SELECT e.id, e.name, e.status, e.cycles_completed, e.cycles_planned, e.particles_per_cycle, e.error,
            (SELECT count(*)::int FROM particles p
              WHERE p.experiment_id = e.id AND p.cycle_index = e.cycles_completed AND p.status = 'completed') AS particles_done,
            c.sparsity, c.accuracy
       FROM experiments e
       LEFT JOIN LATERAL (SELECT sparsity, accuracy FROM cycles
                           WHERE experiment_id = e.id AND status = 'completed' ORDER BY cycle_index DESC LIMIT 1) c ON true
      WHERE e.status IN ('queued', 'running') OR e.id = ANY($1::uuid[]) OR e.created_at >= $2
      ORDER BY e.created_at, e.id`,
    [alsoIds, createdSince ?? null],
  );
  return rows.map((row) => ({
    id: row.id as string,
    name: row.name as string,
    status: row.status as ExperimentStatus,
    cyclesCompleted: row.cycles_completed as number,
    cyclesPlanned: row.cycles_planned as number,
    particlesPerCycle: row.particles_per_cycle as number,
    particlesDone: row.particles_done as number,
    sparsity: (row.sparsity as number | null) ?? null,
    accuracy: (row.accuracy as number | null) ?? null,
    error: (row.error as string | null) ?? null,
  }));
}
