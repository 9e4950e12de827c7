/**
 * The streams, consumers and bucket the fleet needs, created when missing by whoever connects first
 * (server or worker), and removed as a whole for a test namespace.
 */
import {
  AckPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { TASK_ROUTES, type FleetNames } from "../../schema/subjects.js";
import type { TransportLogger } from "../logger.js";
import { NatsConfigurationError } from "./connection.js";
import { DEFAULT_TASK_QUEUE_SETTINGS, type TaskQueueSettings } from "../task-queue.js";

const NANOS_PER_MS = 1_000_000;
/** JetStream's "stream name already in use" (not among the client's named codes). */
const STREAM_NAME_IN_USE = 10058;
/** Results and exhaustion reports stay until recorded; this only bounds a forgotten deployment. */
/** How long recording one result (or one exhaustion report) may take before it is delivered again. */
export const DEFAULT_RECORD_ACK_WAIT_MS = 30_000;
const RECORD_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface FleetResources {
  /** The task queue's settings as the server holds them (another process may have set them). */
  taskQueue: TaskQueueSettings;
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound || error.status === 404)
  );
}

/**
 * A worker's NATS user may not create the fleet's streams and consumers (see roles.ts): say what
 * to do instead of passing on the bare permissions violation.
 */
function explainRefusal(error: unknown, what: string): unknown {
  if (!/Permissions Violation/i.test((error as Error)?.message ?? "")) return error;
  return new NatsConfigurationError(
    `${what} does not exist, and this NATS user may not create it: start the swamp server (it sets up the fleet's streams) before the workers, or check NATS_USER (${(error as Error).message})`,
  );
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
  try {
    const existing = await jsm.streams.info(config.name);
    // A stream made by an older version lacks subjects added since (the advisories of new consumers).
    const missing = config.subjects.filter((subject) => !(existing.config.subjects ?? []).includes(subject));
    if (missing.length > 0) {
      await jsm.streams
        .update(config.name, { ...existing.config, subjects: [...(existing.config.subjects ?? []), ...missing] })
        .catch((error: unknown) => Promise.reject(explainRefusal(error, `stream ${config.name} with subjects ${missing.join(", ")}`)));
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Another process created it between our lookup and our add: that is what we wanted.
      if (!(addError instanceof JetStreamApiError && addError.code === STREAM_NAME_IN_USE)) throw explainRefusal(addError, `stream ${config.name}`);
    }
  }
}

/** What a process asks of a consumer: `explicit` values change an existing consumer, defaults only create one. */
interface ConsumerWish {
  explicit: { ackWaitMs?: number; maxDeliver?: number };
  defaults: { ackWaitMs: number; maxDeliver: number };
  /** The subjects it takes (absent: the whole stream). */
  filterSubject?: string;
}

async function ensureDurablePullConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  wish: ConsumerWish,
  logger: TransportLogger,
): Promise<ConsumerInfo> {
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  let replaced: { ackWaitMs: number; maxDeliver: number } | undefined;
  if (existing !== undefined && (existing.config.filter_subject || undefined) !== wish.filterSubject) {
    replaced = { ackWaitMs: (existing.config.ack_wait ?? 0) / NANOS_PER_MS, maxDeliver: existing.config.max_deliver ?? wish.defaults.maxDeliver };
    // The workers consumer of a version before task routes took the whole stream, which leaves no
    // subject for the routes' consumers. Its unacknowledged messages stay in the WorkQueue stream
    // and go to the consumer made in its place.
    logger.info(`consumer ${stream}/${durable}: filter ${existing.config.filter_subject || "(none)"} → ${wish.filterSubject ?? "(none)"}; replacing it`);
    await jsm.consumers.delete(stream, durable).catch((error: unknown) => Promise.reject(explainRefusal(error, `consumer ${stream}/${durable} with filter ${wish.filterSubject}`)));
    existing = undefined;
  }
  if (existing === undefined) {
    const ackWaitMs = wish.explicit.ackWaitMs ?? replaced?.ackWaitMs ?? wish.defaults.ackWaitMs;
    const maxDeliver = wish.explicit.maxDeliver ?? replaced?.maxDeliver ?? wish.defaults.maxDeliver;
    return await jsm.consumers
      .add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ackWaitMs * NANOS_PER_MS,
        max_deliver: maxDeliver,
        ...(wish.filterSubject === undefined ? {} : { filter_subject: wish.filterSubject }),
      })
      .catch((error: unknown) => Promise.reject(explainRefusal(error, `consumer ${stream}/${durable}`)));
  }
  // A process started with defaults adopts what the deployment set up; only explicit settings change it.
  const ackWait = wish.explicit.ackWaitMs === undefined ? existing.config.ack_wait : wish.explicit.ackWaitMs * NANOS_PER_MS;
  const maxDeliver = wish.explicit.maxDeliver ?? existing.config.max_deliver;
  if (ackWait === existing.config.ack_wait && maxDeliver === existing.config.max_deliver) return existing;
  logger.info(
    `consumer ${stream}/${durable}: ack wait ${(existing.config.ack_wait ?? 0) / NANOS_PER_MS} ms → ${(ackWait ?? 0) / NANOS_PER_MS} ms, ` +
      `max deliveries ${existing.config.max_deliver} → ${maxDeliver}`,
  );
  return await jsm.consumers.update(stream, durable, { ack_wait: ackWait, max_deliver: maxDeliver });
}

