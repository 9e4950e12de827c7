import type { EntityManager } from "typeorm";
import { METRIC_POINT_LIMITS, metricPointProblems, type MetricPoint } from "../../schema/metrics.js";
import { BLOCK_SHIFT } from "../entities/metric-block.js";
import { CYCLE_LEVEL_PARTICLE } from "../entities/metric-series.js";
import { InvalidInputError, NotFoundError } from "./errors.js";
import type { Tx } from "./transaction.js";
import { requireIntInRange, requirePlainText, requireUuid } from "./validation.js";

/** Points one call may append; larger batches are split by the caller. */
export const MAX_POINTS_PER_APPEND = 1_000_000;

export interface AppendMetricsResult {
  received: number;
  /** Points stored for the first time; re-sent points (same series and step) are skipped. */
  inserted: number;
}

interface SeriesKey {
  cycle: number;
  particle: number;
  key: string;
}

const seriesKeyOf = (cycle: number, particle: number, key: string) => `${cycle}\u0000${particle}\u0000${key}`;

/**
 * Stores a batch of metric points in bulk (one multi-row INSERT over unnest'ed arrays), creating
 * series as needed and keeping each series' block extremes current. Idempotent per (series, step):
 * a re-delivered batch stores and publishes nothing twice. The points that were new are published
 * on `metrics-appended` after commit.
 */
export async function appendMetrics(tx: Tx, experimentId: string, points: readonly MetricPoint[]): Promise<AppendMetricsResult> {
  const id = requireUuid(experimentId, "experimentId");
  if (points.length > MAX_POINTS_PER_APPEND) throw InvalidInputError.single("points", `at most ${MAX_POINTS_PER_APPEND} points per batch`);
  validatePoints(points);
  if (points.length === 0) return { received: 0, inserted: 0 };
  const wanted = new Map<string, SeriesKey>();
  for (const point of points) {
    const particle = point.particle ?? CYCLE_LEVEL_PARTICLE;
    const k = seriesKeyOf(point.cycle, particle, point.key);
    if (!wanted.has(k)) wanted.set(k, { cycle: point.cycle, particle, key: point.key });
  }
  const seriesIds = await ensureSeries(tx.manager, id, [...wanted.values()]);

  const count = points.length;
  const seriesColumn = new Array<number>(count);
  const steps = new Array<number>(count);
  const epochs = new Array<number>(count);
  const values = new Array<number>(count);
  const times = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const point = points[i]!;
    seriesColumn[i] = seriesIds.get(seriesKeyOf(point.cycle, point.particle ?? CYCLE_LEVEL_PARTICLE, point.key))!;
    steps[i] = point.step;
    epochs[i] = point.epoch;
    values[i] = point.value;
    times[i] = point.time;
  }
  const blocks = new BlockAccumulator();
  const perSeries = new Map<number, number>();
  const insertedRows = await insertPoints(tx.manager, [seriesColumn, steps, epochs, values, times]);
  if (insertedRows === null) {
    // Fast path: nothing was stored before, so every point is new.
    for (let i = 0; i < count; i++) {
      blocks.add(seriesColumn[i]!, steps[i]!, values[i]!);
      perSeries.set(seriesColumn[i]!, (perSeries.get(seriesColumn[i]!) ?? 0) + 1);
    }
    await saveCounts(tx.manager, blocks, perSeries);
    tx.publishAfterCommit("metrics-appended", id, { experimentId: id, points: [...points] });
    return { received: count, inserted: count };
  }
  if (insertedRows.length === 0) return { received: count, inserted: 0 };

  const fresh = new Set<string>();
  for (const row of insertedRows) fresh.add(`${row.s}:${row.t}`);
  const published: MetricPoint[] = [];
  for (let i = 0; i < count; i++) {
    const marker = `${seriesColumn[i]}:${steps[i]}`;
    if (!fresh.delete(marker)) continue; // a duplicate, or the second copy of a step within this batch
    published.push(points[i]!);
    blocks.add(seriesColumn[i]!, steps[i]!, values[i]!);
    perSeries.set(seriesColumn[i]!, (perSeries.get(seriesColumn[i]!) ?? 0) + 1);
  }
  await saveCounts(tx.manager, blocks, perSeries);
  tx.publishAfterCommit("metrics-appended", id, { experimentId: id, points: published });
  return { received: count, inserted: published.length };
}

