import type { EntityManager } from "typeorm";
import { ExperimentRow } from "../entities/experiment.js";
import type { FrontierColumns } from "../entities/experiment-frontier.js";
import { InvalidInputError } from "./errors.js";
import { axisValues, type FrontierAxis } from "./frontier-axis.js";
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
  /** Of the x-axis asked for, over the experiments with a value at this cycle; null when none has. */
  x: Summary | null;
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
  /** The x-axis summarised per point (default sparsity). */
  x?: FrontierAxis;
}

/**
 * Per group of experiments (equal configs on `groupBy`) and per cycle, the statistics of the
 * completed cycles. One SQL query picks the matching experiments, ranks their group keys (jsonb
 * order) and reads each one's stored frontier (ExperimentFrontierRow: its completed cycles as plot
 * columns, kept current as cycles are recorded), so no cycle row is aggregated per request; the
 * statistics are computed here by `summarise` over each group's experiments in id order, so they
 * are exactly those of the values as listed (a hand computation in the same order agrees to the
 * last bit).
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

  const rows: Array<{ id: string; rank: number; key: string; plot: string | null }> = await manager.query(
    `WITH chosen AS (${chosenSql}),
          ranked AS (SELECT id, k, dense_rank() OVER (ORDER BY k)::int AS rank FROM chosen)
     SELECT r.id::text AS id, r.rank, CASE WHEN r.rank <= $${parameters.length + 1} THEN r.k::text END AS key, f.plot::text AS plot
       FROM ranked r LEFT JOIN experiment_frontiers f ON f.experiment_id = r.id AND r.rank <= $${parameters.length + 1}`,
    [...parameters, limit],
  );
  if (rows.length > MAX_GROUPED_EXPERIMENTS) {
    throw InvalidInputError.single("filter", `matches more than ${MAX_GROUPED_EXPERIMENTS} experiments; narrow it (e.g. by sweepId)`);
  }
  const groups = new Map<number, { key: unknown; members: Array<{ id: string; plot: FrontierColumns | null }> }>();
  for (const row of rows) {
    if (row.rank > limit) continue;
    let group = groups.get(row.rank);
    if (!group) groups.set(row.rank, (group = { key: JSON.parse(row.key!), members: [] }));
    group.members.push({ id: row.id, plot: row.plot ? (JSON.parse(row.plot) as FrontierColumns) : null });
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
  const keys = paths ? ordered.map((group) => Object.fromEntries(paths.map((path, i) => [path, (group.key as unknown[])[i] ?? null]))) : varyingPaths(ordered.map((group) => group.key as Record<string, unknown>));
  return ordered.map((group, g) => {
    const members = group.members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { key: keys[g]!, experimentIds: members.map((m) => m.id), points: groupPoints(members.map((m) => m.plot), input.x ?? "sparsity") };
  });
}

/** The group's statistics per cycle that at least one of its experiments completed, in cycle order. */
function groupPoints(plots: ReadonlyArray<FrontierColumns | null>, axis: FrontierAxis): FrontierGroupPointView[] {
  const byCycle = new Map<number, { sparsity: number[]; accuracy: number[]; best: number[]; loss: number[]; x: number[] }>();
  for (const plot of plots) {
    if (!plot) continue;
    const xs = axisValues(plot, axis);
    plot.cycle.forEach((cycle, i) => {
      let values = byCycle.get(cycle);
      if (!values) byCycle.set(cycle, (values = { sparsity: [], accuracy: [], best: [], loss: [], x: [] }));
      const x = xs[i];
      if (x !== null && x !== undefined) values.x.push(x);
      values.sparsity.push(plot.sparsity[i]!);
      values.accuracy.push(plot.accuracy[i]!);
      let best: number | null = null;
      for (const value of plot.particleAccuracies[i] ?? []) if (value !== null && (best === null || value > best)) best = value;
      if (best !== null) values.best.push(best);
      const loss = plot.loss[i];
      if (loss !== null && loss !== undefined) values.loss.push(loss);
    });
  }
  return [...byCycle.entries()]
    .sort(([a], [b]) => a - b)
    .map(([cycle, values]) => ({
      cycle,
      n: values.accuracy.length,
      sparsity: summarise(values.sparsity).mean,
      accuracy: summarise(values.accuracy),
      bestParticle: values.best.length > 0 ? summarise(values.best) : null,
      lossMean: values.loss.length > 0 ? summarise(values.loss).mean : null,
      x: values.x.length > 0 ? summarise(values.x) : null,
    }));
}

/** Mean (sum in list order / n), sample standard deviation (two-pass, n − 1), min and max. */
export function summarise(values: readonly number[]): Summary {
  const n = values.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { n, mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : null, min, max };
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
