/** The transport's public surface: what the server and the workers import. */
export type { ArtifactStore, PutArtifactOptions } from "./artifact-store.js";
export { ArtifactNotFoundError, ArtifactStoreFullError, CorruptArtifactError, sha256Hex, verifyArtifactBytes } from "./artifact-store.js";
export type { ControlBus } from "./control-bus.js";
export { createTransport, transportOptionsFromEnv } from "./create-transport.js";
export type { TransportLogger } from "./logger.js";
export { consoleTransportLogger, silentTransportLogger } from "./logger.js";
export { createEmbeddedTransport } from "./embedded/embedded-transport.js";
export { FilesystemArtifacts } from "./embedded/filesystem-artifacts.js";
export { createNatsTransport } from "./nats/nats-transport.js";
export { deleteFleetResources } from "./nats/fleet-resources.js";
export type { MetricBatchHandler, MetricBus, MetricSubscriptionOptions } from "./metric-bus.js";
export {
  DEFAULT_NATS_URL,
  NatsAuthError,
  NatsConfigurationError,
  NatsUnavailableError,
  natsConnectionOptionsFromEnv,
  type NatsConnectionOptions,
} from "./nats/connection.js";
export type { ConsumeResultsOptions, ResultConsumer, ResultDeliveryInfo, ResultHandler, ResultStream } from "./result-stream.js";
export type { Subscription } from "./subscription.js";
export type {
  ConsumeTasksOptions,
  ExhaustionHandler,
  ExhaustionWatch,
  PublishTaskOutcome,
  TaskConsumer,
  TaskDelivery,
  TaskHandler,
  TaskQueue,
  TaskQueueSettings,
} from "./task-queue.js";
export { DEFAULT_TASK_QUEUE_SETTINGS } from "./task-queue.js";
export type { EmbeddedTransportOptions, NatsTransportOptions, Transport, TransportMode, TransportOptions } from "./transport.js";
export type { NatsTransport } from "./nats/nats-transport.js";
