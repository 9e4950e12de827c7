/**
 * Tracking-server benchmarks: `npm run bench:server` (`node dist/bench/server.js [--json]`).
 *   ingest     bulk metric ingest through appendMetrics (points/s), batches of 1,000 and 10,000
 *   list       a page of 50 experiments over GraphQL/HTTP with 30,000 experiments × 20 cycles ×
 *              4 particles stored: newest first (first and deep pages), filtered + ordered by best
 *              accuracy, name search, and a page with its cycles (p50/p99)
 *   frontier   the frontier of 1,000 experiments over GraphQL/HTTP (p50/p99)
 *   series     a 100,000-point series downsampled to 500 points over GraphQL/HTTP (p50/p99)
 *   grouped    the grouped frontier of 3,000 experiments (1,000 settings × 3 seeds, 26 cycles × 4
 *              particles), in the service and over GraphQL/HTTP (p50/p99)
 * It runs against a scratch database on SWAMP_BENCH_DATABASE_URL's cluster (default the local
 * PostgreSQL), seeded in bulk with SQL, and drops it at the end. With --json each figure is one
 * JSON line. Targets: ingest ≥ 100,000 points/s; list p99 < 50 ms; frontier < 100 ms; series < 50 ms;
 * grouped p99 < 150 ms. `--only grouped` (or a comma list of the names above) runs just those.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { MetricPoint } from "../schema/metrics.js";
import { requireExperimentConfig } from "../schema/config.js";
import { createScratchDatabase, type ScratchDatabase } from "../server/db/scratch-database.js";
import { seedExperiments } from "./seed-experiments.js";
import { startCycle } from "../server/services/cycles.js";
import { createExperiment } from "../server/services/experiments.js";
import { appendMetrics, readDownsampledSeries } from "../server/services/metrics.js";
import { readFrontier } from "../server/services/frontier.js";
import { groupedFrontier } from "../server/services/grouped-frontier.js";
import { inTransaction } from "../server/services/transaction.js";
import { startServer, type RunningServer } from "../server/start-server.js";

const { values: args } = parseArgs({
  options: { json: { type: "boolean", default: false }, experiments: { type: "string", default: "30000" }, keep: { type: "boolean", default: false }, only: { type: "string" } },
});
const ONLY = args.only ? new Set(args.only.split(",")) : null;
const selected = (name: string) => ONLY === null || ONLY.has(name);
const EXPERIMENTS = Number(args.experiments);
const CYCLES = 20;
const PARTICLES = 4;

function emit(record: Record<string, unknown>, line: string): void {
  process.stdout.write(args.json ? `${JSON.stringify(record)}\n` : `${line}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timeRuns(runs: number, warmup: number, work: (i: number) => Promise<void>): Promise<{ p50: number; p99: number; runs: number }> {
  for (let i = 0; i < warmup; i++) await work(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), runs };
}

async function graphql(server: RunningServer, token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

async function benchIngest(server: RunningServer): Promise<void> {
  const keys = ["train/loss", "train/lr", "train/examples-per-second", "test/accuracy", "test/loss"];
  /** A writer: one experiment whose four particles log five keys per step. */
  const writer = async (name: string) => {
    const experiment = await inTransaction(server.services, (tx) => createExperiment(tx, { config: { name, data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp" } } }));
    await inTransaction(server.services, (tx) => startCycle(tx, { experimentId: experiment.id, cycleIndex: 0, sparsity: 0, aliveWeights: 1, totalWeights: 1, particleSeeds: [0, 1, 2, 3] }));
    let nextStep = 0;
    const batchOf = (size: number): MetricPoint[] => {
      const points: MetricPoint[] = [];
      for (let s = 0; s < size / (keys.length * PARTICLES); s++, nextStep++) {
        for (let particle = 0; particle < PARTICLES; particle++) {
          for (const key of keys) points.push({ cycle: 0, particle, key, step: nextStep, epoch: nextStep / 469, value: Math.exp(-nextStep / 10_000) + particle / 100, time: 1_750_000_000_000 + nextStep * 10 });
        }
      }
      return points;
    };
    return { id: experiment.id, batchOf };
  };
  for (const [batchSize, writers] of [[1_000, 1], [10_000, 1], [10_000, 2]] as const) {
    const sources = await Promise.all(Array.from({ length: writers }, (_, i) => writer(`ingest-${batchSize}-${writers}-${i}`)));
    const perWriter = Math.round(200_000 / batchSize / writers);
    const batches = sources.map((source) => Array.from({ length: perWriter }, () => source.batchOf(batchSize)));
    for (const source of sources) await inTransaction(server.services, (tx) => appendMetrics(tx, source.id, source.batchOf(batchSize))); // warm-up
    const start = performance.now();
    await Promise.all(sources.map(async (source, w) => {
      for (const batch of batches[w]!) await inTransaction(server.services, (tx) => appendMetrics(tx, source.id, batch));
    }));
    const seconds = (performance.now() - start) / 1000;
    const total = perWriter * writers * batchSize;
    const rate = total / seconds;
    emit(
      { bench: "ingest", batchSize, writers, points: total, pointsPerSecond: Math.round(rate), target: 100_000 },
      `ingest      batches of ${String(batchSize).padStart(6)}, ${writers} writer${writers > 1 ? "s" : " "}: ${Math.round(rate).toLocaleString("en").padStart(8)} points/s (${total.toLocaleString("en")} points in ${seconds.toFixed(2)} s; target ≥ 100,000)`,
    );
  }
}

const LIST = `query($filter: ExperimentFilter, $orderBy: ExperimentOrder, $after: String) {
  experiments(filter: $filter, orderBy: $orderBy, first: 50, after: $after) {
    nodes { id name status method model dataset tags finalSparsity bestAccuracy cyclesCompleted createdAt }
    pageInfo { hasNextPage endCursor }
  }
}`;
const LIST_WITH_CYCLES = `query($after: String) {
  experiments(first: 50, after: $after) { nodes { id name status bestAccuracy cycles { index sparsity accuracy } } pageInfo { endCursor } }
}`;
const LIST_WITH_COUNT = `query($filter: ExperimentFilter) { experiments(filter: $filter, first: 50) { totalCount nodes { id name status bestAccuracy } } }`;

async function benchList(server: RunningServer, token: string): Promise<void> {
  const cases: Array<{ name: string; query: string; variables: Record<string, unknown>; walk?: boolean }> = [
    { name: "newest first, first page", query: LIST, variables: {} },
    { name: "newest first, walking pages", query: LIST, variables: {}, walk: true },
    { name: "filtered (status, method, tag), by best accuracy", query: LIST, variables: { filter: { statuses: ["COMPLETED"], methods: ["swamp"], tags: ["lr-0.1"] }, orderBy: { field: "BEST_ACCURACY", direction: "DESC" } }, walk: true },
    { name: "by final sparsity ascending", query: LIST, variables: { orderBy: { field: "FINAL_SPARSITY", direction: "ASC" } }, walk: true },
    { name: "name contains", query: LIST, variables: { filter: { nameContains: "0042" } } },
    { name: "filtered, with totalCount", query: LIST_WITH_COUNT, variables: { filter: { statuses: ["COMPLETED"], datasets: ["cifar10"] } } },
    { name: "with 20 cycles each", query: LIST_WITH_CYCLES, variables: {}, walk: true },
  ];
  for (const c of cases) {
    let after: string | null = null;
    const result = await timeRuns(200, 20, async () => {
      const data = await graphql(server, token, c.query, { ...c.variables, ...(c.walk ? { after } : {}) });
      if (c.walk) after = data.experiments.pageInfo.endCursor ?? null;
    });
    emit(
      { bench: "list", case: c.name, experiments: EXPERIMENTS, pageSize: 50, p50Ms: round(result.p50), p99Ms: round(result.p99), runs: result.runs, targetP99Ms: 50 },
      `list        ${c.name.padEnd(50)} p50 ${result.p50.toFixed(1).padStart(6)} ms  p99 ${result.p99.toFixed(1).padStart(6)} ms  (target p99 < 50)`,
    );
  }
}

const FRONTIER_PLOT = `query($ids: [ID!]) { frontier(experimentIds: $ids) { experimentId name method plot } }`;
const FRONTIER_POINTS = `query($ids: [ID!]) { frontier(experimentIds: $ids) { experimentId name method points { cycle sparsity accuracy particleAccuracies } } }`;

async function benchFrontier(server: RunningServer, token: string): Promise<void> {
  const rows: Array<{ id: string }> = await server.dataSource.query(`SELECT id FROM experiments WHERE owner = 'bench' AND status = 'completed' ORDER BY created_at DESC LIMIT 1000`);
  const ids = rows.map((r) => r.id);
  const data = await graphql(server, token, FRONTIER_PLOT, { ids });
  const points = data.frontier.reduce((n: number, f: { plot: { cycle: unknown[] } }) => n + f.plot.cycle.length, 0);
  const cases = [
    ["service", () => readFrontier(server.dataSource.manager, ids).then(() => undefined), 30],
    ["GraphQL/HTTP, plot columns", () => graphql(server, token, FRONTIER_PLOT, { ids }).then(() => undefined), 30],
    ["GraphQL/HTTP, a point object each", () => graphql(server, token, FRONTIER_POINTS, { ids }).then(() => undefined), 5],
  ] as const;
  for (const [layer, work, runs] of cases) {
    const r = await timeRuns(runs, 2, work);
    emit(
      { bench: "frontier", layer, experiments: ids.length, points, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 100 },
      `frontier    ${ids.length} exp., ${points} points (${layer})`.padEnd(62) + ` p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (target < 100)`,
    );
  }
}

const SERIES = `query($id: ID!) { metrics(experimentId: $id, cycle: 0, particle: 0, keys: ["train/loss"], samples: 500) { totalPoints sampled points { step epoch value time } } }`;

async function benchSeries(server: RunningServer, token: string): Promise<void> {
  const experiment = await inTransaction(server.services, (tx) => createExperiment(tx, { config: { name: "long-series", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp" } } }));
  const total = 100_000;
  for (let from = 0; from < total; from += 20_000) {
    const points: MetricPoint[] = [];
    for (let step = from; step < from + 20_000; step++) {
      points.push({ cycle: 0, particle: 0, key: "train/loss", step, epoch: step / 469, value: 2 * Math.exp(-step / 20_000) + 0.05 * Math.sin(step / 7) + (step === 61_234 ? 5 : 0), time: 1_750_000_000_000 + step * 20 });
    }
    await inTransaction(server.services, (tx) => appendMetrics(tx, experiment.id, points));
  }
  await server.dataSource.query(`ANALYZE metric_points`);
  const data = await graphql(server, token, SERIES, { id: experiment.id });
  const series = data.metrics[0];
  if (series.totalPoints !== total || series.points.length > 500 || !series.points.some((p: { step: number }) => p.step === 61_234)) throw new Error("the downsampled series is wrong");
  const service = await timeRuns(50, 5, async () => void (await readDownsampledSeries(server.dataSource.manager, { experimentId: experiment.id, cycle: 0, particle: 0, keys: ["train/loss"], samples: 500 })));
  const http = await timeRuns(50, 5, async () => void (await graphql(server, token, SERIES, { id: experiment.id })));
  for (const [layer, r] of [["service", service], ["GraphQL over HTTP", http]] as const) {
    emit(
      { bench: "series", layer, points: total, samples: 500, returned: series.points.length, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 50 },
      `series      100,000 points → ${series.points.length} (${layer})`.padEnd(62) + ` p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (target < 50)`,
    );
  }
}

const GROUPED_SETTINGS = 1_000;
const GROUPED_SEEDS = 3;
const GROUPED_CYCLES = 26;
const GROUPED = `query($filter: ExperimentFilter) {
  groupedFrontier(groupBy: ["training.lr", "method.name"], filter: $filter, limit: 5000) {
    key experimentIds points { cycle sparsity n accuracyMean accuracyStd accuracyMin accuracyMax bestParticleMean bestParticleStd bestParticleMin bestParticleMax lossMean }
  }
}`;

const GROUPED_COLUMNS = `query($filter: ExperimentFilter) { groupedFrontier(groupBy: ["training.lr", "method.name"], filter: $filter, limit: 5000) { key experimentIds columns } }`;

/** 1,000 settings (learning rates) × 3 seeds, 26 completed cycles of 4 particles each, owned by 'grouped'. */
async function seedGrouped(server: RunningServer): Promise<void> {
  const config = requireExperimentConfig({ name: "grouped", data: { name: "fashion-mnist" }, model: { name: "lenet-300-100" }, method: { name: "swamp" }, pruning: { cycles: GROUPED_CYCLES - 1 } });
  await server.dataSource.query(
    `INSERT INTO experiments (name, config, config_hash, method, model, dataset, tags, status, owner, cycles_planned, cycles_completed, particles_per_cycle, final_sparsity, best_accuracy)
     SELECT 'grouped-' || i, jsonb_set(jsonb_set($1::jsonb, '{seed}', to_jsonb(i % $3)), '{training,lr}', to_jsonb(0.001 * (1 + i / $3))),
            encode(sha256(convert_to('grouped' || i, 'UTF8')), 'hex'), 'swamp', 'lenet-300-100', 'fashion-mnist', '{}', 'completed', 'grouped', $2, $2, 4,
            1 - 0.8 ^ ($2 - 1), 0.85 + ((i * 7919) % 1000) / 10000.0
       FROM generate_series(0, $4 - 1) AS i`,
    [JSON.stringify(config), GROUPED_CYCLES, GROUPED_SEEDS, GROUPED_SETTINGS * GROUPED_SEEDS],
  );
  await server.dataSource.query(
    `INSERT INTO cycles (experiment_id, cycle_index, status, sparsity, alive_weights, total_weights, layers, accuracy, loss, particle_accuracies, timings, completed_at)
     SELECT e.id, c, 'completed', 1 - 0.8 ^ c, round(266200 * 0.8 ^ c)::int, 266200, '[]', e.best_accuracy - abs(c - 8) * 0.002, 0.3 + c * 0.01,
            ARRAY[e.best_accuracy - abs(c - 8) * 0.002 - 0.011, e.best_accuracy - abs(c - 8) * 0.002 - 0.007, e.best_accuracy - 0.009, e.best_accuracy - 0.012], '{}', now()
       FROM experiments e CROSS JOIN generate_series(0, $1 - 1) AS c WHERE e.owner = 'grouped'`,
    [GROUPED_CYCLES],
  );
  await server.dataSource.query(
    `INSERT INTO experiment_frontiers (experiment_id, plot)
     SELECT experiment_id, json_build_object(
              'cycle', json_agg(cycle_index ORDER BY cycle_index), 'sparsity', json_agg(sparsity ORDER BY cycle_index),
              'accuracy', json_agg(accuracy ORDER BY cycle_index), 'loss', json_agg(loss ORDER BY cycle_index),
              'particleAccuracies', json_agg(particle_accuracies ORDER BY cycle_index))
       FROM cycles c JOIN experiments e ON e.id = c.experiment_id AND e.owner = 'grouped' GROUP BY experiment_id`,
  );
  await server.dataSource.query(`ANALYZE`);
}

async function benchGrouped(server: RunningServer, token: string): Promise<void> {
  await seedGrouped(server);
  const filter = { owner: "grouped" };
  const data = await graphql(server, token, GROUPED, { filter });
  const groups = data.groupedFrontier as Array<{ experimentIds: string[]; points: unknown[] }>;
  if (groups.length !== GROUPED_SETTINGS || groups.some((g) => g.experimentIds.length !== GROUPED_SEEDS || g.points.length !== GROUPED_CYCLES)) {
    throw new Error(`the grouped frontier is wrong: ${groups.length} groups`);
  }
  const cases = [
    ["service", () => groupedFrontier(server.dataSource.manager, { groupBy: ["training.lr", "method.name"], filter: { owner: "grouped" }, limit: 5000 }).then(() => undefined)],
    ["service, default grouping", () => groupedFrontier(server.dataSource.manager, { filter: { owner: "grouped" }, limit: 5000 }).then(() => undefined)],
    ["GraphQL/HTTP, columns", () => graphql(server, token, GROUPED_COLUMNS, { filter }).then(() => undefined)],
    ["GraphQL/HTTP, a point object each", () => graphql(server, token, GROUPED, { filter }).then(() => undefined)],
  ] as const;
  for (const [layer, work] of cases) {
    const r = await timeRuns(30, 3, work);
    emit(
      { bench: "grouped", layer, experiments: GROUPED_SETTINGS * GROUPED_SEEDS, groups: GROUPED_SETTINGS, cycles: GROUPED_CYCLES, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetP99Ms: 150 },
      `grouped     ${GROUPED_SETTINGS} groups × ${GROUPED_SEEDS} seeds × ${GROUPED_CYCLES} cycles (${layer})`.padEnd(62) + ` p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (target p99 < 150)`,
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function main(): Promise<void> {
  const adminUrl = process.env.SWAMP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  let database: ScratchDatabase | null = null;
  let server: RunningServer | null = null;
  try {
    database = await createScratchDatabase(adminUrl, "bench");
    server = await startServer({ databaseUrl: database.url, port: 0, swampHome: "/tmp/swamp-bench-home", log: () => undefined });
    const token = server.firstAdminToken!;
    if (selected("ingest")) await benchIngest(server);
    if (selected("list") || selected("frontier")) {
      const seconds = await seedExperiments(server, { experiments: EXPERIMENTS, cycles: CYCLES, particles: PARTICLES });
      emit({ bench: "seed", experiments: EXPERIMENTS, cycles: EXPERIMENTS * CYCLES, particles: EXPERIMENTS * CYCLES * PARTICLES, seconds: round(seconds) }, `seed        ${EXPERIMENTS.toLocaleString("en")} experiments × ${CYCLES} cycles × ${PARTICLES} particles in ${seconds.toFixed(1)} s`);
    }
    if (selected("list")) await benchList(server, token);
    if (selected("frontier")) await benchFrontier(server, token);
    if (selected("series")) await benchSeries(server, token);
    if (selected("grouped")) await benchGrouped(server, token);
  } finally {
    await server?.close();
    if (args.keep && database) console.error(`kept the database: ${database.url}`);
    else await database?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
