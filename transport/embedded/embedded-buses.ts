/** The metric and control buses over the in-process bus, on the same subjects as over NATS. */
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
} from "../../schema/fleet-messages.js";
import type { FleetNames } from "../../schema/subjects.js";
import type { ControlBus } from "../control-bus.js";
import { encodeMessage } from "../message-codec.js";
import type { MetricBatchHandler, MetricBus, MetricSubscriptionOptions } from "../metric-bus.js";
import type { Subscription } from "../subscription.js";
import type { LocalBus } from "./local-bus.js";

export class EmbeddedMetricBus implements MetricBus {
  constructor(
    private readonly bus: LocalBus,
    private readonly names: FleetNames,
  ) {}

  async publish(batch: MetricBatchInput): Promise<void> {
    const valid = requireMessage("metric batch", parseMetricBatch(batch));
    this.bus.publish(this.names.metricsSubject(valid.experimentId), encodeMessage(valid));
  }

  async subscribe(options: MetricSubscriptionOptions, handler: MetricBatchHandler): Promise<Subscription> {
    const subject = options.experimentId === undefined ? this.names.allMetricsSubject : this.names.metricsSubject(options.experimentId);
    return this.bus.subscribeValidated(subject, options.queueGroup, parseMetricBatch, "metric batch", handler);
  }
}

export class EmbeddedControlBus implements ControlBus {
  constructor(
    private readonly bus: LocalBus,
    private readonly names: FleetNames,
  ) {}

  async cancel(message: CancelMessageInput): Promise<void> {
    this.bus.publish(this.names.cancelSubject, encodeMessage(requireMessage("cancel", parseCancelMessage(message))));
  }

  async onCancel(handler: (message: CancelMessage) => void | Promise<void>): Promise<Subscription> {
    return this.bus.subscribeValidated(this.names.cancelSubject, undefined, parseCancelMessage, "cancel", handler);
  }

  async heartbeat(heartbeat: WorkerHeartbeatInput): Promise<void> {
    this.bus.publish(this.names.heartbeatSubject, encodeMessage(requireMessage("heartbeat", parseWorkerHeartbeat(heartbeat))));
  }

  async onHeartbeat(handler: (heartbeat: WorkerHeartbeat) => void | Promise<void>): Promise<Subscription> {
    return this.bus.subscribeValidated(this.names.heartbeatSubject, undefined, parseWorkerHeartbeat, "heartbeat", handler);
  }
}
