/**
 * Connecting to NATS with credentials from the environment. Once connected, the client reconnects
 * forever with a capped exponential backoff; a refused login is final and reported once, clearly.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { errors as natsErrors } from "@nats-io/transport-node";
import type { TransportLogger } from "../logger.js";

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export interface NatsConnectionOptions {
  /** e.g. `nats://host:4222`; several servers comma-separated. */
  url?: string;
  user?: string;
  password?: string;
  token?: string;
  /** Shown by the server's monitoring, e.g. `swamp-worker@host`. */
  name?: string;
  /** Keep trying while the server is unreachable at start-up for this long; default 0 (fail at once). */
  waitForServerMs?: number;
}

/** Reads NATS_URL, NATS_USER, NATS_PASSWORD and NATS_TOKEN. */
export function natsConnectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsConnectionOptions {
  const nonEmpty = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  return {
    url: nonEmpty(env.NATS_URL) ?? DEFAULT_NATS_URL,
    user: nonEmpty(env.NATS_USER),
    password: nonEmpty(env.NATS_PASSWORD),
    token: nonEmpty(env.NATS_TOKEN),
  };
}

export class NatsAuthError extends Error {
  constructor(url: string) {
    super(`NATS at ${url}: authorization failed (check NATS_USER/NATS_PASSWORD or NATS_TOKEN)`);
    this.name = "NatsAuthError";
  }
}

export class NatsUnavailableError extends Error {
  constructor(url: string, detail: string) {
    super(`NATS at ${url}: ${detail} (is nats-server running with JetStream, and is NATS_URL right?)`);
    this.name = "NatsUnavailableError";
  }
}

export class NatsConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsConfigurationError";
  }
}

/** The URL without any user:password@ part, for messages. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/g, "//");
}

const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 5_000;

export async function connectToNats(options: NatsConnectionOptions, logger: TransportLogger): Promise<NatsConnection> {
  const url = options.url ?? DEFAULT_NATS_URL;
  const shownUrl = redactNatsUrl(url);
  if (options.token !== undefined && (options.user !== undefined || options.password !== undefined)) {
    throw new NatsConfigurationError(`NATS at ${shownUrl}: set either NATS_TOKEN or NATS_USER/NATS_PASSWORD, not both`);
  }
  if ((options.user === undefined) !== (options.password === undefined)) {
    throw new NatsConfigurationError(`NATS at ${shownUrl}: NATS_USER and NATS_PASSWORD must be set together`);
  }

  let reconnectAttempt = 0;
  const deadline = Date.now() + (options.waitForServerMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      const connection = await connect({
        servers: url.split(",").map((server) => server.trim()),
        name: options.name,
        user: options.user,
        pass: options.password,
        token: options.token,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** reconnectAttempt++),
      });
      void watchStatus(connection, shownUrl, logger, () => {
        reconnectAttempt = 0;
      });
      return connection;
    } catch (error) {
      if (error instanceof natsErrors.AuthorizationError || error instanceof natsErrors.UserAuthenticationExpiredError) {
        throw new NatsAuthError(shownUrl);
      }
      const detail = (error as Error)?.message ?? String(error);
      if (Date.now() >= deadline) throw new NatsUnavailableError(shownUrl, detail);
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** attempt, Math.max(0, deadline - Date.now()));
      logger.warn(`NATS at ${shownUrl}: ${detail}; retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function watchStatus(connection: NatsConnection, url: string, logger: TransportLogger, onReconnected: () => void): Promise<void> {
  for await (const status of connection.status()) {
    if (status.type === "disconnect") logger.warn(`NATS at ${url}: disconnected; reconnecting with backoff`);
    if (status.type === "reconnect") {
      onReconnected();
      logger.info(`NATS at ${url}: reconnected`);
    }
    if (status.type === "error" && status.error instanceof natsErrors.AuthorizationError) {
      logger.error(new NatsAuthError(url).message);
    }
  }
}
