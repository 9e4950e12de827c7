/**
 * Fleet benchmarks: `node dist/bench/fleet.js [--json]` (npm run bench:fleet). Needs PostgreSQL
 * (SWAMP_TEST_DATABASE_URL, default 127.0.0.1:5432) and NATS with JetStream (NATS_URL, default
 * 127.0.0.1:4222); works in a scratch database and a NATS namespace of its own, removed at the end.
 *   scheduling  the coordinator's time per result, from its recording to its follow-up tasks being
 *               queued, and from a task's publish to a worker starting it, with a stand-in worker
 *               that answers every task at once (so only the coordinator and NATS are measured)
 *   throughput  particles per second of one and of two `swamp worker` processes (one slot each)
 *               on a many-particle experiment, and their ratio
 *   metrics     latency from a worker-side publish of a metric batch to a GraphQL subscription
 *               client, while two workers train
 * Figures are medians (and p95/p99) over one run; with --json each section is one JSON line.
 * `--sections scheduling` or `--sections workers` runs one part; `--experiments N` and `--particles N`
 * size them; `--verbose` prints each particle's finish time and training time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { TaskMessage, TaskResultInput } from "../schema/fleet-messages.js";
import { fleetNames } from "../schema/subjects.js";
import { createScratchDatabase } from "../server/db/scratch-database.js";
import { startFleetServer, type RunningFleetServer } from "../server/fleet-server.js";
import { createExperiment } from "../server/services/experiments.js";
import { inTransaction } from "../server/services/transaction.js";
import { silentTransportLogger } from "../transport/logger.js";
import { connectToNats } from "../transport/nats/connection.js";
import { deleteFleetResources } from "../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../transport/nats/nats-transport.js";
import type { NatsTransport } from "../transport/nats/nats-transport.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    experiments: { type: "string", default: "20" },
    particles: { type: "string", default: "8" },
    /** Comma-separated: scheduling, workers (throughput and metric latency). */
    sections: { type: "string", default: "scheduling,workers" },
    /** Also print when each particle finished and how long it trained (stderr). */
    verbose: { type: "boolean", default: false },
  },
});

const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
const ADMIN_DATABASE_URL = process.env.SWAMP_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SWAMP_BIN = resolve(__dirname, "../../bin/swamp.js");

function emit(record: Record<string, unknown>, lines: string[]): void {
  process.stdout.write(args.json ? `${JSON.stringify(record)}\n` : `${lines.join("\n")}\n`);
}

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const sleep = (millis: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, millis));

async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

interface Bench {
  fleet: RunningFleetServer;
  transport: NatsTransport;
  namespace: string;
  token: string;
  submit(config: Record<string, unknown>): Promise<string>;
  waitForEnd(ids: readonly string[], timeoutMs: number): Promise<void>;
}

async function submit(fleet: RunningFleetServer, config: Record<string, unknown>): Promise<string> {
  const row = await inTransaction(fleet.server.services, (tx) => createExperiment(tx, { config, owner: "bench" }));
  await fleet.coordinator.schedule(row.id);
  return row.id;
}

