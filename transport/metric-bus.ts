/**
 * Live metric batches on plain subjects: fast, and lost while nobody listens (the task's result
 * carries the numbers that matter). A consumer drops batches whose (taskId, attempt, sequence) it
 * has seen.
 */
import type { MetricBatch, MetricBatchInput } from "../schema/fleet-messages.js";
import type { Subscription } from "./subscription.js";

export interface MetricSubscriptionOptions {
  /** One experiment's batches; absent: every experiment's. */
  experimentId?: string;
  /** Subscribers sharing a queue group split the batches (one server replica stores each). */
  queueGroup?: string;
}

export type MetricBatchHandler = (batch: MetricBatch) => void | Promise<void>;

export interface MetricBus {
  /** Validates (throws InvalidMessageError) and sends without waiting for any receiver. */
  publish(batch: MetricBatchInput): Promise<void>;
  /** Resolves once the subscription is active, so nothing published afterwards is missed. */
  subscribe(options: MetricSubscriptionOptions, handler: MetricBatchHandler): Promise<Subscription>;
}