const INSERT_POINTS = `INSERT INTO metric_points (series_id, step, epoch, value, time)
  SELECT s, t, e, v, timestamptz 'epoch' + w * interval '1 millisecond'
    FROM unnest($1::int[], $2::int[], $3::float8[], $4::float8[], $5::float8[]) AS u(s, t, e, v, w)`;

/**
 * Inserts the points. Returns null when all were new (the usual case), otherwise the (series, step)
 * pairs that were stored. The usual case takes a plain INSERT, measured about a third faster than
 * INSERT … ON CONFLICT here; a savepoint lets it fail on a re-sent point without aborting the
 * caller's transaction, and only then is the batch inserted again skipping what exists.
 */
async function insertPoints(manager: EntityManager, columns: unknown[]): Promise<Array<{ s: number; t: number }> | null> {
  await manager.query(`SAVEPOINT metric_points_batch`);
  try {
    await manager.query(INSERT_POINTS, columns);
    await manager.query(`RELEASE SAVEPOINT metric_points_batch`);
    return null;
  } catch (error) {
    if ((error as { code?: string }).code !== "23505") throw error; // only a unique violation means "sent before"
    await manager.query(`ROLLBACK TO SAVEPOINT metric_points_batch`);
  }
  const rows: Array<{ s: number[] | null; t: number[] | null }> = await manager.query(
    `WITH inserted AS (${INSERT_POINTS} ON CONFLICT DO NOTHING RETURNING series_id, step)
     SELECT array_agg(series_id) AS s, array_agg(step) AS t FROM inserted`,
    columns,
  );
  const { s, t } = rows[0]!;
  return s === null || t === null ? [] : s.map((series, i) => ({ s: series, t: t[i]! }));
}

async function saveCounts(manager: EntityManager, blocks: BlockAccumulator, perSeries: Map<number, number>): Promise<void> {
  const rows = blocks.rows();
  if (rows.length === 0) return;
  await manager.query(
    `WITH merged AS (
       INSERT INTO metric_blocks AS b (series_id, block, points, min_step, min_value, max_step, max_value)
       SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::float8[], $6::int[], $7::float8[])
       ON CONFLICT (series_id, block) DO UPDATE SET
         points = b.points + EXCLUDED.points,
         min_step = CASE WHEN (EXCLUDED.min_value, EXCLUDED.min_step) < (b.min_value, b.min_step) THEN EXCLUDED.min_step ELSE b.min_step END,
         min_value = LEAST(b.min_value, EXCLUDED.min_value),
         max_step = CASE WHEN EXCLUDED.max_value > b.max_value OR (EXCLUDED.max_value = b.max_value AND EXCLUDED.max_step < b.max_step) THEN EXCLUDED.max_step ELSE b.max_step END,
         max_value = GREATEST(b.max_value, EXCLUDED.max_value)
       RETURNING 1)
     UPDATE metric_series s SET point_count = s.point_count + d.n FROM unnest($8::int[], $9::int[]) AS d(id, n) WHERE s.id = d.id`,
    [
      rows.map((r) => r.series),
      rows.map((r) => r.block),
      rows.map((r) => r.points),
      rows.map((r) => r.minStep),
      rows.map((r) => r.minValue),
      rows.map((r) => r.maxStep),
      rows.map((r) => r.maxValue),
      [...perSeries.keys()],
      [...perSeries.values()],
    ],
  );
}

