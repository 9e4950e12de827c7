/**
 * A fleet for one test: the tracking server with its coordinator over a fresh database, NATS in a
 * namespace of its own (on the machine's server, or one the test started), and `swamp worker`
 * child processes. `close()` stops everything and removes the namespace and the database.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configHash, requireExperimentConfig, type ExperimentConfig } from "../../../schema/config.js";
import { fleetNames } from "../../../schema/subjects.js";
import { createScratchDatabase, type ScratchDatabase } from "../../../server/db/scratch-database.js";
import type { CoordinatorOptions } from "../../../server/coordinator/coordinator.js";
import { startFleetServer, type RunningFleetServer } from "../../../server/fleet-server.js";
import { createApiToken } from "../../../server/services/tokens.js";
import { connectToNats } from "../../../transport/nats/connection.js";
import { deleteFleetResources } from "../../../transport/nats/fleet-resources.js";
import { createNatsTransport } from "../../../transport/nats/nats-transport.js";
import type { TaskQueueSettings } from "../../../transport/task-queue.js";
import type { NatsTransport } from "../../../transport/nats/nats-transport.js";
import { SWAMP_BIN, runSwamp, tempDir, writeConfig } from "../../helpers/cli.js";
import { CaptureLogger } from "../../transport/support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "../../transport/support/implementations.js";
import { sleep } from "../../transport/support/waiting.js";
import { TEST_ADMIN_DATABASE_URL, type GraphQLResponse } from "../../server/support/test-server.js";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/** A few seconds of work in all: synthetic data, two particles, one pruning cycle. */
export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "fleet-tiny",
    seed: 3,
    data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
    model: { name: "lenet-300-100" },
    method: { name: "swamp", particles: 2 },
    pruning: { rate: 0.2, cycles: 1 },
    training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
    swa: { lr: 0.02, startFraction: 0.5 },
    ...overrides,
  };
}

/**
 * Particles long enough to be interrupted in the middle: by default 3 epochs of 2,048 examples in
 * batches of 32. Tests that must act while a particle is still training ask for more.
 */
export function slowConfig(name: string, seed: number, length: { examples?: number; epochs?: number } = {}): Record<string, unknown> {
  return tinyConfig({
    name,
    seed,
    data: { name: "synthetic", trainSubset: length.examples ?? 2048, testSubset: 256 },
    training: { epochs: length.epochs ?? 3, rewindEpochs: 1, batchSize: 32, lr: 0.05, bnRecalibrationExamples: 256 },
  });
}

/** Queue settings short enough that a lost delivery is noticed within seconds. */
export const TEST_QUEUE: TaskQueueSettings = { ackWaitMs: 4_000, maxDeliveries: 3, retryDelayMs: 200 };

export interface FleetOptions {
  label: string;
  natsUrl?: string;
  /** NATS credentials of the server side. */
  natsAuth?: { user: string; password: string };
  taskQueue?: Partial<TaskQueueSettings>;
  /** Keep an existing namespace (a restarted server). */
  namespace?: string;
  database?: ScratchDatabase;
  heartbeatTimeoutMs?: number;
  /** How long a route may go without a live worker before its experiments are reported waiting. */
  routeWaitWarningMs?: number;
  /** JetStream copies of the fleet's streams (3 on a 3-node cluster). */
  replicas?: number;
  /** Coordinator settings beyond the test defaults (delivery limit and retry delay of results, ...). */
  coordinator?: Partial<CoordinatorOptions>;
}

