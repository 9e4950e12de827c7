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
 *   npz        /export/weights.npz of one Conv-4 cycle (CIFAR-10 shapes, 2.4 M weights, 80 % pruned):
 *              loading + encoding in the service, and the HTTP download (p50/p99)
 *   python     the Python client's `Swamp(url, token).frontier(...)` over 1,000 of the grouped
 *              experiments (seed 0 of each setting), timed in Python (/usr/bin/python3 or
 *              SWAMP_TEST_PYTHON, clients/python on PYTHONPATH, pandas if installed) against this server
 * It runs against a scratch database on SWAMP_BENCH_DATABASE_URL's cluster (default the local
 * PostgreSQL), seeded in bulk with SQL, and drops it at the end. With --json each figure is one
 * JSON line. Targets: ingest ≥ 100,000 points/s; list p99 < 50 ms; frontier < 100 ms; series < 50 ms;
 * grouped p99 < 150 ms; npz < 300 ms; python < 300 ms. `--only grouped` (or a comma list of the names above) runs just those.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs, promisify } from "node:util";
import { requireExperimentConfig } from "../schema/config.js";
import { packMask } from "../schema/mask-bits.js";
import type { MetricPoint } from "../schema/metrics.js";
import { encodeWeights, type WeightsHeaderEntry } from "../schema/weights-file.js";
import { WEIGHTS_FORMAT } from "../server/coordinator/record-result.js";
import { createScratchDatabase, type ScratchDatabase } from "../server/db/scratch-database.js";
import { loadCycleWeights } from "../server/exports/cycle-weights.js";
import { float32Tensor } from "../server/exports/named-tensor.js";
import { encodeNpz } from "../server/exports/npz-file.js";
import { registerArtifact } from "../server/services/artifacts.js";
import { recordCycle, startCycle } from "../server/services/cycles.js";
import { seedExperiments } from "./seed-experiments.js";
import { createExperiment } from "../server/services/experiments.js";
import { appendMetrics, readDownsampledSeries } from "../server/services/metrics.js";
import { readFrontier } from "../server/services/frontier.js";
import { groupedFrontier } from "../server/services/grouped-frontier.js";
import { inTransaction } from "../server/services/transaction.js";
import { startServer, type RunningServer } from "../server/start-server.js";
import { writeArtifact } from "../transport/artifact-store.js";

const { values: args } = parseArgs({
  options: { json: { type: "boolean", default: false }, experiments: { type: "string", default: "30000" }, keep: { type: "boolean", default: false }, only: { type: "string" } },
});
const ONLY = args.only ? new Set(args.only.split(",")) : null;
const selected = (name: string) => ONLY === null || ONLY.has(name);
const EXPERIMENTS = Number(args.experiments);
const CYCLES = 20;
const PARTICLES = 4;

const PYTHON = process.env.SWAMP_TEST_PYTHON ?? "/usr/bin/python3";

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

/** Conv-4 on CIFAR-10 (worker/models/conv-n.ts): every weight tensor in layout order. */
const CONV4_LAYOUT: WeightsHeaderEntry[] = [
  { name: "conv1/kernel", shape: [3, 3, 3, 64] },
  { name: "conv1/bias", shape: [64] },
  { name: "conv2/kernel", shape: [3, 3, 64, 64] },
  { name: "conv2/bias", shape: [64] },
  { name: "conv3/kernel", shape: [3, 3, 64, 128] },
  { name: "conv3/bias", shape: [128] },
  { name: "conv4/kernel", shape: [3, 3, 128, 128] },
  { name: "conv4/bias", shape: [128] },
  { name: "fc1/kernel", shape: [8192, 256] },
  { name: "fc1/bias", shape: [256] },
  { name: "fc2/kernel", shape: [256, 256] },
  { name: "fc2/bias", shape: [256] },
  { name: "fc3/kernel", shape: [256, 10] },
  { name: "fc3/bias", shape: [10] },
];

