/**
 * `swamp up` (`npm start`): everything on one machine with one command. The tracking server with
 * its coordinator, PostgreSQL (embedded in SWAMP_HOME unless DATABASE_URL), the task transport
 * (in this process unless NATS_URL) and a local worker pool; on a database without experiments it
 * submits the default Fashion-MNIST SWAMP and IMP experiments, then shows progress until Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { countExperiments } from "../../server/services/experiment-list.js";
import { createExperiment } from "../../server/services/experiments.js";
import { authenticate } from "../../server/services/tokens.js";
import { inTransaction } from "../../server/services/transaction.js";
import { experimentProgress, type ExperimentProgress } from "../../server/coordinator/progress.js";
import { startFleetServer, type RunningFleetServer } from "../../server/fleet-server.js";
import { serverStartOptions, serveSettingsFromEnv } from "../../server/serve.js";
import { redactNatsUrl } from "../../transport/nats/connection.js";
import { createTransport, transportOptionsFromEnv, type Transport } from "../../transport/index.js";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from "../../schema/file-modes.js";
import { swampHomeLayout } from "../../schema/swamp-home.js";
import { readConfigFile } from "../config-file.js";
import { warnAboutOlderCoreType } from "../../worker/engine/core-type-warning.js";
import { environmentWithServerFlags, SERVER_FLAG_OPTIONS } from "../server-flags.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp up [--port N] [--host ADDR] [--home DIR] [--workers N] [--no-defaults] [--public-reads]

Starts the tracking server with its coordinator, a local worker pool, and what they need:
PostgreSQL embedded in SWAMP_HOME (unless DATABASE_URL) and an in-process task queue (unless
NATS_URL). On a database without experiments it submits the default Fashion-MNIST experiments
(configs/fmnist-lenet-swamp-fast.json and configs/fmnist-lenet-imp-fast.json). Ctrl-C stops.

  --workers N     task slots of the local worker pool (default: one per core; 0: none)
  --no-defaults   do not submit the default experiments
  --port, --host, --home, --public-reads   as PORT, HOST, SWAMP_HOME, SWAMP_PUBLIC_READS

environment: PORT, HOST, DATABASE_URL, SWAMP_HOME, SWAMP_ADMIN_TOKEN, SWAMP_PUBLIC_READS, SWAMP_DATA_ROOTS,
NATS_URL with NATS_USER/NATS_PASSWORD or NATS_TOKEN, SWAMP_NATS_NAMESPACE`;

export const DEFAULT_EXPERIMENT_CONFIGS = ["fmnist-lenet-swamp-fast.json", "fmnist-lenet-imp-fast.json"];
const CONFIGS_DIR = resolve(__dirname, "../../../configs");
const PROGRESS_POLL_MS = 2_000;

interface UpOptions {
  workers: number;
  submitDefaults: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("up", USAGE, argv, {
    ...SERVER_FLAG_OPTIONS,
    workers: { type: "string" },
    "no-defaults": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) {
    process.stderr.write(`swamp up: --workers must be a whole number ≥ 0, got "${values.workers}"\n`);
    return 2;
  }
  try {
    return await up(environmentWithServerFlags(process.env, values), { workers, submitDefaults: !values["no-defaults"] });
  } catch (error) {
    process.stderr.write(`swamp up: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function up(env: NodeJS.ProcessEnv, options: UpOptions): Promise<number> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  // Listening from the start: a Ctrl-C during start-up stops cleanly once everything is up; a second quits at once.
  const signalled = new Promise<string>((resolveSignal) => {
    const on = (signal: string) => () => {
      resolveSignal(signal);
      process.once("SIGINT", () => process.exit(130));
    };
    process.once("SIGINT", on("SIGINT"));
    process.once("SIGTERM", on("SIGTERM"));
  });
  const settings = serveSettingsFromEnv(env);
  const transportOptions = transportOptionsFromEnv({ ...env, SWAMP_HOME: settings.swampHome });
  const transport: Transport =
    transportOptions.mode === "nats" ? await createTransport({ ...transportOptions, name: "swamp up", waitForServerMs: 30_000 }) : await createTransport(transportOptions);
  let fleet: RunningFleetServer;
  try {
    fleet = await startFleetServer({ transport, ...serverStartOptions(settings, print) });
  } catch (error) {
    await transport.close();
    throw error;
  }
  const { server, coordinator } = fleet;
  let pool: { stop(): Promise<void> } | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  const shutdown = async () => {
    if (progressTimer) clearInterval(progressTimer);
    await pool?.stop();
    await fleet.close();
    await transport.close();
  };
  try {
    const token = await tokenToShow(fleet, settings.swampHome, settings.adminToken);
    print(`dashboard: ${server.publicUrl}/ (paste the token below when it asks)`);
    print(`GraphQL:   ${server.url} (subscriptions ${server.wsUrl}; explorer ${server.publicUrl}/explorer)`);
    print(`token:     ${token.secret} (${token.origin}; send it as "Authorization: Bearer <token>")`);
    print(`database:  ${server.embeddedPostgres ? `embedded PostgreSQL in ${server.embeddedPostgres.dataDir}` : "DATABASE_URL"}`);
    print(
      `tasks:     ${transportOptions.mode === "nats" ? `NATS at ${redactNatsUrl(transportOptions.url ?? "")}${transportOptions.namespace ? ` (namespace ${transportOptions.namespace})` : ""}` : "in this process"}`,
    );

    if (options.submitDefaults && (await countExperiments(server.dataSource.manager, {})) === 0) {
      for (const file of DEFAULT_EXPERIMENT_CONFIGS) {
        const config = await readConfigFile(join(CONFIGS_DIR, file));
        const row = await inTransaction(server.services, (tx) => createExperiment(tx, { config, owner: "swamp up" }));
        await coordinator.schedule(row.id);
        print(`submitted: ${row.name} (${row.id})`);
      }
    }

    if (options.workers > 0) {
      // Loaded only here: a pool-less `swamp up --workers 0` never loads TensorFlow.js.
      const { FleetWorker } = await import("../../worker/fleet/fleet-worker.js");
      warnAboutOlderCoreType("swamp up");
      const worker = new FleetWorker({ transport, slots: options.workers, log: (line) => print(`worker:    ${line}`) });
      await worker.start();
      pool = worker;
    } else {
      print("workers:   none in this process (--workers 0); start some with `swamp worker`");
    }

    const watched = new Set<string>();
    const shown = new Map<string, string>();
    // An experiment can be created and finish between two polls: each poll also reads those
    // created since the previous one began (a second earlier, against clock steps).
    let previousPoll = new Date();
    const showProgress = async () => {
      const since = new Date(previousPoll.getTime() - 1000);
      previousPoll = new Date();
      for (const row of await experimentProgress(server.dataSource.manager, [...watched], since)) {
        watched.add(row.id);
        const line = describeProgress(row);
        if (shown.get(row.id) !== line) print(`${new Date().toISOString().slice(11, 19)} ${line}`);
        shown.set(row.id, line);
        if (row.status !== "queued" && row.status !== "running") watched.delete(row.id);
      }
    };
    await showProgress();
    let polling = false;
    progressTimer = setInterval(() => {
      if (polling) return;
      polling = true;
      void showProgress()
        .catch((error: unknown) => print(`progress: ${(error as Error).message}`))
        .finally(() => (polling = false));
    }, PROGRESS_POLL_MS);
  } catch (error) {
    await shutdown();
    throw error;
  }

  // Runs until Ctrl-C (or SIGTERM), or until the NATS connection ends for good (e.g. refused credentials).
  const lost = transport.closed().then((error) => (error ? error : new Promise<never>(() => undefined)));
  const stop = await Promise.race([signalled.then((signal) => ({ signal })), lost.then((error) => ({ error }))]);
  if ("error" in stop) {
    print(`swamp up: the task transport closed: ${stop.error.message}; stopping`);
    await shutdown().catch(() => undefined);
    return 1;
  }
  print(`${stop.signal}: stopping (workers give their tasks back; Ctrl-C again to quit at once)`);
  await shutdown();
  print("stopped");
  return 0;
}

function describeProgress(row: ExperimentProgress): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const parts = [row.name.padEnd(26), row.status.padEnd(9)];
  if (row.status === "running" || row.status === "queued") {
    parts.push(`cycle ${Math.min(row.cyclesCompleted, row.cyclesPlanned - 1)}/${row.cyclesPlanned - 1}`);
    parts.push(`particles ${row.particlesDone}/${row.particlesPerCycle}`);
  } else {
    parts.push(`${row.cyclesCompleted}/${row.cyclesPlanned} cycles`);
  }
  if (row.accuracy !== null) parts.push(`last cycle: sparsity ${percent(row.sparsity ?? 0)}, accuracy ${percent(row.accuracy)}`);
  if (row.error) parts.push(`error: ${row.error}`);
  return parts.join("  ");
}

/**
 * The token line: a secret only when this start created it (the server's first admin token, saved
 * in SWAMP_HOME for later starts), never one set in the environment or saved earlier, since logs
 * (`docker compose logs`) are read by more people than secrets are.
 */
async function tokenToShow(fleet: RunningFleetServer, home: string, adminToken: string | undefined): Promise<{ secret: string; origin: string }> {
  const file = swampHomeLayout(home).adminToken;
  const { server } = fleet;
  if (server.firstAdminToken) {
    mkdirSync(home, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    writeFileSync(file, `${server.firstAdminToken}\n`, { mode: PRIVATE_FILE_MODE });
    return { secret: server.firstAdminToken, origin: `admin token created now, shown this once, saved in ${file}` };
  }
  if (adminToken) return { secret: "$SWAMP_ADMIN_TOKEN", origin: "the admin token set in the environment" };
  if (existsSync(file)) {
    const saved = readFileSync(file, "utf8").trim();
    if ((await authenticate(server.dataSource.manager, saved, null)).kind === "token") return { secret: `in ${file}`, origin: "the admin token an earlier start created" };
  }
  // Another start (a replica, or one with another SWAMP_HOME) created it and showed it.
  return { secret: "not shown", origin: "the database has an admin token already, shown by the start that created it; or set SWAMP_ADMIN_TOKEN" };
}