export interface Fleet {
  readonly namespace: string;
  readonly natsUrl: string;
  readonly database: ScratchDatabase;
  readonly home: string;
  readonly server: RunningFleetServer;
  readonly transport: NatsTransport;
  readonly logger: CaptureLogger;
  readonly lines: string[];
  readonly adminToken: string;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  wsClient(): Client;
  /** Creates an experiment through GraphQL and returns its id. */
  submit(config: Record<string, unknown>): Promise<string>;
  experiment(id: string): Promise<{ status: string; error: string | null; cyclesCompleted: number; cyclesPlanned: number }>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<string>;
  /** Stops the server and its transport only, keeping NATS and the database (to start another). */
  stopServer(): Promise<void>;
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const natsUrl = options.natsUrl ?? NATS_TEST_URL;
  const namespace = options.namespace ?? uniqueNamespace();
  const database = options.database ?? (await createScratchDatabase(TEST_ADMIN_DATABASE_URL, `fleet_${options.label}`));
  const home = mkdtempSync(join(tmpdir(), "swamp-fleet-"));
  const logger = new CaptureLogger();
  const lines: string[] = [];
  const transport = await createNatsTransport({
    url: natsUrl,
    namespace,
    user: options.natsAuth?.user,
    password: options.natsAuth?.password,
    taskQueue: { ...TEST_QUEUE, ...options.taskQueue },
    pullExpiresMs: 1_000,
    replicas: options.replicas,
    logger,
  });
  let server: RunningFleetServer;
  try {
    server = await startFleetServer({
      transport,
      databaseUrl: database.url,
      port: 0,
      swampHome: home,
      log: (line) => lines.push(line),
      workerHeartbeatTimeoutMs: options.heartbeatTimeoutMs,
      routeWaitWarningMs: options.routeWaitWarningMs,
      coordinator: { resumeSettleMs: 5_000, ...options.coordinator },
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
  const adminToken = server.server.firstAdminToken ?? (await createApiToken(server.server.dataSource.manager, { name: "fleet test", scopes: ["admin"] })).secret;
  const clients: Client[] = [];
  let serverStopped = false;
  const fleet: Fleet = {
    namespace,
    natsUrl,
    database,
    home,
    server,
    transport,
    logger,
    lines,
    adminToken,
    async gql(query, variables = {}) {
      const response = await fetch(server.server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: any };
      return { status: response.status, data: body.data, errors: body.errors };
    },
    wsClient() {
      const client = createClient({ url: server.server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminToken}` }, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    async submit(config) {
      const created = await fleet.gql<{ createExperiment: { id: string } }>(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config });
      if (created.errors) throw new Error(`createExperiment failed: ${JSON.stringify(created.errors)}`);
      return created.data!.createExperiment.id;
    },
    async experiment(id) {
      const rows: Array<{ status: string; error: string | null; cycles_completed: number; cycles_planned: number }> = await server.server.dataSource.query(
        `SELECT status, error, cycles_completed, cycles_planned FROM experiments WHERE id = $1`,
        [id],
      );
      const row = rows[0];
      if (!row) throw new Error(`no experiment ${id}`);
      return { status: row.status, error: row.error, cyclesCompleted: row.cycles_completed, cyclesPlanned: row.cycles_planned };
    },
    async waitForStatus(id, statuses, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { status, error } = await fleet.experiment(id);
        if (statuses.includes(status)) return status;
        if (Date.now() > deadline) throw new Error(`experiment ${id} is ${status}${error ? ` (${error})` : ""}, not ${statuses.join("/")}, after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stopServer() {
      if (serverStopped) return;
      serverStopped = true;
      for (const client of clients.splice(0)) await client.dispose();
      await server.close();
      await transport.close();
    },
    async close(closeOptions = {}) {
      await fleet.stopServer();
      const admin = await connectToNats({ url: natsUrl, user: options.natsAuth?.user, password: options.natsAuth?.password }, logger);
      await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace)).catch(() => undefined);
      await admin.close();
      if (!closeOptions.keepDatabase) await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
  return fleet;
}

export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Ends the process with `signal` (SIGKILL: as a crash would) and waits for it. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startWorkerProcess(fleet: Pick<Fleet, "namespace" | "natsUrl">, id: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [SWAMP_BIN, "worker", "--slots", "1", "--id", id, ...args], {
    env: { ...process.env, NATS_URL: fleet.natsUrl, SWAMP_NATS_NAMESPACE: fleet.namespace, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return {
    id,
    child,
    exited,
    stderr: () => stderr,
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** What `swamp run` computes for a config: each cycle's mask bits and the cycle summaries. */
export interface ReferenceRun {
  masks: Map<number, Buffer>;
  accuracies: number[];
  metricsBySeries: Map<string, number>;
}

const referenceRuns = new Map<string, Promise<ReferenceRun>>();

/** Runs `swamp run --out DIR` once per config (per test process; names and tags aside) and reads its masks. */
export function referenceRun(config: Record<string, unknown>): Promise<ReferenceRun> {
  const key = configHash(requireExperimentConfig(config));
  let run = referenceRuns.get(key);
  if (!run) {
    run = (async () => {
      const out = join(tempDir("reference"), "run");
      const result = await runSwamp(["run", "--config", writeConfig(config), "--out", out, "--json", "--workers", "1"]);
      if (result.code !== 0) throw new Error(`swamp run failed: ${result.stderr}`);
      const masks = new Map<number, Buffer>();
      for (const entry of readdirSync(out)) {
        const match = /^cycle-(\d{3})$/.exec(entry);
        if (match) masks.set(Number(match[1]), readFileSync(join(out, entry, "mask.bin")));
      }
      const accuracies = result.stdout
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => (JSON.parse(line) as { accuracy: number }).accuracy);
      const metricsBySeries = new Map<string, number>();
      for (const line of readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n")) {
        if (line.length === 0) continue;
        const point = JSON.parse(line) as { cycle: number; particle?: number; key: string };
        const series = `${point.cycle}/${point.particle ?? -1}/${point.key}`;
        metricsBySeries.set(series, (metricsBySeries.get(series) ?? 0) + 1);
      }
      rmSync(join(out, ".."), { recursive: true, force: true });
      return { masks, accuracies, metricsBySeries };
    })();
    referenceRuns.set(key, run);
  }
  return run;
}

/** Something that runs SQL: a TypeORM DataSource, or `sqlOf(pgClient)`. */
export interface Sql {
  query(sql: string, params: unknown[]): Promise<any[]>;
}

export function sqlOf(client: { query(sql: string, params: unknown[]): Promise<{ rows: any[] }> }): Sql {
  return { query: async (sql, params) => (await client.query(sql, params)).rows };
}

/** The masks the fleet stored per cycle, by cycle index. */
export async function storedMasks(db: Sql, experimentId: string): Promise<Map<number, Buffer>> {
  const rows: Array<{ cycle_index: number; mask: Buffer | null }> = await db.query(
    `SELECT cycle_index, mask FROM cycles WHERE experiment_id = $1 ORDER BY cycle_index`,
    [experimentId],
  );
  return new Map(rows.map((row) => [row.cycle_index, row.mask ?? Buffer.alloc(0)]));
}

export async function storedAccuracies(db: Sql, experimentId: string): Promise<number[]> {
  const rows: Array<{ accuracy: number }> = await db.query(
    `SELECT accuracy FROM cycles WHERE experiment_id = $1 AND status = 'completed' ORDER BY cycle_index`,
    [experimentId],
  );
  return rows.map((row) => row.accuracy);
}

/** Points stored per series, keyed `cycle/particle/key` (particle -1: the cycle's averaged model). */
export async function storedMetricCounts(db: Sql, experimentId: string): Promise<Map<string, number>> {
  const rows: Array<{ cycle_index: number; particle_index: number; key: string; n: number; distinct_steps: number; point_count: number }> =
    await db.query(
      `SELECT s.cycle_index, s.particle_index, s.key, s.point_count, count(p.step)::int AS n, count(DISTINCT p.step)::int AS distinct_steps
         FROM metric_series s LEFT JOIN metric_points p ON p.series_id = s.id
        WHERE s.experiment_id = $1 GROUP BY s.id`,
      [experimentId],
    );
  for (const row of rows) {
    if (row.n !== row.distinct_steps || row.n !== row.point_count) throw new Error(`series ${row.key} of ${experimentId} holds a duplicate point`);
  }
  return new Map(rows.map((row) => [`${row.cycle_index}/${row.particle_index}/${row.key}`, row.n]));
}

export function parsedConfig(config: Record<string, unknown>): ExperimentConfig {
  return requireExperimentConfig(config);
}
