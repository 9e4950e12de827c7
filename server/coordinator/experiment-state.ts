/** An experiment as the coordinator plans from it: its status, its config and its task ledger. */
import type { EntityManager } from "typeorm";
import { requireExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef, FleetTaskKind } from "../../schema/fleet-messages.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { TaskResultRow } from "../entities/task-result.js";
import type { LedgerEntry, PlanInput } from "../../protocol/plan.js";

export interface ExperimentState extends PlanInput {
  status: ExperimentStatus;
  /** The backend its first recorded result pinned it to, as stored (null before; see `experimentRoute`). */
  backend: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Experiment ids are lowercase UUIDs; anything else cannot name a stored experiment. */
export function isExperimentId(value: string): boolean {
  return UUID.test(value);
}

/** The experiment's status and config, without its ledger. */
export async function loadExperiment(manager: EntityManager, experimentId: string): Promise<Omit<ExperimentState, "ledger"> | null> {
  if (!isExperimentId(experimentId)) return null;
  const rows: Array<{ status: ExperimentStatus; config: unknown; backend: string | null }> = await manager.query(
    `SELECT status, config, backend FROM experiments WHERE id = $1`,
    [experimentId],
  );
  const row = rows[0];
  return row ? { experimentId, status: row.status, config: requireExperimentConfig(row.config), backend: row.backend } : null;
}

export async function loadExperimentState(manager: EntityManager, experimentId: string): Promise<ExperimentState | null> {
  const experiment = await loadExperiment(manager, experimentId);
  if (!experiment) return null;
  const results = await manager.getRepository(TaskResultRow).find({ where: { experimentId }, order: { taskId: "ASC" } });
  return { ...experiment, ledger: results.map(toLedgerEntry) };
}

export function toLedgerEntry(row: TaskResultRow): LedgerEntry {
  return {
    kind: row.kind as FleetTaskKind,
    cycle: row.cycleIndex,
    particle: row.particleIndex,
    outputs: row.outputs as Record<string, ArtifactRef | null>,
    numbers: row.numbers,
  };
}

/** Ids of experiments that are queued or running, oldest first. */
export async function unfinishedExperimentIds(manager: EntityManager): Promise<string[]> {
  const rows: Array<{ id: string }> = await manager.query(`SELECT id FROM experiments WHERE status IN ('queued', 'running') AND import_key IS NULL ORDER BY created_at, id`);
  return rows.map((row) => row.id);
}