async function waitForEnd(fleet: RunningFleetServer, ids: readonly string[], timeoutMs: number): Promise<void> {
  await waitUntil(`${ids.length} experiment(s) to finish`, async () => {
    const rows: Array<{ status: string; error: string | null }> = await fleet.server.dataSource.query(`SELECT status, error FROM experiments WHERE id = ANY($1::uuid[])`, [ids]);
    const failed = rows.find((row) => row.status === "failed" || row.status === "cancelled");
    if (failed) throw new Error(`a benchmark experiment ended ${failed.status}: ${failed.error}`);
    return rows.every((row) => row.status === "completed");
  }, timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Scheduling overhead, with a stand-in worker that answers each task at once

/** A result for the task, as a worker would publish it, with tiny artifacts of its own. */
async function standInResult(transport: NatsTransport, task: TaskMessage, attempt: number): Promise<TaskResultInput> {
  const common = { taskId: task.taskId, experimentId: task.experimentId, workerId: "bench-stand-in", attempt, finishedAt: Date.now(), outcome: "succeeded" as const };
  const weights = await transport.artifacts.put(randomBytes(256), { format: "swamp-weights" });
  const total = 64;
  switch (task.kind) {
    case "pretrain":
      return { ...common, kind: "pretrain", outputs: { weights }, numbers: { seconds: 0 } };
    case "train-particle":
      return {
        ...common,
        kind: "train-particle",
        cycle: task.cycle,
        particle: task.particle,
        outputs: { weights },
        numbers: { orderSeed: task.particle, accuracy: 0.5, loss: 1, epochLosses: [1], swaSnapshots: 0, seconds: 0, examplesPerSecond: 0 },
      };
    case "analyze":
      throw new Error("the scheduling benchmark queues no analyses");
    case "aggregate-cycle": {
      const alive = Math.round(total * 0.8 ** task.cycle);
      const nextAlive = Math.round(alive * 0.8);
      const bits = new Uint8Array(total / 8);
      for (let i = 0; i < nextAlive; i++) bits[i >> 3]! |= 1 << (i & 7);
      const nextMask = task.final ? null : await transport.artifacts.put(bits, { format: "swamp-mask" });
      return {
        ...common,
        kind: "aggregate-cycle",
        cycle: task.cycle,
        outputs: { weights, nextMask },
        numbers: { accuracy: 0.5, loss: 1, sparsity: (total - alive) / total, alive, total, layers: [{ layer: "fc", alive, total }], seconds: 0 },
      };
    }
  }
}

async function benchScheduling(bench: Bench, experiments: number): Promise<void> {
  const standIn = await createNatsTransport({ url: NATS_URL, namespace: bench.namespace, logger: silentTransportLogger, pullExpiresMs: 1_000 });
  const startedAt = new Map<string, number>();
  const consumer = standIn.tasks.consume(
    async (delivery) => {
      startedAt.set(delivery.task.taskId, Date.now());
      await standIn.results.publish(await standInResult(standIn, delivery.task, delivery.deliveryCount));
    },
    // More slots than a cycle has particles: a task never waits for a slot, only for NATS.
    { concurrency: 8 },
  );
  const stats = bench.fleet.coordinator.stats;
  const before = { scheduling: stats.schedulingMs.length, arrival: stats.resultToQueuedMs.length, recording: stats.recordingMs.length };
  const config = {
    name: "bench-scheduling",
    data: { name: "synthetic" },
    model: { name: "lenet-300-100" },
    method: { name: "swamp", particles: 4 },
    pruning: { cycles: 3 },
  };
  const wall = performance.now();
  const ids: string[] = [];
  // One experiment at a time: each task's overhead is measured alone, not behind other experiments'.
  for (let i = 0; i < experiments; i++) {
    ids.push(await bench.submit({ ...config, name: `bench-scheduling-${i}`, seed: i }));
    await bench.waitForEnd(ids.slice(-1), 120_000);
  }
  const seconds = (performance.now() - wall) / 1000;
  await consumer.stop();
  await standIn.close();

  const tasks = ids.length * (1 + 4 * 4 + 4);
  const scheduling = stats.schedulingMs.slice(before.scheduling);
  const arrival = stats.resultToQueuedMs.slice(before.arrival);
  const recording = stats.recordingMs.slice(before.recording);
  const startDelays = [...startedAt].flatMap(([taskId, started]) => {
    const queued = stats.queuedAt.get(taskId);
    return queued === undefined ? [] : [started - queued];
  });
  const record = {
    section: "scheduling",
    experiments: ids.length,
    tasks,
    recordedToQueuedMs: { median: quantile(scheduling, 0.5), p95: quantile(scheduling, 0.95), samples: scheduling.length },
    arrivalToQueuedMs: { median: quantile(arrival, 0.5), p95: quantile(arrival, 0.95), samples: arrival.length },
    recordingMs: { median: quantile(recording, 0.5), p95: quantile(recording, 0.95), samples: recording.length },
    publishToStartMs: { median: quantile(startDelays, 0.5), p95: quantile(startDelays, 0.95), p99: quantile(startDelays, 0.99), samples: startDelays.length },
    tasksPerSecond: tasks / seconds,
    targetMs: 20,
  };
  emit(record, [
    `scheduling (stand-in worker answering at once; ${ids.length} experiments one after the other × 21 tasks = ${tasks} tasks in ${seconds.toFixed(1)} s, ${record.tasksPerSecond.toFixed(0)} tasks/s):`,
    `  result recorded → follow-up tasks queued   median ${ms(record.recordedToQueuedMs.median)}, p95 ${ms(record.recordedToQueuedMs.p95)} (${scheduling.length} results with follow-ups; target < 20 ms)`,
    `  result arrives → follow-up tasks queued    median ${ms(record.arrivalToQueuedMs.median)}, p95 ${ms(record.arrivalToQueuedMs.p95)} (recording included)`,
    `  recording one result (one transaction)     median ${ms(record.recordingMs.median)}, p95 ${ms(record.recordingMs.p95)} (${recording.length} results)`,
    `  task published → a worker starts it        median ${ms(record.publishToStartMs.median)}, p95 ${ms(record.publishToStartMs.p95)}, p99 ${ms(record.publishToStartMs.p99)} (${startDelays.length} tasks)`,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Throughput of worker processes, and metric latency while they train

function startWorker(namespace: string, id: string): { child: ChildProcess; ready: Promise<void>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [SWAMP_BIN, "worker", "--slots", "1", "--id", id], {
    env: { ...process.env, NATS_URL, SWAMP_NATS_NAMESPACE: namespace },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<void>((resolveExit) => child.once("close", () => resolveExit()));
  const ready = new Promise<void>((resolveReady, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/ready with/.test(stderr)) resolveReady();
    });
    void exited.then(() => reject(new Error(`worker ${id} exited: ${stderr}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Epochs per particle in the throughput runs: with the native kernels LeNet trains 8192 examples in
 * about 0.1 s, so at 2 epochs the fixed costs of a task (its thread, artifacts, evaluation, the
 * coordinator's turn) made most of the measured time and hid the workers' parallelism.
 */
const THROUGHPUT_EPOCHS = 12;

function throughputConfig(particles: number, name: string): Record<string, unknown> {
  return {
    name,
    seed: 1,
    data: { name: "synthetic", trainSubset: 8192, testSubset: 256 },
    model: { name: "lenet-300-100" },
    method: { name: "swamp", particles },
    pruning: { cycles: 0 },
    // Batches of 128 as the default protocols train: small batches scale worse across this machine's cores.
    training: { epochs: THROUGHPUT_EPOCHS, rewindEpochs: 1, batchSize: 128, lr: 0.05, bnRecalibrationExamples: 256 },
    swa: { lr: 0.02, startFraction: 0.5 },
  };
}

interface ParticlePhase {
  particles: number;
  seconds: number;
  perSecond: number;
}

/** Particles per second from the first particle task being queued to the last particle finishing. */
async function particlePhase(bench: Bench, experimentId: string, particles: number): Promise<ParticlePhase> {
  const queued = bench.fleet.coordinator.stats.queuedAt.get(`${experimentId}:train-particle:0:0`);
  if (queued === undefined) throw new Error("the particle tasks' publish time was not recorded");
  const rows: Array<{ last: Date }> = await bench.fleet.server.dataSource.query(
    `SELECT max(finished_at) AS last FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle'`,
    [experimentId],
  );
  const seconds = (rows[0]!.last.getTime() - queued) / 1000;
  return { particles, seconds, perSecond: particles / seconds };
}

interface LatencyProbe {
  latencies: number[];
  stop(): Promise<void>;
}

/** Publishes a metric batch every 50 ms as a worker would, and times its arrival at a GraphQL subscription. */
async function probeMetricLatency(bench: Bench, experimentId: string): Promise<LatencyProbe> {
  const latencies: number[] = [];
  const client = createClient({ url: bench.fleet.server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${bench.token}` }, retryAttempts: 0 });
  let historyArrived: () => void = () => {};
  const history = new Promise<void>((resolveHistory) => (historyArrived = resolveHistory));
  const unsubscribe = client.subscribe<{ metrics: { history: boolean; points: Array<{ value: number }> } }>(
    { query: `subscription($id: ID!) { metrics(experimentId: $id, keys: ["bench/latency"]) { history points { value } } }`, variables: { id: experimentId } },
    {
      next: (message) => {
        const arrived = Date.now();
        const batch = message.data?.metrics;
        if (!batch) return;
        if (batch.history) return historyArrived();
        for (const point of batch.points) latencies.push(arrived - point.value);
      },
      error: (error) => process.stderr.write(`latency subscription failed: ${JSON.stringify(error)}\n`),
      complete: () => undefined,
    },
  );
  await history;
  const prober = await createNatsTransport({ url: NATS_URL, namespace: bench.namespace, logger: silentTransportLogger });
  let sequence = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    void prober.metrics.publish({
      experimentId,
      taskId: `${experimentId}:aggregate-cycle:0`,
      workerId: "bench-prober",
      attempt: 1,
      cycle: 0,
      sequence,
      points: [{ cycle: 0, key: "bench/latency", step: sequence++, epoch: 0, value: now, time: now }],
    });
  }, 50);
  return {
    latencies,
    async stop() {
      clearInterval(timer);
      await sleep(300);
      unsubscribe();
      await client.dispose();
      await prober.close();
    },
  };
}

/** Wall seconds of `swamp run` processes of the config started together. */
async function swampRunSeconds(config: Record<string, unknown>, processes: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "swamp-bench-run-"));
  try {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(config));
    const started = performance.now();
    await Promise.all(
      Array.from({ length: processes }, (_, i) =>
        new Promise<void>((resolveRun, reject) => {
          const child = spawn(process.execPath, [SWAMP_BIN, "run", "--config", file, "--out", join(dir, `run-${i}`), "--json", "--workers", "1"], { stdio: ["ignore", "ignore", "pipe"] });
          let stderr = "";
          child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          child.once("close", (code) => (code === 0 ? resolveRun() : reject(new Error(`swamp run failed: ${stderr}`))));
        }),
      ),
    );
    return (performance.now() - started) / 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchWorkers(bench: Bench, particles: number): Promise<void> {
  // What this machine gives two processes right now (other work shares the cores): the same
  // experiment by `swamp run` in one process, then in two at once. The fleet cannot beat this ratio.
  const alone = await swampRunSeconds(throughputConfig(particles, "bench-machine"), 1);
  const together = await swampRunSeconds(throughputConfig(particles, "bench-machine"), 2);
  const machineRatio = (2 * alone) / together;

  const phases: ParticlePhase[] = [];
  let latencies: number[] = [];
  for (const count of [1, 2]) {
    const workers = Array.from({ length: count }, (_, i) => startWorker(bench.namespace, `bench-worker-${count}-${i + 1}`));
    try {
      await Promise.all(workers.map((worker) => worker.ready));
      // The first run warms the workers (task threads, data, model), as a long-lived fleet is warm.
      // With two workers, metric latency is probed while it trains (not during the timed run, whose
      // throughput the probe's own traffic would lower).
      const warm = await bench.submit(throughputConfig(particles, `bench-warm-${count}`));
      const probe = count === 2 ? await probeMetricLatency(bench, warm) : undefined;
      await bench.waitForEnd([warm], 300_000);
      await probe?.stop();
      if (probe) latencies = probe.latencies;
      const id = await bench.submit(throughputConfig(particles, `bench-throughput-${count}`));
      await bench.waitForEnd([id], 300_000);
      phases.push(await particlePhase(bench, id, particles));
      if (args.verbose) {
        const rows = await bench.fleet.server.dataSource.query(
          `SELECT worker_id, finished_at, numbers->>'seconds' AS seconds FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle' ORDER BY finished_at`,
          [id],
        );
        const queued = bench.fleet.coordinator.stats.queuedAt.get(`${id}:train-particle:0:0`)!;
        for (const row of rows) process.stderr.write(`${row.worker_id} finished +${row.finished_at.getTime() - queued} ms, trained ${(Number(row.seconds) * 1000).toFixed(0)} ms\n`);
      }
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  }
  const [one, two] = phases as [ParticlePhase, ParticlePhase];
  const ratio = two.perSecond / one.perSecond;
  emit(
    { section: "throughput", particles, oneWorker: one, twoWorkers: two, ratio, target: 1.8, machine: { oneProcessSeconds: alone, twoProcessesSeconds: together, ratio: machineRatio } },
    [
      `throughput (${particles} particles of lenet-300-100, 8192 examples × ${THROUGHPUT_EPOCHS} epochs, batch 128; swamp worker processes with one slot each):`,
      `  1 worker   ${one.perSecond.toFixed(3)} particles/s (${one.seconds.toFixed(1)} s)`,
      `  2 workers  ${two.perSecond.toFixed(3)} particles/s (${two.seconds.toFixed(1)} s)`,
      `  ratio      ${ratio.toFixed(2)} (target ≥ 1.8 on 2 cores)`,
      `  the machine now: two swamp run processes of the experiment at once do ${machineRatio.toFixed(2)}× the work of one (${alone.toFixed(1)} s alone, ${together.toFixed(1)} s together); the fleet ratio cannot exceed it`,
    ],
  );
  emit(
    { section: "metric-latency", samples: latencies.length, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: quantile(latencies, 1), targetP99Ms: 100 },
    [
      `metric latency (worker-side publish → GraphQL subscription client, while 2 workers train; ${latencies.length} points):`,
      `  p50 ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))}, max ${ms(quantile(latencies, 1))} (target p99 < 100 ms)`,
    ],
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const experiments = Number(args.experiments);
  const particles = Number(args.particles);
  if (!Number.isInteger(experiments) || experiments < 1) throw new Error(`--experiments must be a whole number ≥ 1, got "${args.experiments}"`);
  if (!Number.isInteger(particles) || particles < 2) throw new Error(`--particles must be a whole number ≥ 2, got "${args.particles}"`);
  const namespace = `bench${Date.now().toString(36)}`;
  const database = await createScratchDatabase(ADMIN_DATABASE_URL, "bench_fleet");
  const home = mkdtempSync(join(tmpdir(), "swamp-bench-fleet-"));
  let transport: NatsTransport | undefined;
  let fleet: RunningFleetServer | undefined;
  try {
    transport = await createNatsTransport({ url: NATS_URL, namespace, logger: silentTransportLogger, pullExpiresMs: 1_000 });
    fleet = await startFleetServer({ transport, databaseUrl: database.url, port: 0, swampHome: home, log: () => undefined, coordinator: { resumeSettleMs: 0 } });
    const running = fleet;
    const bench: Bench = {
      fleet: running,
      transport,
      namespace,
      token: running.server.firstAdminToken!,
      submit: (config) => submit(running, config),
      waitForEnd: (ids, timeoutMs) => waitForEnd(running, ids, timeoutMs),
    };
    const sections = new Set(args.sections.split(","));
    if (sections.has("scheduling")) await benchScheduling(bench, experiments);
    if (sections.has("workers")) await benchWorkers(bench, particles);
  } finally {
    await fleet?.close();
    await transport?.close();
    const admin = await connectToNats({ url: NATS_URL }, silentTransportLogger);
    await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace)).catch(() => undefined);
    await admin.close();
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench fleet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
