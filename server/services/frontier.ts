import type { EntityManager } from "typeorm";
import { requireUuid } from "./validation.js";

export interface FrontierPointView {
  cycle: number;
  sparsity: number;
  accuracy: number;
  loss: number | null;
  /** By particle index; null for a particle without a recorded accuracy. */
  particleAccuracies: Array<number | null>;
}

export interface FrontierSeriesView {
  experimentId: string;
  name: string;
  method: string;
  model: string;
  dataset: string;
  status: string;
  tags: string[];
  /** Completed cycles in cycle order, i.e. by rising sparsity. */
  points: FrontierPointView[];
}

export const MAX_FRONTIER_EXPERIMENTS = 2_000;

/**
 * The sparsity–accuracy frontier of each experiment: one point per completed cycle with the
 * averaged model's accuracy and every particle's. Two indexed reads, whatever the count: the
 * particle accuracies were copied into the cycle rows when each cycle completed.
 */
export async function readFrontier(manager: EntityManager, experimentIds: readonly string[]): Promise<FrontierSeriesView[]> {
  const ids = [...new Set(experimentIds.map((id, i) => requireUuid(id, `experimentIds.${i}`)))];
  if (ids.length === 0) return [];
  const experiments: Array<{ id: string; name: string; method: string; model: string; dataset: string; status: string; tags: string[] }> = await manager.query(
    `SELECT id, name, method, model, dataset, status, tags FROM experiments WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const cycles: Array<{ experiment_id: string; cycle_index: number; sparsity: number; accuracy: number; loss: number | null; particle_accuracies: Array<number | null> | null }> = await manager.query(
    `SELECT experiment_id, cycle_index, sparsity, accuracy, loss, particle_accuracies FROM cycles
      WHERE experiment_id = ANY($1::uuid[]) AND status = 'completed' ORDER BY experiment_id, cycle_index`,
    [ids],
  );
  const points = new Map<string, FrontierPointView[]>();
  for (const row of cycles) {
    let list = points.get(row.experiment_id);
    if (!list) points.set(row.experiment_id, (list = []));
    list.push({ cycle: row.cycle_index, sparsity: row.sparsity, accuracy: row.accuracy, loss: row.loss, particleAccuracies: row.particle_accuracies ?? [] });
  }
  const byId = new Map(experiments.map((e) => [e.id, e]));
  // In the order asked for; unknown ids are left out.
  return ids.flatMap((id) => {
    const e = byId.get(id);
    if (!e) return [];
    return [{ experimentId: e.id, name: e.name, method: e.method, model: e.model, dataset: e.dataset, status: e.status, tags: e.tags, points: points.get(id) ?? [] }];
  });
}
