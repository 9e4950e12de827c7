/**
 * Every subject name in one place: the NATS names the fleet uses (subjects, streams, consumers,
 * the object store bucket) and the live feed's typed topic map, whose subjects the in-process bus
 * and NATS both carry.
 *
 * A namespace keeps several deployments (and concurrent tests) on one NATS server apart: with
 * namespace `t1`, subjects gain a leading `t1.` token and streams, consumers and buckets a `_t1` or
 * `-t1` suffix. The empty namespace gives the production names (`swamp.tasks.>`, `SWAMP_TASKS`, ...).
 */

import { z } from "zod";
import { EXECUTION_BACKENDS } from "./config-names.js";
import { metricPointSchema, type MetricPoint } from "./metrics.js";
import { ANALYSIS_STATUSES, EXPERIMENT_STATUSES, type AnalysisStatus, type ExperimentStatus } from "./statuses.js";

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{0,32}$/;
/** Experiment ids become subject tokens, so they may not contain `.`, `*`, `>` or whitespace. */
export const SUBJECT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * Which workers may run a task: `any` worker, or only those of one TensorFlow.js backend. The
 * route is the first token after `tasks`, and each route has its own durable consumer, so a worker
 * pulls only what it may run (a WorkQueue stream lets consumers share no subject).
 */
export type TaskRoute = (typeof EXECUTION_BACKENDS)[number];
export const TASK_ROUTES: readonly TaskRoute[] = EXECUTION_BACKENDS;

/** A task's place in its experiment; absent cycle/particle become `_` in its subject. */
export interface TaskSubjectParts {
  /** Default `any`. */
  route?: TaskRoute;
  experimentId: string;
  kind: string;
  cycle?: number;
  particle?: number;
  /** An analyze task's analysis id; it takes the cycle's place in the subject. */
  analysis?: number;
}

export interface FleetNames {
  readonly namespace: string;
  /** Every subject of the namespace (`swamp.>`, `t1.swamp.>`): the fleet's and the live feed's. */
  readonly allSubjects: string;

  /** WorkQueue stream of task messages; each queued task has its own subject. */
  readonly tasksStream: string;
  readonly tasksSubjects: string;
  /** The durable pull consumer of the `any` route, which every worker pulls from. */
  readonly workersConsumer: string;
  /** The durable pull consumer of a route: `any`'s is `workersConsumer`; each backend has its own. */
  routeConsumer(route: TaskRoute): string;
  /** The subjects a route's consumer takes (`swamp.tasks.<route>.>`). */
  routeTasksFilter(route: TaskRoute): string;
  taskSubject(parts: TaskSubjectParts): string;
  /** Matches every task subject of one experiment, on every route (for removal and listing). */
  experimentTasksFilter(experimentId: string): string;
  /**
   * Matches the task subjects of a version before task routes (`swamp.tasks.<experiment>.<kind>.<cycle>.<particle>`,
   * one token fewer than a routed subject), which no route's consumer takes.
   */
  readonly legacyTasksFilter: string;

  /** WorkQueue stream of task results, consumed durably by the coordinator. */
  readonly resultsStream: string;
  readonly resultsSubjects: string;
  readonly resultsConsumer: string;
  resultSubject(experimentId: string): string;

  /** WorkQueue stream of exhausted tasks: worker reports and the server's max-deliveries advisory. */
  readonly exhaustedStream: string;
  readonly exhaustedSubjects: string;
  readonly exhaustedConsumer: string;
  exhaustedSubject(experimentId: string): string;
  /** Published by nats-server when the `any` route's consumer gives up on a message. */
  readonly maxDeliveriesAdvisorySubject: string;
  /** The same advisory of every route's consumer. */
  readonly maxDeliveriesAdvisorySubjects: readonly string[];

  /** Plain (non-persistent) subjects. */
  metricsSubject(experimentId: string): string;
  readonly allMetricsSubject: string;
  readonly heartbeatSubject: string;
  readonly cancelSubject: string;
  /** A live-feed topic's events for one experiment (`topicRoutingKey` in this namespace). */
  liveFeedSubject(topic: TopicName, experimentId: string): string;

  /** JetStream Object Store bucket of artifacts, named by sha256. */
  readonly artifactsBucket: string;
}

export class InvalidNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidNameError";
  }
}

