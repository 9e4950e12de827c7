import type { Express, Request, Response } from "express";
import type { ExperimentConfig } from "../../schema/config.js";
import { experimentStep } from "../../schema/metrics.js";
import { EXPERIMENT_STATUSES, type ExperimentStatus } from "../../schema/statuses.js";
import { InvalidInputError, NotFoundError } from "../services/errors.js";
import type { ConfigFieldCondition, ExperimentFilter } from "../services/experiment-list.js";
import { requireExperiment } from "../services/experiments.js";
import { groupedFrontier } from "../services/grouped-frontier.js";
import { listSeries, MAX_SAMPLES, readDownsampledSeries, readMetricHistory } from "../services/metrics.js";
import { requireIntInRange, requireUuid } from "../services/validation.js";
import { mountAnalysisExport } from "./analysis-export.js";
import { csvLine } from "./csv.js";
import { refuseRead, type ReadAccessOptions } from "./read-access.js";

export interface ExportOptions extends ReadAccessOptions {
  log: (line: string) => void;
}

type Format = "csv" | "json";

/** Most metric points one unsampled export may hold; beyond it, pass `samples`. */
export const MAX_EXPORT_POINTS = 2_000_000;
const MAX_QUERY_VALUES = 1_000;

export const FRONTIER_COLUMNS = [
  "cycle",
  "sparsity",
  "n",
  "accuracy_mean",
  "accuracy_std",
  "accuracy_min",
  "accuracy_max",
  "best_particle_mean",
  "best_particle_std",
  "best_particle_min",
  "best_particle_max",
  "loss_mean",
] as const;
export const METRIC_COLUMNS = ["experiment", "key", "cycle", "particle", "step", "value", "time", "task_step", "epoch"] as const;

/**
 * GET /export/frontier.csv|json (the grouped frontier, one row per group and cycle) and
 * /export/metrics.csv|json (metric points, `step` on the experiment's one axis), with the read
 * authorisation of GraphQL queries. Errors are JSON: {"error": {"message", "field"}}.
 */
export function mountExports(app: Express, options: ExportOptions): void {
  for (const format of ["csv", "json"] as const) {
    app.get(`/export/frontier.${format}`, exportRoute(options, "exporting the frontier", (req, res) => sendFrontier(options, req, res, format)));
    app.get(`/export/metrics.${format}`, exportRoute(options, "exporting metrics", (req, res) => sendMetrics(options, req, res, format)));
  }
  mountAnalysisExport(app, options);
}

