import { createTransport } from "../transport/create-transport.js";
import { redactNatsUrl } from "../transport/nats/connection.js";
import type { NatsTransportOptions } from "../transport/transport.js";
import { startFleetServer, type RunningFleetServer } from "./fleet-server.js";
import { normalisePublicUrl, parseOrigin } from "./http/origin-policy.js";
import type { WebSocketLimits } from "./http/websocket-sessions.js";
import { dataRootsFromEnv } from "./services/data-roots.js";
import { startServer, DEFAULT_HOST, DEFAULT_PORT, type RunningServer, type StartServerOptions } from "./start-server.js";
import { swampHome } from "../schema/swamp-home.js";

export interface ServeSettings {
  port: number;
  host: string;
  databaseUrl?: string;
  swampHome: string;
  adminToken?: string;
  publicReads: boolean;
  publicUrl?: string;
  allowedOrigins: string[];
  webSocketLimits: Partial<WebSocketLimits>;
  dataRoots: string[];
  routeWaitWarningMs?: number;
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["", "0", "false", "no", "off"]);

/** The variables that set WebSocket limits, the range each accepts. */
const WEBSOCKET_LIMIT_VARIABLES: ReadonlyArray<[keyof WebSocketLimits, string, number, number]> = [
  ["maxConnectionsPerToken", "SWAMP_WS_MAX_CONNECTIONS_PER_TOKEN", 1, 100_000],
  ["maxConnectionsPerAddress", "SWAMP_WS_MAX_CONNECTIONS_PER_ADDRESS", 1, 100_000],
  ["maxSubscriptionsPerConnection", "SWAMP_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", 1, 100_000],
  ["revocationCheckMs", "SWAMP_TOKEN_RECHECK_MS", 100, 600_000],
  ["maxBufferedBytes", "SWAMP_WS_MAX_BUFFERED_BYTES", 65_536, 1_073_741_824],
  ["connectionInitWaitMs", "SWAMP_WS_CONNECTION_INIT_WAIT_MS", 100, 600_000],
];

function webSocketLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<WebSocketLimits> {
  const limits: Partial<WebSocketLimits> = {};
  for (const [field, variable, min, max] of WEBSOCKET_LIMIT_VARIABLES) {
    const text = env[variable];
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new Error(`${variable} must be a whole number from ${min} to ${max}, got "${text}"`);
    limits[field] = value;
  }
  return limits;
}

function routeWaitWarningFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SWAMP_ROUTE_WAIT_WARNING_MS;
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1_000 || value > 86_400_000) throw new Error(`SWAMP_ROUTE_WAIT_WARNING_MS must be a whole number from 1000 to 86400000, got "${text}"`);
  return value;
}

function allowedOriginsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const entries = (env.SWAMP_ALLOWED_ORIGINS ?? "").split(/[\s,]+/).filter((entry) => entry !== "");
  return entries.map((entry) => {
    const origin = parseOrigin(entry);
    if (origin === null) throw new Error(`SWAMP_ALLOWED_ORIGINS: "${entry}" is not an origin (scheme://host[:port], e.g. https://dashboard.example.org)`);
    return origin;
  });
}

/**
 * Reads PORT, HOST, DATABASE_URL, SWAMP_HOME, SWAMP_ADMIN_TOKEN, SWAMP_PUBLIC_READS,
 * SWAMP_PUBLIC_URL, SWAMP_ALLOWED_ORIGINS, the WebSocket limits, SWAMP_DATA_ROOTS and
 * SWAMP_ROUTE_WAIT_WARNING_MS; a bad value is
 * an error that names the variable.
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
  const publicUrl = env.SWAMP_PUBLIC_URL || undefined;
  if (publicUrl !== undefined && normalisePublicUrl(publicUrl) === null) {
    throw new Error(`SWAMP_PUBLIC_URL must be an http or https URL without query or fragment (where clients reach this server), got "${publicUrl}"`);
  }
  return {
    port,
    host: env.HOST || DEFAULT_HOST,
    databaseUrl: env.DATABASE_URL || undefined,
    swampHome: swampHome(env),
    adminToken: env.SWAMP_ADMIN_TOKEN || undefined,
    publicReads: TRUE_WORDS.has(publicText),
    publicUrl,
    allowedOrigins: allowedOriginsFromEnv(env),
    webSocketLimits: webSocketLimitsFromEnv(env),
    dataRoots: dataRootsFromEnv(env.SWAMP_DATA_ROOTS),
    routeWaitWarningMs: routeWaitWarningFromEnv(env),
  };
}

/** The server start options these settings stand for. */
export function serverStartOptions(settings: ServeSettings, log: (line: string) => void): Pick<
  StartServerOptions,
  "port" | "host" | "databaseUrl" | "swampHome" | "adminToken" | "publicReads" | "publicUrl" | "allowedOrigins" | "webSocketLimits" | "dataRoots" | "routeWaitWarningMs" | "log"
> {
  return {
    port: settings.port,
    host: settings.host,
    databaseUrl: settings.databaseUrl,
    swampHome: settings.swampHome,
    adminToken: settings.adminToken ?? null,
    publicReads: settings.publicReads,
    publicUrl: settings.publicUrl,
    allowedOrigins: settings.allowedOrigins,
    webSocketLimits: settings.webSocketLimits,
    dataRoots: settings.dataRoots,
    routeWaitWarningMs: settings.routeWaitWarningMs,
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
    print(`dashboard: ${server.publicUrl}/`);
    print(`explorer: ${server.publicUrl}/explorer`);
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