function validatePoints(points: readonly MetricPoint[]): void {
  const problems: Array<{ path: string; message: string }> = [];
  for (let i = 0; i < points.length && problems.length < 20; i++) {
    for (const problem of metricPointProblems(points[i])) {
      problems.push({ path: problem.path === "(root)" ? `points.${i}` : `points.${i}.${problem.path}`, message: problem.message });
    }
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`invalid metric points: ${problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`).join("; ")}${problems.length > 5 ? "; …" : ""}`, problems);
  }
}

/** Ids of the experiment's series, creating those that do not exist yet. */
async function ensureSeries(manager: EntityManager, experimentId: string, series: SeriesKey[]): Promise<Map<string, number>> {
  const params = [experimentId, series.map((s) => s.cycle), series.map((s) => s.particle), series.map((s) => s.key)];
  const select = `SELECT s.id, s.cycle_index AS c, s.particle_index AS p, s.key AS k
                    FROM metric_series s JOIN unnest($2::int[], $3::int[], $4::text[]) AS w(c, p, k)
                      ON s.experiment_id = $1 AND s.cycle_index = w.c AND s.particle_index = w.p AND s.key = w.k`;
  const found = new Map<string, number>();
  const collect = (rows: Array<{ id: number; c: number; p: number; k: string }>) => {
    for (const row of rows) found.set(seriesKeyOf(row.c, row.p, row.k), row.id);
  };
  collect(await manager.query(select, params));
  if (found.size < series.length) {
    const exists = await manager.query(`SELECT 1 FROM experiments WHERE id = $1`, [experimentId]);
    if (exists.length === 0) throw new NotFoundError(`no experiment with id ${experimentId}`);
    const missing = series.filter((s) => !found.has(seriesKeyOf(s.cycle, s.particle, s.key)));
    collect(
      await manager.query(
        `INSERT INTO metric_series (experiment_id, cycle_index, particle_index, key)
         SELECT $1, c, p, k FROM unnest($2::int[], $3::int[], $4::text[]) AS w(c, p, k)
         ON CONFLICT DO NOTHING RETURNING id, cycle_index AS c, particle_index AS p, key AS k`,
        [experimentId, missing.map((s) => s.cycle), missing.map((s) => s.particle), missing.map((s) => s.key)],
      ),
    );
    // A series another transaction created meanwhile was skipped by ON CONFLICT; read it now.
    if (found.size < series.length) collect(await manager.query(select, params));
  }
  if (found.size < series.length) throw new Error("metric series could not be created");
  return found;
}

/** Per-block extremes of the new points, merged into metric_blocks by saveCounts. */
class BlockAccumulator {
  private readonly blocks = new Map<string, { series: number; block: number; points: number; minStep: number; minValue: number; maxStep: number; maxValue: number }>();

  add(series: number, step: number, value: number): void {
    const block = step >> BLOCK_SHIFT;
    const key = `${series}:${block}`;
    const entry = this.blocks.get(key);
    if (!entry) {
      this.blocks.set(key, { series, block, points: 1, minStep: step, minValue: value, maxStep: step, maxValue: value });
      return;
    }
    entry.points++;
    if (value < entry.minValue || (value === entry.minValue && step < entry.minStep)) {
      entry.minValue = value;
      entry.minStep = step;
    }
    if (value > entry.maxValue || (value === entry.maxValue && step < entry.maxStep)) {
      entry.maxValue = value;
      entry.maxStep = step;
    }
  }

  rows() {
    return [...this.blocks.values()];
  }
}

export interface StoredPoint {
  step: number;
  epoch: number;
  value: number;
  time: Date;
}

export interface SeriesSelector {
  experimentId: string;
  cycle: number;
  /** null: the cycle's averaged model. */
  particle: number | null;
  key: string;
}

export interface DownsampledSeries {
  key: string;
  cycle: number;
  particle: number | null;
  totalPoints: number;
  /** True when points were dropped to fit `samples`. */
  sampled: boolean;
  points: StoredPoint[];
}

export const MIN_SAMPLES = 2;
export const MAX_SAMPLES = 10_000;
export const MAX_KEYS_PER_QUERY = 50;

/** Checks the metric keys a read names (each as `path.i`), so a key no series could have fails as input, not in SQL. */
export function requireMetricKeys(keys: readonly string[], path: string): void {
  keys.forEach((key, index) => requirePlainText(key, `${path}.${index}`, METRIC_POINT_LIMITS.keyLength));
}

/**
 * Each requested series reduced to at most `samples` points that keep its shape and extremes: the
 * first and last point, and in each of (samples − 2) / 2 equal step ranges the point with the
 * lowest and the one with the highest value. Long series are reduced from their 64-step block
 * summaries; short ones from their points.
 */
export async function readDownsampledSeries(manager: EntityManager, input: { experimentId: string; cycle: number; particle: number | null; keys: readonly string[]; samples: number }): Promise<DownsampledSeries[]> {
  const experimentId = requireUuid(input.experimentId, "experimentId");
  requireIntInRange(input.cycle, "cycle", 0, 10_000);
  if (input.particle !== null) requireIntInRange(input.particle, "particle", 0, 1_000);
  const samples = requireIntInRange(input.samples, "samples", MIN_SAMPLES, MAX_SAMPLES);
  if (input.keys.length === 0 || input.keys.length > MAX_KEYS_PER_QUERY) throw InvalidInputError.single("keys", `name 1 to ${MAX_KEYS_PER_QUERY} keys`);
  requireMetricKeys(input.keys, "keys");
  const particle = input.particle ?? CYCLE_LEVEL_PARTICLE;
  const seriesRows: Array<{ id: number; key: string; point_count: number }> = await manager.query(
    `SELECT id, key, point_count FROM metric_series WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3 AND key = ANY($4::text[])`,
    [experimentId, input.cycle, particle, [...input.keys]],
  );
  const byKey = new Map(seriesRows.map((row) => [row.key, row]));
  const result: DownsampledSeries[] = [];
  for (const key of new Set(input.keys)) {
    const row = byKey.get(key);
    const base = { key, cycle: input.cycle, particle: input.particle };
    if (!row || row.point_count === 0) {
      result.push({ ...base, totalPoints: 0, sampled: false, points: [] });
    } else if (row.point_count <= samples) {
      result.push({ ...base, totalPoints: row.point_count, sampled: false, points: await readPoints(manager, row.id, -1, row.point_count) });
    } else {
      result.push({ ...base, totalPoints: row.point_count, sampled: true, points: await downsample(manager, row.id, samples) });
    }
  }
  return result;
}

async function downsample(manager: EntityManager, seriesId: number, samples: number): Promise<StoredPoint[]> {
  const bounds: Array<{ lo: number; hi: number; blocks: number }> = await manager.query(
    `SELECT (SELECT min(step) FROM metric_points WHERE series_id = $1) AS lo, (SELECT max(step) FROM metric_points WHERE series_id = $1) AS hi,
            (SELECT count(*)::int FROM metric_blocks WHERE series_id = $1) AS blocks`,
    [seriesId],
  );
  const { lo, hi, blocks } = bounds[0]!;
  const buckets = Math.max(1, Math.floor((samples - 2) / 2));
  const span = hi - lo + 1;
  let chosen: Array<{ b: number; min_step: number; max_step: number }>;
  if (blocks >= 4 * buckets) {
    // Each bucket takes whole blocks; with at least four blocks per bucket the unevenness is small.
    chosen = await manager.query(
      `SELECT b, (min(ARRAY[min_value, min_step::float8]))[2]::int AS min_step, (max(ARRAY[max_value, -max_step::float8]))[2]::int * -1 AS max_step
         FROM (SELECT least(greatest(floor(((block::float8 * ${1 << BLOCK_SHIFT}) - $2) * $3 / $4)::int, 0), $3 - 1) AS b, min_value, min_step, max_value, max_step
                 FROM metric_blocks WHERE series_id = $1) x
        GROUP BY b`,
      [seriesId, lo, buckets, span],
    );
  } else {
    chosen = await manager.query(
      `SELECT b, (min(ARRAY[value, step::float8]))[2]::int AS min_step, (max(ARRAY[value, -step::float8]))[2]::int * -1 AS max_step
         FROM (SELECT least(floor((step - $2)::float8 * $3 / $4)::int, $3 - 1) AS b, step, value FROM metric_points WHERE series_id = $1) x
        GROUP BY b`,
      [seriesId, lo, buckets, span],
    );
  }
  const steps = new Set<number>([lo, hi]);
  for (const row of chosen) {
    steps.add(row.min_step);
    steps.add(row.max_step);
  }
  const rows: Array<{ step: number; epoch: number; value: number; time: Date }> = await manager.query(
    `SELECT step, epoch, value, time FROM metric_points WHERE series_id = $1 AND step = ANY($2::int[]) ORDER BY step`,
    [seriesId, [...steps]],
  );
  return rows.slice(0, samples);
}

async function readPoints(manager: EntityManager, seriesId: number, afterStep: number, limit: number): Promise<StoredPoint[]> {
  return manager.query(`SELECT step, epoch, value, time FROM metric_points WHERE series_id = $1 AND step > $2 ORDER BY step LIMIT $3`, [seriesId, afterStep, limit]);
}

export const MAX_SCAN_PAGE = 10_000;

export interface PointPage {
  points: StoredPoint[];
  hasNextPage: boolean;
  /** Pass as `afterStep` for the next page; null when the page is empty. */
  endStep: number | null;
}

/** Every point of one series in step order, a page at a time (no sampling). */
export async function scanSeriesPoints(manager: EntityManager, selector: SeriesSelector, afterStep: number | null, first: number): Promise<PointPage> {
  const experimentId = requireUuid(selector.experimentId, "experimentId");
  requireIntInRange(first, "first", 1, MAX_SCAN_PAGE);
  requireIntInRange(selector.cycle, "cycle", 0, METRIC_POINT_LIMITS.maxCycle);
  if (selector.particle !== null) requireIntInRange(selector.particle, "particle", 0, METRIC_POINT_LIMITS.maxParticle);
  requirePlainText(selector.key, "key", METRIC_POINT_LIMITS.keyLength);
  const rows: Array<{ id: number }> = await manager.query(
    `SELECT id FROM metric_series WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3 AND key = $4`,
    [experimentId, selector.cycle, selector.particle ?? CYCLE_LEVEL_PARTICLE, selector.key],
  );
  if (rows.length === 0) return { points: [], hasNextPage: false, endStep: null };
  const points = await readPoints(manager, rows[0]!.id, afterStep ?? -1, first + 1);
  const hasNextPage = points.length > first;
  const page = points.slice(0, first);
  return { points: page, hasNextPage, endStep: page.at(-1)?.step ?? null };
}

export interface SeriesInfo {
  cycle: number;
  particle: number | null;
  key: string;
  pointCount: number;
}

/** The series an experiment has, in (cycle, particle, key) order, the cycle-level ones first. */
export async function listSeries(manager: EntityManager, experimentId: string): Promise<SeriesInfo[]> {
  const rows: Array<{ cycle_index: number; particle_index: number; key: string; point_count: number }> = await manager.query(
    `SELECT cycle_index, particle_index, key, point_count FROM metric_series WHERE experiment_id = $1 ORDER BY cycle_index, particle_index, key`,
    [requireUuid(experimentId, "experimentId")],
  );
  return rows.map((row) => ({ cycle: row.cycle_index, particle: row.particle_index === CYCLE_LEVEL_PARTICLE ? null : row.particle_index, key: row.key, pointCount: row.point_count }));
}

export interface HistoryFilter {
  cycle?: number | null;
  /** Only this particle's series. */
  particle?: number | null;
  keys?: readonly string[] | null;
}

/**
 * Stored points of an experiment matching a filter, in series then step order, read in pages of
 * `pageSize` so that a long history never sits in memory at once.
 */
export async function* readMetricHistory(manager: EntityManager, experimentId: string, filter: HistoryFilter, pageSize = 5_000): AsyncGenerator<MetricPoint[]> {
  const conditions = ["s.experiment_id = $1"];
  const params: unknown[] = [experimentId];
  if (filter.cycle !== undefined && filter.cycle !== null) {
    params.push(filter.cycle);
    conditions.push(`s.cycle_index = $${params.length}`);
  }
  if (filter.particle !== undefined && filter.particle !== null) {
    params.push(filter.particle);
    conditions.push(`s.particle_index = $${params.length}`);
  }
  if (filter.keys && filter.keys.length > 0) {
    params.push([...filter.keys]);
    conditions.push(`s.key = ANY($${params.length}::text[])`);
  }
  const series: Array<{ id: number; cycle_index: number; particle_index: number; key: string }> = await manager.query(
    `SELECT s.id, s.cycle_index, s.particle_index, s.key FROM metric_series s WHERE ${conditions.join(" AND ")} ORDER BY s.cycle_index, s.particle_index, s.key`,
    params,
  );
  for (const s of series) {
    let after = -1;
    for (;;) {
      const rows: Array<{ step: number; epoch: number; value: number; time: Date }> = await manager.query(
        `SELECT step, epoch, value, time FROM metric_points WHERE series_id = $1 AND step > $2 ORDER BY step LIMIT $3`,
        [s.id, after, pageSize],
      );
      if (rows.length === 0) break;
      yield rows.map((row) => ({
        cycle: s.cycle_index,
        ...(s.particle_index === CYCLE_LEVEL_PARTICLE ? {} : { particle: s.particle_index }),
        key: s.key,
        step: row.step,
        epoch: row.epoch,
        value: row.value,
        time: row.time.getTime(),
      }));
      after = rows.at(-1)!.step;
      if (rows.length < pageSize) break;
    }
  }
}