function requireToken(value: string, what: string): string {
  if (!SUBJECT_TOKEN_PATTERN.test(value)) {
    throw new InvalidNameError(`${what} ${JSON.stringify(value)} cannot be part of a NATS subject: use 1-100 letters, digits, '_' or '-'`);
  }
  return value;
}

function optionalIndexToken(value: number | undefined, what: string): string {
  if (value === undefined) return "_";
  if (!Number.isInteger(value) || value < 0) throw new InvalidNameError(`${what} must be a non-negative integer, got ${value}`);
  return String(value);
}

export function fleetNames(namespace = ""): FleetNames {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidNameError(`NATS namespace ${JSON.stringify(namespace)} is invalid: use at most 32 letters, digits, '_' or '-'`);
  }
  const subjectPrefix = namespace === "" ? "swamp" : `${namespace}.swamp`;
  const streamSuffix = namespace === "" ? "" : `_${namespace}`;
  const bucketSuffix = namespace === "" ? "" : `-${namespace}`;
  const tasksStream = `SWAMP_TASKS${streamSuffix}`;
  const workersConsumer = "SWAMP_WORKERS";
  const routeToken = (route: TaskRoute | undefined): TaskRoute => {
    if (route === undefined) return "any";
    if (!TASK_ROUTES.includes(route)) throw new InvalidNameError(`task route ${JSON.stringify(route)} is not one of ${TASK_ROUTES.join(", ")}`);
    return route;
  };
  const routeConsumer = (route: TaskRoute) => (routeToken(route) === "any" ? workersConsumer : `${workersConsumer}_${route}`);
  const advisory = (consumer: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${tasksStream}.${consumer}`;

  return {
    namespace,
    allSubjects: `${subjectPrefix}.>`,
    tasksStream,
    tasksSubjects: `${subjectPrefix}.tasks.>`,
    workersConsumer,
    routeConsumer,
    routeTasksFilter: (route) => `${subjectPrefix}.tasks.${routeToken(route)}.>`,
    taskSubject: (parts) =>
      [
        `${subjectPrefix}.tasks`,
        routeToken(parts.route),
        requireToken(parts.experimentId, "experiment id"),
        requireToken(parts.kind, "task kind"),
        // One subject per task: an analysis (never a cycle) is told apart by its id.
        optionalIndexToken(parts.analysis ?? parts.cycle, "cycle"),
        optionalIndexToken(parts.particle, "particle"),
      ].join("."),
    experimentTasksFilter: (experimentId) => `${subjectPrefix}.tasks.*.${requireToken(experimentId, "experiment id")}.>`,
    legacyTasksFilter: `${subjectPrefix}.tasks.*.*.*.*`,

    resultsStream: `SWAMP_RESULTS${streamSuffix}`,
    resultsSubjects: `${subjectPrefix}.results.>`,
    resultsConsumer: "SWAMP_RESULTS_RECORDER",
    resultSubject: (experimentId) => `${subjectPrefix}.results.${requireToken(experimentId, "experiment id")}`,

    exhaustedStream: `SWAMP_EXHAUSTED${streamSuffix}`,
    exhaustedSubjects: `${subjectPrefix}.exhausted.>`,
    exhaustedConsumer: "SWAMP_EXHAUSTION_WATCH",
    exhaustedSubject: (experimentId) => `${subjectPrefix}.exhausted.${requireToken(experimentId, "experiment id")}`,
    maxDeliveriesAdvisorySubject: advisory(workersConsumer),
    maxDeliveriesAdvisorySubjects: TASK_ROUTES.map((route) => advisory(routeConsumer(route))),

    metricsSubject: (experimentId) => `${subjectPrefix}.metrics.${requireToken(experimentId, "experiment id")}`,
    allMetricsSubject: `${subjectPrefix}.metrics.*`,
    heartbeatSubject: `${subjectPrefix}.workers.heartbeat`,
    cancelSubject: `${subjectPrefix}.control.cancel`,
    liveFeedSubject: (topic, experimentId) => `${subjectPrefix}.${topic}.${experimentId}`,

    artifactsBucket: `swamp-artifacts${bucketSuffix}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The live feed

/**
 * The typed topic map of the live feed. Every payload is plain JSON (no Dates, no class instances)
 * so that a PubSub shared between server replicas (NATS-backed in the fleet) can carry it as is.
 * Each topic is published per experiment: the routing key is `swamp.<topic>.<experimentId>`.
 */

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

/** The subject a topic's events for one experiment travel on (also a valid NATS subject; the empty namespace's `liveFeedSubject`). */
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
