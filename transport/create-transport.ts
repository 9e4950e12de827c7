/** Picks the transport: NATS when asked for (or when NATS_URL is set), the in-process one otherwise. */
import { swampHome } from "../schema/swamp-home.js";
import { createEmbeddedTransport } from "./embedded/embedded-transport.js";
import { natsConnectionOptionsFromEnv } from "./nats/connection.js";
import { createNatsTransport, type NatsTransport } from "./nats/nats-transport.js";
import type { EmbeddedTransportOptions, NatsTransportOptions, Transport, TransportOptions } from "./transport.js";

export async function createTransport(options: NatsTransportOptions): Promise<NatsTransport>;
export async function createTransport(options: EmbeddedTransportOptions): Promise<Transport>;
export async function createTransport(options: TransportOptions): Promise<Transport>;
export async function createTransport(options: TransportOptions): Promise<Transport> {
  if (options.mode === "embedded") return createEmbeddedTransport(options);
  return await createNatsTransport(options);
}

/** A whole number from the environment within [min, max], or undefined when unset; else an error naming the variable. */
function wholeNumberFromEnv(env: NodeJS.ProcessEnv, variable: string, min: number, max: number): number | undefined {
  const text = env[variable];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new Error(`${variable} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

/**
 * NATS (NATS_URL, NATS_USER/NATS_PASSWORD or NATS_TOKEN, SWAMP_NATS_NAMESPACE, SWAMP_NATS_REPLICAS,
 * SWAMP_TASK_ACK_WAIT_MS, SWAMP_ARTIFACTS_MAX_BYTES) when NATS_URL is set, else embedded in SWAMP_HOME (default ~/.swamp).
 */
export function transportOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TransportOptions {
  if (env.NATS_URL !== undefined && env.NATS_URL !== "") {
    const options: NatsTransportOptions = { mode: "nats", ...natsConnectionOptionsFromEnv(env), namespace: env.SWAMP_NATS_NAMESPACE || undefined };
    // JetStream allows at most 5 replicas.
    const replicas = wholeNumberFromEnv(env, "SWAMP_NATS_REPLICAS", 1, 5);
    if (replicas !== undefined) options.replicas = replicas;
    const ackWaitMs = wholeNumberFromEnv(env, "SWAMP_TASK_ACK_WAIT_MS", 1_000, 3_600_000);
    if (ackWaitMs !== undefined) options.taskQueue = { ackWaitMs };
    const artifactsMaxBytes = wholeNumberFromEnv(env, "SWAMP_ARTIFACTS_MAX_BYTES", 1_048_576, Number.MAX_SAFE_INTEGER);
    if (artifactsMaxBytes !== undefined) options.artifactsMaxBytes = artifactsMaxBytes;
    return options;
  }
  return { mode: "embedded", home: swampHome(env) };
}

/** The fleet's NATS transport options when NATS_URL is set; undefined means no fleet (the server alone). */
export function fleetTransportOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsTransportOptions | undefined {
  const options = transportOptionsFromEnv(env);
  return options.mode === "nats" ? options : undefined;
}
