/**
 * The typed topic map of the live feed. Every payload is plain JSON (no Dates, no class instances)
 * so that a PubSub shared between server replicas (NATS-backed in the fleet) can carry it as is.
 * Each topic is published per experiment: the routing key is `swamp.<topic>.<experimentId>`.
 */
import { z } from "zod";
import { metricPointSchema, type MetricPoint } from "./metrics.js";
import { ANALYSIS_STATUSES, EXPERIMENT_STATUSES, type AnalysisStatus, type ExperimentStatus } from "./statuses.js";

export interface TopicMap {
  /** Status, tags, error or progress of an experiment changed (or it was deleted). */
  "experiment-updated": { experimentId: string; status: ExperimentStatus | "deleted"; updatedAt: string };
  /** A cycle's aggregate (averaged model, accuracy, next mask) was recorded. */
  "cycle-completed": { experimentId: string; cycleIndex: number };
  /** Points that were stored for the first time (re-sent points are never published again). */
  "metrics-appended": { experimentId: string; points: MetricPoint[] };
  /** An analysis of the experiment was created, started, progressed, succeeded or failed. */
  "analysis-updated": { experimentId: string; analysisId: number; status: AnalysisStatus; progress: number };
}

export type TopicName = keyof TopicMap;
export type TopicPayload<T extends TopicName> = TopicMap[T];

export const TOPIC_NAMES: readonly TopicName[] = ["experiment-updated", "cycle-completed", "metrics-appended", "analysis-updated"];

/** The subject a topic's events for one experiment travel on (also a valid NATS subject). */
export function topicRoutingKey(topic: TopicName, experimentId: string): string {
  return `swamp.${topic}.${experimentId}`;
}

const experimentId = z.string().uuid();

/**
 * Every topic's payload as a schema: a replica validates events it reads from NATS like every
 * other fleet message, since anyone allowed to publish on the subjects could send anything.
 */
export const topicPayloadSchemas: { [T in TopicName]: z.ZodType<TopicMap[T], z.ZodTypeDef, unknown> } = {
  "experiment-updated": z
    .object({ experimentId, status: z.enum([...EXPERIMENT_STATUSES, "deleted"]), updatedAt: z.string().datetime({ offset: true }) })
    .strict(),
  "cycle-completed": z.object({ experimentId, cycleIndex: z.number().int().min(0).max(10_000) }).strict(),
  "metrics-appended": z.object({ experimentId, points: z.array(metricPointSchema) }).strict(),
  "analysis-updated": z
    .object({ experimentId, analysisId: z.number().int().positive(), status: z.enum(ANALYSIS_STATUSES), progress: z.number().min(0).max(1) })
    .strict(),
};

/** The payload if it is a valid event of `topic` for `forExperiment`, else every problem found. */
export function parseTopicPayload<T extends TopicName>(
  topic: T,
  forExperiment: string,
  json: unknown,
): { ok: true; value: TopicPayload<T> } | { ok: false; problems: string } {
  const parsed = topicPayloadSchemas[topic].safeParse(json);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`).join("; ") };
  }
  if (parsed.data.experimentId !== forExperiment) return { ok: false, problems: `experimentId: must be ${forExperiment}, the experiment of the subject` };
  return { ok: true, value: parsed.data };
}
