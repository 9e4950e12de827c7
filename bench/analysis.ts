/**
 * Analysis benchmarks (issue 14): `npm run bench:analysis` (`node dist/bench/analysis.js [--json]
 * [--groups N] [--seeds S] [--runs R]`).
 *   grouped    groupedFrontier over GROUPS × SEEDS experiments × 26 cycles (default 1,000 × 3):
 *              default grouping (every config path but seed/name/tags) and groupBy ["training.lr"],
 *              in the service and over GraphQL/HTTP (p50/p99; target p99 < 150 ms in the service)
 *   npz        /export/weights.npz of one Conv-4 cycle (CIFAR-10 shapes, 2.4 M weights, 80 % pruned):
 *              loading + encoding in the service, and the HTTP download (p50/p99; target < 300 ms)
 *   python     the Python client's `Swamp(url, token).frontier(tags=[…])` over 1,000 of those
 *              experiments, round trip from Python (/usr/bin/python3, clients/python on PYTHONPATH,
 *              pandas if installed) against this live server (p50/p99; target < 300 ms)
 * Runs against a scratch database on SWAMP_BENCH_DATABASE_URL's cluster (default the local
 * PostgreSQL), seeded in bulk with SQL (experiments, their cycles and stored frontiers; no particle
 * rows, which the grouped frontier does not read), dropped at the end. Benchmarks print figures;
 * nothing here asserts a time.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import { requireExperimentConfig } from "../schema/config.js";
import { packMask } from "../schema/mask-bits.js";
import { encodeWeights, type WeightsHeaderEntry } from "../schema/weights-file.js";
import { FilesystemArtifactStore } from "../server/artifacts/filesystem-artifact-store.js";
import { WEIGHTS_FORMAT } from "../server/coordinator/record-result.js";
import { createScratchDatabase, type ScratchDatabase } from "../server/db/scratch-database.js";
import { loadCycleWeights } from "../server/exports/cycle-weights.js";
import { float32Tensor } from "../server/exports/named-tensor.js";
import { encodeNpz } from "../server/exports/npz-file.js";
import { registerArtifact } from "../server/services/artifacts.js";
import { recordCycle, startCycle } from "../server/services/cycles.js";
import { createExperiment } from "../server/services/experiments.js";
import { groupedFrontier } from "../server/services/grouped-frontier.js";
import { inTransaction } from "../server/services/transaction.js";
import { startServer, type RunningServer } from "../server/start-server.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    groups: { type: "string", default: "1000" },
    seeds: { type: "string", default: "3" },
    runs: { type: "string", default: "50" },
  },
});
const GROUPS = Number(args.groups);
const SEEDS = Number(args.seeds);
const RUNS = Number(args.runs);
const EXPERIMENTS = GROUPS * SEEDS;
const CYCLES = 26;
const PYTHON_EXPERIMENTS = Math.min(1000, EXPERIMENTS);
const PYTHON = process.env.SWAMP_TEST_PYTHON ?? "/usr/bin/python3";

function emit(record: Record<string, unknown>, line: string): void {
  process.stdout.write(args.json ? `${JSON.stringify(record)}\n` : `${line}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timeRuns(runs: number, warmup: number, work: () => Promise<unknown>): Promise<{ p50: number; p99: number; runs: number }> {
  for (let i = 0; i < warmup; i++) await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), runs };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const figures = (r: { p50: number; p99: number }) => `p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms`;

async function graphql(server: RunningServer, token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/**
 * GROUPS configs differing in training.lr, each run with SEEDS seeds; every experiment completed
 * with 26 cycles (4 particle accuracies each) and its stored frontier. Experiment i (group ⌊i/S⌋,
 * seed i mod S) is tagged `python` when i < 1,000: the Python benchmark's selection.
 */
