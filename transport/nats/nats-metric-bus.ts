/** Metric batches on plain subjects, one per experiment. */
import { parseMetricBatch, requireMessage, type MetricBatchInput } from "../../schema/fleet-messages.js";
import { encodeMessage } from "../message-codec.js";
import type { MetricBatchHandler, MetricBus, MetricSubscriptionOptions } from "../metric-bus.js";
import type { Subscription } from "../subscription.js";
import type { NatsContext } from "./nats-context.js";
import { subscribeValidated } from "./plain-subscription.js";

export class NatsMetricBus implements MetricBus {
  constructor(private readonly context: NatsContext) {}

  async publish(batch: MetricBatchInput): Promise<void> {
    const valid = requireMessage("metric batch", parseMetricBatch(batch));
    this.context.connection.publish(this.context.names.metricsSubject(valid.experimentId), encodeMessage(valid));
  }

  subscribe(options: MetricSubscriptionOptions, handler: MetricBatchHandler): Promise<Subscription> {
    const { names } = this.context;
    const subject = options.experimentId === undefined ? names.allMetricsSubject : names.metricsSubject(options.experimentId);
    return subscribeValidated(this.context, subject, options.queueGroup, parseMetricBatch, "metric batch", handler);
  }
}