/** Stores one Conv-4 cycle as the fleet does (weights artifact + mask bitset, 80 % pruned); returns its experiment id. */
async function storeConv4Cycle(server: RunningServer): Promise<{ experimentId: string; weights: number; bytes: number }> {
  let state = 12345;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values = CONV4_LAYOUT.map((entry) => Float32Array.from({ length: entry.shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5));
  const prunable = CONV4_LAYOUT.flatMap((entry, i) => (entry.name.endsWith("/kernel") ? [i] : []));
  const keeps = prunable.map((i) => Uint8Array.from(values[i]!, () => (random() < 0.2 ? 1 : 0)));
  prunable.forEach((at, k) => values[at]!.forEach((_, j) => keeps[k]![j] === 0 && (values[at]![j] = 0)));
  const file = encodeWeights(values, CONV4_LAYOUT);
  const stored = await writeArtifact(server.artifactStore, file);
  const layers = prunable.map((at, k) => ({ name: CONV4_LAYOUT[at]!.name.split("/")[0]!, alive: keeps[k]!.reduce((a, b) => a + b, 0), total: keeps[k]!.length }));
  const total = layers.reduce((a, l) => a + l.total, 0);
  const alive = layers.reduce((a, l) => a + l.alive, 0);
  const experimentId = await inTransaction(server.services, async (tx) => {
    const experiment = await createExperiment(tx, { config: { name: "npz-conv4", data: { name: "cifar10" }, model: { name: "conv-4" }, method: { name: "imp" }, pruning: { cycles: 7 } } });
    const counts = { sparsity: 1 - alive / total, aliveWeights: alive, totalWeights: total, layers };
    const mask = packMask(keeps);
    await startCycle(tx, { experimentId: experiment.id, cycleIndex: 7, ...counts, mask, particleSeeds: [] });
    const artifact = await registerArtifact(tx, { experimentId: experiment.id, cycleIndex: 7, kind: "weights", format: WEIGHTS_FORMAT, sizeBytes: stored.sizeBytes, sha256: stored.sha256, location: stored.location });
    await recordCycle(tx, { experimentId: experiment.id, cycleIndex: 7, accuracy: 0.8, loss: 0.6, ...counts, mask, weightsArtifactId: artifact.id });
    return experiment.id;
  });
  return { experimentId, weights: values.reduce((n, v) => n + v.length, 0), bytes: file.length };
}

async function benchNpz(server: RunningServer, token: string): Promise<void> {
  const { experimentId, weights, bytes } = await storeConv4Cycle(server);
  const url = `${server.baseUrl}/export/weights.npz?experiment=${experimentId}&cycle=7`;
  let downloaded = 0;
  const service = await timeRuns(30, 2, async () => {
    const cycle = await loadCycleWeights(server.dataSource.manager, server.artifactStore, experimentId, 7);
    encodeNpz(cycle.tensors.map((t) => float32Tensor(t.name, t.shape, t.values)));
  });
  const http = await timeRuns(30, 2, async () => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`npz export answered ${response.status}: ${await response.text()}`);
    downloaded = (await response.arrayBuffer()).byteLength;
  });
  for (const [layer, r] of [["service (load + dense npz)", service], ["HTTP download (sparse npz with masks)", http]] as const) {
    emit(
      { bench: "npz-export", model: "conv-4", layer, weights, storedBytes: bytes, npzBytes: downloaded, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 300 },
      `npz         Conv-4 cycle, ${(weights / 1e6).toFixed(2)} M weights, ${(downloaded / 2 ** 20).toFixed(1)} MiB npz (${layer})`.padEnd(62) + ` p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (target < 300)`,
    );
  }
}

const PYTHON_TIMING = `
import json, sys, time
from swamp_client import Swamp
url, token, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Swamp(url, token)
frame = client.frontier(owner="grouped", config={"seed": 0})
rows = len(frame)
times = []
for _ in range(runs):
    start = time.perf_counter()
    client.frontier(owner="grouped", config={"seed": 0})
    times.append((time.perf_counter() - start) * 1000)
times.sort()
pick = lambda p: times[min(len(times) - 1, max(0, -(-p * len(times) // 100) - 1))]
try:
    import pandas
    kind = "pandas " + pandas.__version__
except ImportError:
    kind = "list of dicts"
print(json.dumps({"rows": rows, "p50": pick(50), "p99": pick(99), "runs": runs, "kind": kind}))
`;

async function benchPython(server: RunningServer, token: string): Promise<void> {
  const clientPath = resolve(__dirname, "../../clients/python");
  const runs = 30;
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, ["-c", PYTHON_TIMING, server.baseUrl, token, String(runs), String(GROUPED_SETTINGS)], {
      env: { ...process.env, PYTHONPATH: clientPath },
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    emit({ bench: "python-frontier", skipped: (error as Error).message }, `python      skipped: ${(error as Error).message.split("\n")[0]}`);
    return;
  }
  const r = JSON.parse(stdout) as { rows: number; p50: number; p99: number; runs: number; kind: string };
  emit(
    { bench: "python-frontier", experiments: GROUPED_SETTINGS, rows: r.rows, result: r.kind, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 300 },
    `python      Swamp.frontier() over ${GROUPED_SETTINGS} experiments → ${r.rows} rows (${r.kind})`.padEnd(62) + ` p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (target < 300)`,
  );
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
    if (selected("grouped") || selected("python")) await seedGrouped(server);
    if (selected("grouped")) await benchGrouped(server, token);
    if (selected("npz")) await benchNpz(server, token);
    if (selected("python")) await benchPython(server, token);
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
