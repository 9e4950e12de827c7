/** Picks the transport: NATS when asked for (or when NATS_URL is set), the in-process one otherwise. */
import { swampHome } from "../schema/swamp-home.js";
import { createEmbeddedTransport } from "./embedded/embedded-transport.js";
import { natsConnectionOptionsFromEnv } from "./nats/connection.js";
import { createNatsTransport } from "./nats/nats-transport.js";
import type { EmbeddedTransportOptions, NatsTransport, NatsTransportOptions, Transport, TransportOptions } from "./transport.js";

export async function createTransport(options: NatsTransportOptions): Promise<NatsTransport>;
export async function createTransport(options: EmbeddedTransportOptions): Promise<Transport>;
export async function createTransport(options: TransportOptions): Promise<Transport>;
export async function createTransport(options: TransportOptions): Promise<Transport> {
  if (options.mode === "embedded") return createEmbeddedTransport(options);
  return await createNatsTransport(options);
}

/**
 * NATS (NATS_URL, NATS_USER/NATS_PASSWORD or NATS_TOKEN, SWAMP_NATS_NAMESPACE) when NATS_URL is
 * set, else embedded in SWAMP_HOME (default ~/.swamp).
 */
export function transportOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TransportOptions {
  if (env.NATS_URL !== undefined && env.NATS_URL !== "") {
    return { mode: "nats", ...natsConnectionOptionsFromEnv(env), namespace: env.SWAMP_NATS_NAMESPACE || undefined };
  }
  return { mode: "embedded", home: swampHome(env) };
}

/** The fleet's NATS transport options when NATS_URL is set; undefined means no fleet (the server alone). */
export function fleetTransportOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsTransportOptions | undefined {
  const options = transportOptionsFromEnv(env);
  return options.mode === "nats" ? options : undefined;
}
