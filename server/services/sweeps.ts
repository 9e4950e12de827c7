import type { EntityManager } from "typeorm";
import { expandSweep } from "../../schema/sweep-grid.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { SweepRow } from "../entities/sweep.js";
import { decodeCursor, encodeCursor } from "./experiment-list.js";
import { createExperiment, invalidInputFromProblems } from "./experiments.js";
import type { Tx } from "./transaction.js";
import { normaliseTags, requireIntInRange, requireUuid } from "./validation.js";

export interface CreateSweepInput {
  name: string;
  base: unknown;
  grid: unknown;
  /** Added to every experiment's tags (after the base config's own). */
  tags?: readonly string[];
  owner?: string | null;
}

export interface CreatedSweep {
  sweep: SweepRow;
  /** In grid order. */
  experimentIds: string[];
}

/**
 * Expands the grid and stores the sweep with all its experiments, or nothing: every point is
 * validated before the first row is written, and the caller's transaction holds them all.
 */
export async function createSweep(tx: Tx, input: CreateSweepInput): Promise<CreatedSweep> {
  const tags = normaliseTags(input.tags ?? [], "tags");
  const expansion = expandSweep(input.name, input.base, input.grid, tags);
  if (!expansion.ok) throw invalidInputFromProblems("invalid sweep", expansion.problems);
  const repository = tx.manager.getRepository(SweepRow);
  const sweep = await repository.save(
    repository.create({ name: input.name, base: input.base as Record<string, unknown>, grid: input.grid as Record<string, unknown>, tags, owner: input.owner ?? null, size: expansion.points.length }),
  );
  const experimentIds: string[] = [];
  for (const point of expansion.points) {
    const experiment = await createExperiment(tx, { config: point.config, owner: input.owner, sweepId: sweep.id });
    experimentIds.push(experiment.id);
  }
  return { sweep: await repository.findOneByOrFail({ id: sweep.id }), experimentIds };
}

export async function findSweep(manager: EntityManager, id: string): Promise<SweepRow | null> {
  return manager.getRepository(SweepRow).findOneBy({ id: requireUuid(id, "id") });
}

export const MAX_SWEEP_PAGE_SIZE = 500;
const SWEEP_ORDER_KEY = "createdAt:desc";

export interface SweepPage {
  rows: SweepRow[];
  cursors: string[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Sweeps newest first, a page at a time (keyset pagination, as experiments). */
export async function listSweeps(manager: EntityManager, first: number, after: string | null | undefined): Promise<SweepPage> {
  requireIntInRange(first, "first", 1, MAX_SWEEP_PAGE_SIZE);
  const query = manager.getRepository(SweepRow).createQueryBuilder("s");
  if (after) {
    const cursor = decodeCursor(after, SWEEP_ORDER_KEY);
    query.where("(s.created_at, s.id) < (CAST(:cursorValue AS timestamptz), CAST(:cursorId AS uuid))", { cursorValue: cursor.v, cursorId: cursor.id });
  }
  query.addSelect("s.created_at::text", "sort_key").orderBy("s.created_at", "DESC").addOrderBy("s.id", "DESC").limit(first + 1);
  const { entities, raw } = await query.getRawAndEntities<{ sort_key: string; s_id: string }>();
  const rows = entities.slice(0, first);
  const sortKeys = new Map(raw.map((r) => [r.s_id, r.sort_key]));
  const totalCount = await manager.getRepository(SweepRow).count();
  return { rows, cursors: rows.map((row) => encodeCursor({ o: SWEEP_ORDER_KEY, v: sortKeys.get(row.id)!, id: row.id })), hasNextPage: entities.length > first, totalCount };
}

export type SweepCounts = Record<ExperimentStatus, number> & { total: number };

/** How many of each sweep's experiments are in each state, keyed by sweep id. */
export async function sweepCounts(manager: EntityManager, sweepIds: readonly string[]): Promise<Map<string, SweepCounts>> {
  const rows: Array<{ sweep_id: string; status: ExperimentStatus; n: number }> =
    sweepIds.length === 0 ? [] : await manager.query(`SELECT sweep_id, status, count(*)::int AS n FROM experiments WHERE sweep_id = ANY($1::uuid[]) GROUP BY sweep_id, status`, [sweepIds]);
  const counts = new Map<string, SweepCounts>(sweepIds.map((id) => [id, { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }]));
  for (const row of rows) {
    const entry = counts.get(row.sweep_id)!;
    entry[row.status] = row.n;
    entry.total += row.n;
  }
  return counts;
}

/** Each sweep's experiment ids in grid order (the order they were created in), keyed by sweep id. */
export async function sweepExperimentIds(manager: EntityManager, sweepIds: readonly string[]): Promise<Map<string, string[]>> {
  const rows: Array<{ sweep_id: string; ids: string[] }> =
    sweepIds.length === 0 ? [] : await manager.query(`SELECT sweep_id, array_agg(id::text ORDER BY created_at, id) AS ids FROM experiments WHERE sweep_id = ANY($1::uuid[]) GROUP BY sweep_id`, [sweepIds]);
  const byId = new Map(rows.map((row) => [row.sweep_id, row.ids]));
  return new Map(sweepIds.map((id) => [id, byId.get(id) ?? []]));
}
