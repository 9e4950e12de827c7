/** The fleet's transport over NATS JetStream. */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { errors as natsErrors, type NatsConnection } from "@nats-io/transport-node";
import { fleetNames, type FleetNames } from "../../schema/subjects.js";
import { consoleTransportLogger } from "../logger.js";
import { Stoppables } from "../stoppables.js";
import type { NatsTransportOptions, Transport } from "../transport.js";
import { connectToNats, DEFAULT_NATS_URL, NatsAuthError, redactNatsUrl } from "./connection.js";
import { DEFAULT_PUBLISH_GIVE_UP_MS } from "./durable-publish.js";
import { ensureFleetResources } from "./fleet-resources.js";
import type { NatsContext } from "./nats-context.js";
import { NatsControlBus } from "./nats-control-bus.js";
import { NatsMetricBus } from "./nats-metric-bus.js";
import { NatsPubSub } from "./nats-pubsub.js";
import { NatsResultStream } from "./nats-result-stream.js";
import { NatsTaskQueue } from "./nats-task-queue.js";
import { ObjectStoreArtifacts } from "./object-store-artifacts.js";

/** The NATS transport also lends its connection (e.g. to a NATS-backed GraphQL PubSub) and names. */
export interface NatsTransport extends Transport {
  readonly mode: "nats";
  readonly connection: NatsConnection;
  readonly names: FleetNames;
}

export async function createNatsTransport(options: Omit<NatsTransportOptions, "mode">): Promise<NatsTransport> {
  const logger = options.logger ?? consoleTransportLogger;
  const names = fleetNames(options.namespace ?? "");
  const connection = await connectToNats(options, logger);
  try {
    const jsm = await jetstreamManager(connection);
    const context: NatsContext = {
      connection,
      js: jetstream(connection),
      jsm,
      names,
      logger,
      publishGiveUpMs: options.publishGiveUpMs ?? DEFAULT_PUBLISH_GIVE_UP_MS,
      pullExpiresMs: options.pullExpiresMs ?? 3_000,
    };
    const resources = await ensureFleetResources(
      connection,
      jsm,
      names,
      { taskQueue: options.taskQueue ?? {}, recordAckWaitMs: options.recordAckWaitMs, replicas: options.replicas, artifactsMaxBytes: options.artifactsMaxBytes },
      logger,
    );
    const bucket = await new Objm(connection).open(names.artifactsBucket);
    const consumers = new Stoppables();
    const url = redactNatsUrl(options.url ?? DEFAULT_NATS_URL);
    const closedWith = connection.closed().then((error) => {
      if (error === undefined) return undefined;
      return error instanceof natsErrors.AuthorizationError ? new NatsAuthError(url) : (error as Error);
    });
    return {
      mode: "nats",
      connection,
      names,
      tasks: new NatsTaskQueue(context, resources.taskQueue, consumers),
      results: new NatsResultStream(context, consumers),
      metrics: new NatsMetricBus(context),
      control: new NatsControlBus(context),
      artifacts: new ObjectStoreArtifacts(bucket, names.artifactsBucket),
      openLiveFeed: (feedOptions = {}) => new NatsPubSub(connection, { ...feedOptions, namespace: names.namespace }),
      closed: () => closedWith,
      readinessCheck: { name: "nats", probe: async () => void (await connection.rtt()) },
      async close() {
        await consumers.stopAll();
        if (!connection.isClosed()) await connection.drain().catch(() => connection.close());
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
