import { createTransport } from "../transport/create-transport.js";
import { redactNatsUrl } from "../transport/nats/connection.js";
import type { NatsTransportOptions } from "../transport/transport.js";
import { startFleetServer, type RunningFleetServer } from "./fleet-server.js";
import { startServer, DEFAULT_HOST, DEFAULT_PORT, defaultSwampHome, type RunningServer, type StartServerOptions } from "./start-server.js";

export interface ServeSettings {
  port: number;
  host: string;
  databaseUrl?: string;
  swampHome: string;
  adminToken?: string;
  publicReads: boolean;
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["", "0", "false", "no", "off"]);

/**
 * Reads PORT, HOST, DATABASE_URL, SWAMP_HOME, SWAMP_ADMIN_TOKEN and SWAMP_PUBLIC_READS; a bad value
 * is an error that names the variable.
 */
export function serveSettingsFromEnv(env: NodeJS.ProcessEnv): ServeSettings {
  const portText = env.PORT ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`PORT must be a port number from 0 to 65535, got "${portText}"`);
  const publicText = (env.SWAMP_PUBLIC_READS ?? "").toLowerCase();
  if (!TRUE_WORDS.has(publicText) && !FALSE_WORDS.has(publicText)) throw new Error(`SWAMP_PUBLIC_READS must be true or false, got "${env.SWAMP_PUBLIC_READS}"`);
  if (env.SWAMP_ADMIN_TOKEN !== undefined && env.SWAMP_ADMIN_TOKEN !== "" && env.SWAMP_ADMIN_TOKEN.length < 16) {
    throw new Error("SWAMP_ADMIN_TOKEN must be at least 16 characters");
  }
  return {
    port,
    host: env.HOST || DEFAULT_HOST,
    databaseUrl: env.DATABASE_URL || undefined,
    swampHome: env.SWAMP_HOME || defaultSwampHome(),
    adminToken: env.SWAMP_ADMIN_TOKEN || undefined,
    publicReads: TRUE_WORDS.has(publicText),
  };
}

/** The server start options these settings stand for. */
export function serverStartOptions(settings: ServeSettings, log: (line: string) => void): Pick<StartServerOptions, "port" | "host" | "databaseUrl" | "swampHome" | "adminToken" | "publicReads" | "log"> {
  return {
    port: settings.port,
    host: settings.host,
    databaseUrl: settings.databaseUrl,
    swampHome: settings.swampHome,
    adminToken: settings.adminToken ?? null,
    publicReads: settings.publicReads,
    log,
  };
}

/** What `swamp server` runs: the server alone, or over NATS the fleet server (server + coordinator). */
interface Serving {
  server: RunningServer;
  /** Where tasks go, for the start-up lines. */
  tasks: string;
  /** Resolves with the error that ended the task transport for good (never without NATS). */
  lost: Promise<Error>;
  close(): Promise<void>;
}

const never = new Promise<never>(() => undefined);

async function startServing(settings: ServeSettings, nats: NatsTransportOptions | undefined, print: (line: string) => void): Promise<Serving> {
  if (!nats) {
    const server = await startServer(serverStartOptions(settings, print));
    return { server, tasks: "none (set NATS_URL for a fleet of `swamp worker`s, or run `swamp up`)", lost: never, close: () => server.close() };
  }
  const transport = await createTransport({ ...nats, name: "swamp server", waitForServerMs: 30_000 });
  let fleet: RunningFleetServer;
  try {
    fleet = await startFleetServer({ transport, ...serverStartOptions(settings, print) });
  } catch (error) {
    await transport.close();
    throw error;
  }
  return {
    server: fleet.server,
    tasks: `coordinator on NATS at ${redactNatsUrl(nats.url ?? "")}${nats.namespace ? ` (namespace ${nats.namespace})` : ""}; start workers with \`swamp worker\``,
    lost: transport.closed().then((error) => error ?? never),
    async close() {
      await fleet.close();
      await transport.close();
    },
  };
}

/**
 * Starts the server (over NATS with its coordinator, so `swamp worker`s get tasks), prints where it
 * is (and a first admin token, when this start created it), and runs until SIGINT or SIGTERM (or
 * until the NATS connection ends for good), then closes everything, the embedded PostgreSQL last.
 * Resolves with the exit code.
 */
export async function serveUntilSignalled(settings: ServeSettings, nats?: NatsTransportOptions, print: (line: string) => void = (line) => console.log(line)): Promise<number> {
  // Listening from the start: a signal during start-up stops cleanly once everything is up.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const serving = await startServing(settings, nats, print);
    const { server } = serving;
    print(`swamp server listening on ${server.url} (subscriptions: ${server.wsUrl})`);
    print(`explorer: ${server.baseUrl}/explorer`);
    print(`database: ${server.embeddedPostgres ? `embedded PostgreSQL in ${server.embeddedPostgres.dataDir}` : "DATABASE_URL"}; reads ${settings.publicReads ? "are public" : "need a token"}`);
    print(`tasks: ${serving.tasks}`);
    if (server.firstAdminToken) {
      print(`first start: admin token (shown once, keep it): ${server.firstAdminToken}`);
    }
    const stop = await Promise.race([signalled.then((signal) => ({ signal })), serving.lost.then((error) => ({ error }))]);
    if ("error" in stop) {
      print(`swamp server: the task transport closed: ${stop.error.message}; stopping`);
      await serving.close().catch(() => undefined);
      return 1;
    }
    print(`${stop.signal}: shutting down`);
    await serving.close();
    print("stopped");
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