/** A GET route with the read authorisation of queries and JSON errors naming the field. */
export function exportRoute(options: ExportOptions, action: string, send: (req: Request, res: Response) => Promise<void>) {
  return async (req: Request, res: Response) => {
    const fail = (status: number, message: string, field: string | null = null) => {
      res.status(status).json({ error: { message, field } });
    };
    try {
      const refused = await refuseRead(options, req.headers.authorization, action);
      if (refused) return fail(refused.status, refused.message);
      await send(req, res);
    } catch (error) {
      if (res.headersSent) {
        options.log(`${action} broke off: ${String(error)}`);
        res.destroy();
        return;
      }
      if (error instanceof InvalidInputError) return fail(400, error.message, error.problems[0]?.path ?? null);
      if (error instanceof NotFoundError) return fail(404, error.message);
      options.log(`${action} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fail(500, "internal server error");
    }
  };
}

async function sendFrontier(options: ExportOptions, req: Request, res: Response, format: Format): Promise<void> {
  const groupBy = queryList(req, "groupBy");
  const limitText = queryValue(req, "limit");
  const groups = await groupedFrontier(options.dataSource.manager, {
    groupBy: groupBy.length > 0 ? groupBy : null,
    filter: filterFromQuery(req),
    limit: limitText === undefined ? 1000 : integerParameter(limitText, "limit"),
  });
  const keyColumns = [...new Set(groups.flatMap((group) => Object.keys(group.key)))];
  const rows = groups.flatMap((group) =>
    group.points.map((point) => [
      ...keyColumns.map((column) => group.key[column] ?? null),
      point.cycle,
      point.sparsity,
      point.n,
      point.accuracy.mean,
      point.accuracy.std,
      point.accuracy.min,
      point.accuracy.max,
      point.bestParticle?.mean ?? null,
      point.bestParticle?.std ?? null,
      point.bestParticle?.min ?? null,
      point.bestParticle?.max ?? null,
      point.lossMean,
    ]),
  );
  const columns = [...keyColumns, ...FRONTIER_COLUMNS];
  startBody(res, format, "frontier");
  if (format === "csv") {
    res.write(csvLine(columns));
    for (const row of rows) res.write(csvLine(row));
  } else {
    res.write(JSON.stringify(rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]])))));
  }
  res.end();
}

async function sendMetrics(options: ExportOptions, req: Request, res: Response, format: Format): Promise<void> {
  const manager = options.dataSource.manager;
  const experimentId = queryValue(req, "experiment");
  if (experimentId === undefined) throw InvalidInputError.single("experiment", "is required (an experiment id)");
  const experiment = await requireExperiment(manager, requireUuid(experimentId, "experiment"));
  const config = experiment.config as unknown as ExperimentConfig;
  const keys = queryList(req, "key");
  const samplesText = queryValue(req, "samples");
  const samples = samplesText === undefined ? null : requireIntInRange(integerParameter(samplesText, "samples"), "samples", 2, MAX_SAMPLES);
  const series = (await listSeries(manager, experiment.id)).filter((s) => keys.length === 0 || keys.includes(s.key));
  const total = series.reduce((sum, s) => sum + s.pointCount, 0);
  if (samples === null && total > MAX_EXPORT_POINTS) {
    throw InvalidInputError.single("samples", `the selected series hold ${total} points, more than ${MAX_EXPORT_POINTS} in one export: pass samples=N or fewer keys`);
  }
  startBody(res, format, "metrics");
  let first = true;
  const write = (point: { cycle: number; particle?: number | null; key: string; step: number; epoch: number; value: number; time: number | Date }) => {
    const particle = point.particle ?? null;
    const row = [experiment.id, point.key, point.cycle, particle, experimentStep(config, { ...point, particle: particle ?? undefined }), point.value, new Date(point.time).toISOString(), point.step, point.epoch];
    if (format === "csv") res.write(csvLine(row));
    else {
      res.write(`${first ? "" : ","}${JSON.stringify(Object.fromEntries(METRIC_COLUMNS.map((column, i) => [column, row[i]])))}`);
      first = false;
    }
  };
  res.write(format === "csv" ? csvLine(METRIC_COLUMNS) : "[");
  if (samples === null) {
    for await (const page of readMetricHistory(manager, experiment.id, { keys: keys.length > 0 ? keys : null })) for (const point of page) write(point);
  } else {
    // Downsampled a series at a time, as the metrics query does, in (cycle, particle, key) order.
    const selectors = [...new Map(series.map((s) => [`${s.cycle}/${s.particle}`, s])).values()];
    for (const selector of selectors) {
      const wanted = series.filter((s) => s.cycle === selector.cycle && s.particle === selector.particle).map((s) => s.key);
      for (const one of await readDownsampledSeries(manager, { experimentId: experiment.id, cycle: selector.cycle, particle: selector.particle, keys: wanted, samples })) {
        for (const point of one.points) write({ ...point, cycle: one.cycle, particle: one.particle, key: one.key });
      }
    }
  }
  if (format === "json") res.write("]");
  res.end();
}

function startBody(res: Response, format: Format, name: string): void {
  res.status(200);
  res.setHeader("Content-Type", format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8");
  res.setHeader("Content-Disposition", `attachment; filename="${name}.${format}"`);
}

/** The experiment filter from query parameters, named as in ExperimentFilter; `config=path:JSON` repeatable. */
export function filterFromQuery(req: Request): ExperimentFilter {
  const list = (name: string) => {
    const values = queryList(req, name);
    return values.length > 0 ? values : undefined;
  };
  const number = (name: string) => {
    const text = queryValue(req, name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw InvalidInputError.single(name, `must be a number, got "${text}"`);
    return value;
  };
  const statuses = list("statuses")?.map((status, i) => {
    const lower = status.toLowerCase();
    if (!(EXPERIMENT_STATUSES as readonly string[]).includes(lower)) throw InvalidInputError.single(`statuses.${i}`, `must be one of ${EXPERIMENT_STATUSES.join(", ")}`);
    return lower as ExperimentStatus;
  });
  const config = queryList(req, "config").map((text, i): ConfigFieldCondition => {
    const colon = text.indexOf(":");
    if (colon <= 0) throw InvalidInputError.single(`config.${i}`, 'must be path:JSON, e.g. config=method.name:"swamp"');
    let equals: unknown;
    try {
      equals = JSON.parse(text.slice(colon + 1));
    } catch {
      throw InvalidInputError.single(`config.${i}`, `the value after "${text.slice(0, colon)}:" is not JSON (quote strings: "swamp")`);
    }
    return { path: text.slice(0, colon), equals };
  });
  return {
    ids: list("ids"),
    statuses,
    tags: list("tags"),
    tagsAny: list("tagsAny"),
    methods: list("methods"),
    models: list("models"),
    datasets: list("datasets"),
    sweepId: queryValue(req, "sweepId"),
    owner: queryValue(req, "owner"),
    config: config.length > 0 ? config : undefined,
    accuracyMin: number("accuracyMin"),
    accuracyMax: number("accuracyMax"),
    sparsityMin: number("sparsityMin"),
    sparsityMax: number("sparsityMax"),
  };
}

/** A parameter's values: repeated (`a=1&a=2`) or once; nested objects are refused. */
function queryList(req: Request, name: string): string[] {
  const raw = req.query[name];
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.some((value) => typeof value !== "string")) throw InvalidInputError.single(name, "must be plain values");
  if (values.length > MAX_QUERY_VALUES) throw InvalidInputError.single(name, `at most ${MAX_QUERY_VALUES} values`);
  return values as string[];
}

export function queryValue(req: Request, name: string): string | undefined {
  const values = queryList(req, name);
  if (values.length > 1) throw InvalidInputError.single(name, "give it once");
  return values[0];
}

export function integerParameter(text: string, name: string): number {
  if (!/^-?\d{1,9}$/.test(text)) throw InvalidInputError.single(name, `must be an integer, got "${text}"`);
  return Number(text);
}
