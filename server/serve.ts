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

/**
 * Starts the server, prints where it is (and the first admin token, once), and runs until SIGINT
 * or SIGTERM, then closes everything (the embedded PostgreSQL included) and resolves.
 */
export async function serveUntilSignalled(settings: ServeSettings, extra: Partial<StartServerOptions> = {}, print: (line: string) => void = (line) => console.log(line)): Promise<void> {
  const server: RunningServer = await startServer({ ...serverStartOptions(settings, print), ...extra });
  print(`swamp server listening on ${server.url} (subscriptions: ${server.wsUrl})`);
  print(`dashboard: ${server.baseUrl}/`);
  print(`explorer: ${server.baseUrl}/explorer`);
  print(`database: ${server.embeddedPostgres ? `embedded PostgreSQL in ${server.embeddedPostgres.dataDir}` : "DATABASE_URL"}; reads ${settings.publicReads ? "are public" : "need a token"}`);
  if (server.firstAdminToken) {
    print(`first start: admin token (shown once, keep it): ${server.firstAdminToken}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      print(`${signal}: shutting down`);
      resolve();
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  await server.close();
  print("stopped");
}
