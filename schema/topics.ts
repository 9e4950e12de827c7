/**
 * The typed topic map of the live feed. Every payload is plain JSON (no Dates, no class instances)
 * so that a PubSub shared between server replicas (NATS-backed in the fleet) can carry it as is.
 * Each topic is published per experiment: the routing key is `swamp.<topic>.<experimentId>`.
 */
import type { MetricPoint } from "./metrics.js";
import type { ExperimentStatus } from "./statuses.js";

export interface TopicMap {
  /** Status, tags, error or progress of an experiment changed (or it was deleted). */
  "experiment-updated": { experimentId: string; status: ExperimentStatus | "deleted"; updatedAt: string };
  /** A cycle's aggregate (averaged model, accuracy, next mask) was recorded. */
  "cycle-completed": { experimentId: string; cycleIndex: number };
  /** Points that were stored for the first time (re-sent points are never published again). */
  "metrics-appended": { experimentId: string; points: MetricPoint[] };
}

export type TopicName = keyof TopicMap;
export type TopicPayload<T extends TopicName> = TopicMap[T];

export const TOPIC_NAMES: readonly TopicName[] = ["experiment-updated", "cycle-completed", "metrics-appended"];

/** The subject a topic's events for one experiment travel on (also a valid NATS subject). */
export function topicRoutingKey(topic: TopicName, experimentId: string): string {
  return `swamp.${topic}.${experimentId}`;
}
