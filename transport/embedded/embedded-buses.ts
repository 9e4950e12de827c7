/**
 * The metric and control buses over the in-process bus, on the same subjects as over NATS and,
 * as over NATS, as encoded messages delivered asynchronously and validated on arrival.
 */
import {
  parseCancelMessage,
  parseMetricBatch,
  parseWorkerHeartbeat,
  requireMessage,
  type CancelMessage,
  type CancelMessageInput,
  type MetricBatchInput,
  type WorkerHeartbeat,
  type WorkerHeartbeatInput,
  type FleetMessageType,
  type MessageParseResult,
} from "../../schema/fleet-messages.js";
import type { FleetNames } from "../../schema/subjects.js";
import type { ControlBus } from "../control-bus.js";
import type { InProcessBus } from "../in-process-bus.js";
import type { TransportLogger } from "../logger.js";
import { decodeMessage, encodeMessage } from "../message-codec.js";
import type { MetricBatchHandler, MetricBus, MetricSubscriptionOptions } from "../metric-bus.js";
import type { Subscription } from "../subscription.js";

/** The process's bus; the fleet messages' subjects carry them encoded (Uint8Array). */
export type EmbeddedBus = InProcessBus<unknown>;

/** Subscribes a handler that receives each valid message on a later turn of the event loop, as over NATS. */
function subscribeValidated<T>(
  bus: EmbeddedBus,
  logger: TransportLogger,
  subject: string,
  queueGroup: string | undefined,
  parse: (json: unknown) => MessageParseResult<T>,
  type: FleetMessageType,
  handler: (message: T) => void | Promise<void>,
): Subscription {
  const subscription = bus.subscribe(
    subject,
    (actualSubject, bytes) =>
      setImmediate(() => {
        if (!subscription.isActive() || !(bytes instanceof Uint8Array)) return;
        const value = decodeMessage(bytes, parse, type, actualSubject, logger);
        if (value === undefined) return;
        Promise.resolve()
          .then(() => handler(value))
          .catch((error: unknown) => logger.warn(`${type} handler failed: ${(error as Error)?.message}`));
      }),
    { queueGroup },
  );
  return {
    unsubscribe: async () => subscription.end(),
  };
}

export class EmbeddedMetricBus implements MetricBus {
  constructor(
    private readonly bus: EmbeddedBus,
    private readonly names: FleetNames,
    private readonly logger: TransportLogger,
  ) {}

  async publish(batch: MetricBatchInput): Promise<void> {
    const valid = requireMessage("metric batch", parseMetricBatch(batch));
    this.bus.publish(this.names.metricsSubject(valid.experimentId), encodeMessage(valid));
  }

  async subscribe(options: MetricSubscriptionOptions, handler: MetricBatchHandler): Promise<Subscription> {
    const subject = options.experimentId === undefined ? this.names.allMetricsSubject : this.names.metricsSubject(options.experimentId);
    return subscribeValidated(this.bus, this.logger, subject, options.queueGroup, parseMetricBatch, "metric batch", handler);
  }
}

export class EmbeddedControlBus implements ControlBus {
  constructor(
    private readonly bus: EmbeddedBus,
    private readonly names: FleetNames,
    private readonly logger: TransportLogger,
  ) {}

  async cancel(message: CancelMessageInput): Promise<void> {
    this.bus.publish(this.names.cancelSubject, encodeMessage(requireMessage("cancel", parseCancelMessage(message))));
  }

  async onCancel(handler: (message: CancelMessage) => void | Promise<void>): Promise<Subscription> {
    return subscribeValidated(this.bus, this.logger, this.names.cancelSubject, undefined, parseCancelMessage, "cancel", handler);
  }

  async heartbeat(heartbeat: WorkerHeartbeatInput): Promise<void> {
    this.bus.publish(this.names.heartbeatSubject, encodeMessage(requireMessage("heartbeat", parseWorkerHeartbeat(heartbeat))));
  }

  async onHeartbeat(handler: (heartbeat: WorkerHeartbeat) => void | Promise<void>): Promise<Subscription> {
    return subscribeValidated(this.bus, this.logger, this.names.heartbeatSubject, undefined, parseWorkerHeartbeat, "heartbeat", handler);
  }
}
