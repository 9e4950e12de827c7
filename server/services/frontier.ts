import type { EntityManager } from "typeorm";
import type { FrontierColumns } from "../entities/experiment-frontier.js";
import { axisValues, withInferenceColumns, type FrontierAxis } from "./frontier-axis.js";
import { requireUuid } from "./validation.js";

export type { FrontierColumns };

export interface FrontierSeriesView {
  experimentId: string;
  name: string;
  method: string;
  model: string;
  dataset: string;
  status: string;
  tags: string[];
  /** The x-axis asked for; `plot.x` holds its values. */
  x: FrontierAxis;
  /** Completed cycles in cycle order (so by rising sparsity), as plot columns. */
  plot: Required<FrontierColumns> & { x: Array<number | null> };
}

export const MAX_FRONTIER_EXPERIMENTS = 2_000;

const EMPTY: FrontierColumns = { cycle: [], sparsity: [], accuracy: [], loss: [], particleAccuracies: [] };

/**
 * The sparsity–accuracy frontier of each experiment: per completed cycle, the averaged model's
 * accuracy and every particle's. One indexed read of the frontiers kept up to date as cycles are
 * recorded, parsed as JSON in one go, whatever the number of cycles.
 */
export async function readFrontier(manager: EntityManager, experimentIds: readonly string[], x: FrontierAxis = "sparsity"): Promise<FrontierSeriesView[]> {
  const ids = [...new Set(experimentIds.map((id, i) => requireUuid(id, `experimentIds.${i}`)))];
  if (ids.length === 0) return [];
  const rows: Array<{ id: string; name: string; method: string; model: string; dataset: string; status: string; tags: string[]; plot: string | null }> = await manager.query(
    `SELECT e.id, e.name, e.method, e.model, e.dataset, e.status, e.tags, f.plot::text AS plot
       FROM experiments e LEFT JOIN experiment_frontiers f ON f.experiment_id = e.id
      WHERE e.id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  // In the order asked for; unknown ids are left out.
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const plot = withInferenceColumns(row.plot ? (JSON.parse(row.plot) as FrontierColumns) : EMPTY);
    return [{ experimentId: row.id, name: row.name, method: row.method, model: row.model, dataset: row.dataset, status: row.status, tags: row.tags, x, plot: { ...plot, x: axisValues(plot, x) } }];
  });
}
