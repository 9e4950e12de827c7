/**
 * Everything the server and the workers need to talk, in one bundle: the task queue, the result
 * stream, the metric and control buses and the artifact store, over NATS JetStream (the fleet) or
 * in one process (embedded mode).
 */
import type { ArtifactStore } from "./artifact-store.js";
import type { ControlBus } from "./control-bus.js";
import type { TransportLogger } from "./logger.js";
import type { LiveFeedOptions, SwampPubSub } from "./live-feed/pubsub.js";
import type { MetricBus } from "./metric-bus.js";
import type { NatsConnectionOptions } from "./nats/connection.js";
import type { ResultStream } from "./result-stream.js";
import type { TaskQueue, TaskQueueSettings } from "./task-queue.js";

export type TransportMode = "nats" | "embedded";

export interface Transport {
  readonly mode: TransportMode;
  readonly tasks: TaskQueue;
  readonly results: ResultStream;
  readonly metrics: MetricBus;
  readonly control: ControlBus;
  readonly artifacts: ArtifactStore;
  /**
   * A live feed for GraphQL subscriptions, owned (and closed) by the caller: over NATS it is
   * shared by every server replica of the deployment; embedded it serves this process only.
   */
  openLiveFeed(options?: LiveFeedOptions): SwampPubSub;
  /**
   * Resolves when the transport has closed: with undefined after `close()`, with an Error when the
   * connection ended on its own (e.g. NATS refused the credentials on a reconnect).
   */
  closed(): Promise<Error | undefined>;
  /**
   * What a readiness probe should ask of this transport: over NATS a round trip to the server
   * (failing at once while disconnected); absent where nothing outside the process is involved.
   */
  readonly readinessCheck?: { name: string; probe(): Promise<void> };
  /** Stops consumers (waiting for running handlers) and releases the connection. */
  close(): Promise<void>;
}

interface CommonTransportOptions {
  /**
   * Ack wait, delivery limit and retry delay of the task queue (defaults: DEFAULT_TASK_QUEUE_SETTINGS).
   * Over NATS the first process sets up the queue; a later one changes the ack wait and delivery
   * limit only when it passes them explicitly, and otherwise adopts the deployment's.
   */
  taskQueue?: Partial<TaskQueueSettings>;
  logger?: TransportLogger;
}

export interface EmbeddedTransportOptions extends CommonTransportOptions {
  mode: "embedded";
  /** SWAMP_HOME; artifacts go to `<home>/artifacts`. */
  home: string;
}

export interface NatsTransportOptions extends CommonTransportOptions, NatsConnectionOptions {
  mode: "nats";
  /** Keeps this deployment's streams, subjects and bucket apart from others on the same server. */
  namespace?: string;
  /** How long one pull waits for a message (min 1000); bounds how long stopping a consumer takes. Default 3000. */
  pullExpiresMs?: number;
  /** How long a durable publish retries through an outage before it throws. Default 60000. */
  publishGiveUpMs?: number;
  /** Ack wait of the results and exhaustion consumers (how long recording may take). Default 30000. */
  recordAckWaitMs?: number;
  /**
   * Copies JetStream keeps of each fleet stream and of the artifact bucket when it creates them
   * (1 on a single nats-server; 3 on a 3-node cluster, so losing one node loses nothing). Default 1.
   */
  replicas?: number;
  /**
   * Most bytes the artifact bucket may hold, set when it is created (SWAMP_ARTIFACTS_MAX_BYTES);
   * past it a write fails with ArtifactStoreFullError. Default: no limit.
   */
  artifactsMaxBytes?: number;
}

export type TransportOptions = EmbeddedTransportOptions | NatsTransportOptions;
