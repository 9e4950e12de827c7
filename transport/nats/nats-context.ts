/** What every NATS-backed part of the transport shares: one connection and the fleet's names. */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FleetNames } from "../../schema/subjects.js";
import type { TransportLogger } from "../logger.js";

export interface NatsContext {
  connection: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: FleetNames;
  logger: TransportLogger;
  /** How long a durable publish keeps retrying through an outage before it throws. */
  publishGiveUpMs: number;
  /** How long one pull request waits for a message; bounds how long `stop()` takes. */
  pullExpiresMs: number;
}

export function isClosed(context: NatsContext): () => boolean {
  return () => context.connection.isClosed();
}