async function seed(server: RunningServer): Promise<number> {
  const start = performance.now();
  const config = requireExperimentConfig({ name: "bench", data: { name: "cifar10" }, model: { name: "conv-4" }, method: { name: "swamp", particles: 4 }, pruning: { cycles: CYCLES - 1 } });
  const runner = server.dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SET session_replication_role = replica`);
    await runner.query(
      `INSERT INTO experiments (name, config, config_hash, method, model, dataset, tags, status, owner, cycles_planned, cycles_completed, particles_per_cycle, final_sparsity, best_accuracy, created_at, updated_at, started_at, finished_at)
       SELECT 'grouped-' || lpad(i::text, 6, '0'),
              jsonb_set(jsonb_set(jsonb_set($1::jsonb, '{name}', to_jsonb('grouped-' || i)), '{seed}', to_jsonb(i % $5)), '{training,lr}', to_jsonb(round(0.0001 * (1 + i / $5::int), 4))),
              encode(sha256(convert_to('grouped' || i, 'UTF8')), 'hex'),
              'swamp', 'conv-4', 'cifar10',
              CASE WHEN i < $6 THEN ARRAY['bench', 'python'] ELSE ARRAY['bench'] END,
              'completed', 'bench', $2, $2, $3,
              1 - 0.8 ^ ($2 - 1),
              0.80 + ((i * 7919) % 1000) / 10000.0,
              timestamptz '2026-01-01' + i * interval '17 seconds', timestamptz '2026-01-01' + i * interval '17 seconds',
              timestamptz '2026-01-01' + i * interval '17 seconds', timestamptz '2026-01-02' + i * interval '17 seconds'
         FROM generate_series(0, $4 - 1) AS i`,
      [JSON.stringify(config), CYCLES, 4, EXPERIMENTS, SEEDS, PYTHON_EXPERIMENTS],
    );
    await runner.query(
      `INSERT INTO cycles (experiment_id, cycle_index, status, sparsity, alive_weights, total_weights, layers, accuracy, loss, particle_accuracies, timings, started_at, completed_at)
       SELECT e.id, c, 'completed', 1 - 0.8 ^ c, round(2400000 * 0.8 ^ c)::int, 2400000, '[]'::jsonb,
              e.best_accuracy - abs(c - 12) * 0.002, 0.5 + c * 0.01,
              ARRAY[e.best_accuracy - abs(c - 12) * 0.002 - 0.011, e.best_accuracy - abs(c - 12) * 0.002 - 0.007, e.best_accuracy - abs(c - 12) * 0.002 - 0.009, e.best_accuracy - abs(c - 12) * 0.002 - 0.012],
              '{"train": 61000, "aggregate": 2400}'::jsonb, e.created_at + c * interval '1 minute', e.created_at + (c + 1) * interval '1 minute'
         FROM experiments e CROSS JOIN generate_series(0, $1 - 1) AS c WHERE e.owner = 'bench'`,
      [CYCLES],
    );
    await runner.query(
      `INSERT INTO experiment_frontiers (experiment_id, plot)
       SELECT experiment_id, json_build_object(
                'cycle', json_agg(cycle_index ORDER BY cycle_index), 'sparsity', json_agg(sparsity ORDER BY cycle_index),
                'accuracy', json_agg(accuracy ORDER BY cycle_index), 'loss', json_agg(loss ORDER BY cycle_index),
                'particleAccuracies', json_agg(particle_accuracies ORDER BY cycle_index))
         FROM cycles c JOIN experiments e ON e.id = c.experiment_id AND e.owner = 'bench' GROUP BY experiment_id`,
    );
    await runner.query(`SET session_replication_role = DEFAULT`);
    await runner.query(`ANALYZE`);
  } finally {
    await runner.release();
  }
  return (performance.now() - start) / 1000;
}

const GROUPED = `query($groupBy: [String!], $filter: ExperimentFilter) {
  groupedFrontier(groupBy: $groupBy, filter: $filter, limit: 5000) { key experimentIds points { cycle sparsity n accuracyMean accuracyStd accuracyMin accuracyMax bestParticleMean bestParticleStd lossMean } }
}`;

async function benchGrouped(server: RunningServer, token: string): Promise<void> {
  const manager = server.dataSource.manager;
  const filter = { tags: ["bench"] };
  for (const groupBy of [null, ["training.lr"]]) {
    const groups = await groupedFrontier(manager, { groupBy, filter, limit: 5000 });
    const points = groups.reduce((n, g) => n + g.points.length, 0);
    if (groups.length !== GROUPS || groups.some((g) => g.experimentIds.length !== SEEDS)) throw new Error(`expected ${GROUPS} groups of ${SEEDS}, got ${groups.length}`);
    const label = groupBy ? `groupBy ${JSON.stringify(groupBy)}` : "default grouping";
    const service = await timeRuns(RUNS, 3, () => groupedFrontier(manager, { groupBy, filter, limit: 5000 }));
    const http = await timeRuns(Math.max(5, Math.round(RUNS / 5)), 2, () => graphql(server, token, GROUPED, { groupBy, filter }));
    for (const [layer, r] of [["service", service], ["GraphQL/HTTP", http]] as const) {
      emit(
        { bench: "grouped-frontier", grouping: label, layer, experiments: EXPERIMENTS, groups: GROUPS, cycles: CYCLES, points, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetP99Ms: 150 },
        `grouped     ${EXPERIMENTS} exp. = ${GROUPS} groups × ${SEEDS} seeds × ${CYCLES} cycles, ${label} (${layer})`.padEnd(96) + ` ${figures(r)}  (${r.runs} runs; target p99 < 150 in the service)`,
      );
    }
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
async function storeConv4Cycle(server: RunningServer, store: FilesystemArtifactStore): Promise<{ experimentId: string; weights: number; bytes: number }> {
  let state = 12345;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values = CONV4_LAYOUT.map((entry) => Float32Array.from({ length: entry.shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5));
  const prunable = CONV4_LAYOUT.flatMap((entry, i) => (entry.name.endsWith("/kernel") ? [i] : []));
  const keeps = prunable.map((i) => Uint8Array.from(values[i]!, () => (random() < 0.2 ? 1 : 0)));
  prunable.forEach((at, k) => values[at]!.forEach((_, j) => keeps[k]![j] === 0 && (values[at]![j] = 0)));
  const file = encodeWeights(values, CONV4_LAYOUT);
  const stored = await store.write(file);
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

async function benchNpz(server: RunningServer, token: string, store: FilesystemArtifactStore): Promise<void> {
  const { experimentId, weights, bytes } = await storeConv4Cycle(server, store);
  const url = `${server.baseUrl}/export/weights.npz?experiment=${experimentId}&cycle=7`;
  let downloaded = 0;
  const service = await timeRuns(Math.max(5, Math.round(RUNS / 2)), 2, async () => {
    const cycle = await loadCycleWeights(server.dataSource.manager, store, experimentId, 7);
    return encodeNpz(cycle.tensors.map((t) => float32Tensor(t.name, t.shape, t.values)));
  });
  const http = await timeRuns(Math.max(5, Math.round(RUNS / 2)), 2, async () => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`npz export answered ${response.status}: ${await response.text()}`);
    downloaded = (await response.arrayBuffer()).byteLength;
  });
  for (const [layer, r] of [["service (load + dense npz)", service], ["HTTP download (sparse npz with masks)", http]] as const) {
    emit(
      { bench: "npz-export", model: "conv-4", layer, weights, storedBytes: bytes, npzBytes: downloaded, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 300 },
      `npz         Conv-4 cycle, ${(weights / 1e6).toFixed(2)} M weights, ${(downloaded / 2 ** 20).toFixed(1)} MiB npz (${layer})`.padEnd(96) + ` ${figures(r)}  (${r.runs} runs; target < 300)`,
    );
  }
}

const PYTHON_TIMING = `
import json, sys, time
from swamp_client import Swamp
url, token, runs, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = Swamp(url, token)
frame = client.frontier(tags=["python"])
rows = len(frame)
times = []
for _ in range(runs):
    start = time.perf_counter()
    client.frontier(tags=["python"])
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
  const runs = Math.max(5, Math.round(RUNS / 2));
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, ["-c", PYTHON_TIMING, server.baseUrl, token, String(runs), String(PYTHON_EXPERIMENTS)], {
      env: { ...process.env, PYTHONPATH: clientPath },
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    emit({ bench: "python-frontier", skipped: (error as Error).message }, `python      skipped: ${(error as Error).message.split("\n")[0]}`);
    return;
  }
  const r = JSON.parse(stdout) as { rows: number; p50: number; p99: number; runs: number; kind: string };
  emit(
    { bench: "python-frontier", experiments: PYTHON_EXPERIMENTS, rows: r.rows, result: r.kind, p50Ms: round(r.p50), p99Ms: round(r.p99), runs: r.runs, targetMs: 300 },
    `python      Swamp.frontier() over ${PYTHON_EXPERIMENTS} experiments → ${r.rows} rows (${r.kind})`.padEnd(96) + ` ${figures(r)}  (${r.runs} runs; target < 300)`,
  );
}

async function main(): Promise<void> {
  const adminUrl = process.env.SWAMP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const home = mkdtempSync(join(tmpdir(), "swamp-bench-analysis-"));
  const store = new FilesystemArtifactStore(join(home, "artifacts"));
  let database: ScratchDatabase | null = null;
  let server: RunningServer | null = null;
  try {
    database = await createScratchDatabase(adminUrl, "bench-analysis");
    server = await startServer({ databaseUrl: database.url, port: 0, swampHome: home, artifactStore: store, log: () => undefined });
    const token = server.firstAdminToken!;
    const seconds = await seed(server);
    emit({ bench: "seed", experiments: EXPERIMENTS, groups: GROUPS, seeds: SEEDS, cycles: EXPERIMENTS * CYCLES, seconds: round(seconds) }, `seed        ${EXPERIMENTS.toLocaleString("en")} experiments (${GROUPS} groups × ${SEEDS} seeds) × ${CYCLES} cycles in ${seconds.toFixed(1)} s`);
    await benchGrouped(server, token);
    await benchNpz(server, token, store);
    await benchPython(server, token);
  } finally {
    await server?.close();
    await database?.drop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
