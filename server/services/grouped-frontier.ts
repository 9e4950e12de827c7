import type { EntityManager } from "typeorm";
import { ExperimentRow } from "../entities/experiment.js";
import { InvalidInputError } from "./errors.js";
import { applyExperimentFilter, requireConfigPath, type ExperimentFilter } from "./experiment-list.js";
import { requireIntInRange } from "./validation.js";

/** Config paths left out of the default grouping: what differs between repeats of one setting. */
export const UNGROUPED_CONFIG_PATHS = ["seed", "name", "tags"] as const;
export const MAX_GROUPED_EXPERIMENTS = 10_000;
export const MAX_FRONTIER_GROUPS = 5_000;
export const MAX_GROUP_BY_PATHS = 20;

/** n, mean, sample standard deviation (null when n = 1), min and max of a list. */
export interface Summary {
  n: number;
  mean: number;
  std: number | null;
  min: number;
  max: number;
}

export interface FrontierGroupPointView {
  cycle: number;
  /** Experiments of the group that completed this cycle. */
  n: number;
  sparsity: number;
  accuracy: Summary;
  /** Over the experiments whose cycle has particle accuracies; null when none has. */
  bestParticle: Summary | null;
  /** Null when no experiment recorded a loss. */
  lossMean: number | null;
}

export interface FrontierGroupView {
  /** Config path → value for the grouping paths (see groupedFrontier). */
  key: Record<string, unknown>;
  /** In id order. */
  experimentIds: string[];
  points: FrontierGroupPointView[];
}

export interface GroupedFrontierInput {
  /** Config paths the groups agree on; absent = the whole config but UNGROUPED_CONFIG_PATHS. */
  groupBy?: readonly string[] | null;
  filter?: ExperimentFilter;
  /** Most groups returned (in key order). */
  limit: number;
}

/** One cycle of one group as the query returns it: each column lists the experiments' values in id order. */
type RawPoint = [cycle: number, sparsity: number[], accuracy: number[], bestParticle: Array<number | null>, loss: Array<number | null>];

/**
 * Per group of experiments (equal configs on `groupBy`) and per cycle, the statistics of the
 * completed cycles: one SQL query groups the matching experiments and collects each group's
 * per-cycle values in experiment-id order; the statistics are then computed here by `summarise`,
 * so they are exactly those of the values as listed (a hand computation in the same order agrees
 * to the last bit).
 */
export async function groupedFrontier(manager: EntityManager, input: GroupedFrontierInput): Promise<FrontierGroupView[]> {
  const limit = requireIntInRange(input.limit, "limit", 1, MAX_FRONTIER_GROUPS);
  const paths = input.groupBy ?? null;
  if (paths && paths.length > MAX_GROUP_BY_PATHS) throw InvalidInputError.single("groupBy", `at most ${MAX_GROUP_BY_PATHS} paths`);
  const pathParts = paths?.map((path, i) => requireConfigPath(path, `groupBy.${i}`));

  const chosen = manager.getRepository(ExperimentRow).createQueryBuilder("e").select("e.id", "id");
  if (pathParts) {
    // Paths travel as text[] parameters of jsonb `#>`, never spliced into the SQL.
    const parts = pathParts.map((_, i) => `e.config #> CAST(:groupPath${i} AS text[])`);
    chosen.addSelect(`jsonb_build_array(${parts.join(", ")})`, "k");
    pathParts.forEach((parts, i) => chosen.setParameter(`groupPath${i}`, parts));
  } else {
    chosen.addSelect("e.config - CAST(:ungrouped AS text[])", "k").setParameter("ungrouped", UNGROUPED_CONFIG_PATHS);
  }
  applyExperimentFilter(chosen, input.filter ?? {});
  chosen.limit(MAX_GROUPED_EXPERIMENTS + 1);
  const [chosenSql, parameters] = chosen.getQueryAndParameters();
  const limitParameter = `$${parameters.length + 1}`;

  const rows: Array<{ key: unknown; ids: string[]; points: RawPoint[]; matched: number }> = await manager.query(
    `WITH chosen AS (${chosenSql}),
          groups AS (SELECT k, array_agg(id::text ORDER BY id) AS ids FROM chosen GROUP BY k ORDER BY k LIMIT ${limitParameter}),
          cycle_values AS (
            SELECT ch.k, c.cycle_index,
                   json_build_array(c.cycle_index, json_agg(c.sparsity ORDER BY ch.id), json_agg(c.accuracy ORDER BY ch.id),
                                    json_agg(best.value ORDER BY ch.id), json_agg(c.loss ORDER BY ch.id)) AS point
              FROM chosen ch
              JOIN groups g ON g.k = ch.k
              JOIN cycles c ON c.experiment_id = ch.id AND c.status = 'completed'
              LEFT JOIN LATERAL (SELECT max(x) AS value FROM unnest(c.particle_accuracies) AS x) best ON true
             GROUP BY ch.k, c.cycle_index)
     SELECT g.k AS key, g.ids, coalesce(json_agg(v.point ORDER BY v.cycle_index) FILTER (WHERE v.point IS NOT NULL), '[]') AS points,
            (SELECT count(*)::int FROM chosen) AS matched
       FROM groups g LEFT JOIN cycle_values v ON v.k = g.k
      GROUP BY g.k, g.ids
      ORDER BY g.k`,
    [...parameters, limit],
  );
  if (rows.length > 0 && rows[0]!.matched > MAX_GROUPED_EXPERIMENTS) {
    throw InvalidInputError.single("filter", `matches more than ${MAX_GROUPED_EXPERIMENTS} experiments; narrow it (e.g. by sweepId)`);
  }
  const keys = paths ? rows.map((row) => Object.fromEntries(paths.map((path, i) => [path, (row.key as unknown[])[i] ?? null]))) : varyingPaths(rows.map((row) => row.key as Record<string, unknown>));
  return rows.map((row, g) => ({ key: keys[g]!, experimentIds: row.ids, points: row.points.map(toPoint) }));
}

function toPoint([cycle, sparsity, accuracy, bestParticle, loss]: RawPoint): FrontierGroupPointView {
  const best = bestParticle.filter((value): value is number => value !== null);
  const losses = loss.filter((value): value is number => value !== null);
  return {
    cycle,
    n: accuracy.length,
    sparsity: summarise(sparsity).mean,
    accuracy: summarise(accuracy),
    bestParticle: best.length > 0 ? summarise(best) : null,
    lossMean: losses.length > 0 ? summarise(losses).mean : null,
  };
}

/** Mean (sum in list order / n), sample standard deviation (two-pass, n − 1), min and max. */
export function summarise(values: readonly number[]): Summary {
  const n = values.length;
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { n, mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : null, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The default groups differ somewhere in their configs; each group's key names the leaf paths
 * (objects flattened to dotted paths, lists kept whole) whose values differ between the groups,
 * so a table of groups shows what sets them apart and not the thirty settings they share.
 */
function varyingPaths(configs: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  const flat = configs.map((config) => flatten(config));
  const allPaths = [...new Set(flat.flatMap((entries) => [...entries.keys()]))].sort();
  const varying = allPaths.filter((path) => new Set(flat.map((entries) => JSON.stringify(entries.get(path) ?? null))).size > 1);
  return flat.map((entries) => Object.fromEntries(varying.map((path) => [path, entries.get(path) ?? null])));
}

function flatten(value: Record<string, unknown>, prefix = "", into = new Map<string, unknown>()): Map<string, unknown> {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child !== null && typeof child === "object" && !Array.isArray(child)) flatten(child as Record<string, unknown>, path, into);
    else into.set(path, child);
  }
  return into;
}