/** Task queue and recording settings: those given explicitly, and the defaults for creating. */
export interface FleetSettings {
  taskQueue: Partial<TaskQueueSettings>;
  recordAckWaitMs?: number;
  /** JetStream copies of each stream and of the bucket, when creating them (default 1). */
  replicas?: number;
  /** Most bytes the artifact bucket may hold, when creating it (default: no limit). */
  artifactsMaxBytes?: number;
}

export async function ensureFleetResources(
  connection: NatsConnection,
  jsm: JetStreamManager,
  names: FleetNames,
  settings: FleetSettings,
  logger: TransportLogger,
): Promise<FleetResources> {
  // Consumers inherit their stream's replicas; an existing stream keeps the replicas it was made with.
  const num_replicas = settings.replicas ?? 1;
  await ensureStream(jsm, { name: names.tasksStream, subjects: [names.tasksSubjects], retention: RetentionPolicy.Workqueue, num_replicas });
  await ensureStream(jsm, {
    name: names.resultsStream,
    num_replicas,
    subjects: [names.resultsSubjects],
    retention: RetentionPolicy.Workqueue,
    max_age: RECORD_MAX_AGE_MS * NANOS_PER_MS,
  });
  await ensureStream(jsm, {
    name: names.exhaustedStream,
    num_replicas,
    subjects: [names.exhaustedSubjects, ...names.maxDeliveriesAdvisorySubjects],
    retention: RetentionPolicy.Workqueue,
    max_age: RECORD_MAX_AGE_MS * NANOS_PER_MS,
  });
  const defaults = { ackWaitMs: DEFAULT_TASK_QUEUE_SETTINGS.ackWaitMs, maxDeliver: DEFAULT_TASK_QUEUE_SETTINGS.maxDeliveries };
  const workers = await ensureDurablePullConsumer(
    jsm,
    names.tasksStream,
    names.workersConsumer,
    { explicit: { ackWaitMs: settings.taskQueue.ackWaitMs, maxDeliver: settings.taskQueue.maxDeliveries }, defaults, filterSubject: names.routeTasksFilter("any") },
    logger,
  );
  // Every backend's route delivers as the `any` route does.
  const routeSettings = { ackWaitMs: (workers.config.ack_wait ?? 0) / NANOS_PER_MS, maxDeliver: workers.config.max_deliver ?? defaults.maxDeliver };
  for (const route of TASK_ROUTES.filter((route) => route !== "any")) {
    await ensureDurablePullConsumer(jsm, names.tasksStream, names.routeConsumer(route), { explicit: routeSettings, defaults, filterSubject: names.routeTasksFilter(route) }, logger);
  }
  const recording: ConsumerWish = { explicit: { ackWaitMs: settings.recordAckWaitMs }, defaults: { ackWaitMs: DEFAULT_RECORD_ACK_WAIT_MS, maxDeliver: -1 } };
  await ensureDurablePullConsumer(jsm, names.resultsStream, names.resultsConsumer, recording, logger);
  await ensureDurablePullConsumer(jsm, names.exhaustedStream, names.exhaustedConsumer, recording, logger);
  await new Objm(connection)
    .create(names.artifactsBucket, { description: "swamp artifacts, named by sha256", replicas: num_replicas, ...(settings.artifactsMaxBytes ? { max_bytes: settings.artifactsMaxBytes } : {}) })
    .catch((error: unknown) => Promise.reject(explainRefusal(error, `object store bucket ${names.artifactsBucket}`)));
  return {
    taskQueue: {
      ackWaitMs: (workers.config.ack_wait ?? 0) / NANOS_PER_MS,
      maxDeliveries: workers.config.max_deliver ?? DEFAULT_TASK_QUEUE_SETTINGS.maxDeliveries,
      retryDelayMs: settings.taskQueue.retryDelayMs ?? DEFAULT_TASK_QUEUE_SETTINGS.retryDelayMs,
    },
  };
}

/** Deletes every stream and the bucket of a namespace (tests, or tearing a deployment down). */
export async function deleteFleetResources(connection: NatsConnection, jsm: JetStreamManager, names: FleetNames): Promise<void> {
  for (const stream of [names.tasksStream, names.resultsStream, names.exhaustedStream]) {
    await jsm.streams.delete(stream).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
  const bucket = await new Objm(connection).open(names.artifactsBucket).catch(() => undefined);
  await bucket?.destroy().catch(() => undefined);
}
