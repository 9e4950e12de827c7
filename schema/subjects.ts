/**
 * Every NATS name the fleet uses: subjects, streams, consumers and the object store bucket.
 *
 * A namespace keeps several deployments (and concurrent tests) on one NATS server apart: with
 * namespace `t1`, subjects gain a leading `t1.` token and streams, consumers and buckets a `_t1` or
 * `-t1` suffix. The empty namespace gives the production names (`swamp.tasks.>`, `SWAMP_TASKS`, ...).
 */

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{0,32}$/;
/** Experiment ids become subject tokens, so they may not contain `.`, `*`, `>` or whitespace. */
export const SUBJECT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** A task's place in its experiment; absent cycle/particle become `_` in its subject. */
export interface TaskSubjectParts {
  experimentId: string;
  kind: string;
  cycle?: number;
  particle?: number;
  /** An analyze task's analysis id; it takes the cycle's place in the subject. */
  analysis?: number;
}

export interface FleetNames {
  readonly namespace: string;

  /** WorkQueue stream of task messages; each queued task has its own subject. */
  readonly tasksStream: string;
  readonly tasksSubjects: string;
  /** The one durable pull consumer every worker pulls from. */
  readonly workersConsumer: string;
  taskSubject(parts: TaskSubjectParts): string;
  /** Matches every task subject of one experiment (for removal and listing). */
  experimentTasksFilter(experimentId: string): string;

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
  /** Published by nats-server when the workers consumer gives up on a message. */
  readonly maxDeliveriesAdvisorySubject: string;

  /** Plain (non-persistent) subjects. */
  metricsSubject(experimentId: string): string;
  readonly allMetricsSubject: string;
  readonly heartbeatSubject: string;
  readonly cancelSubject: string;

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

  return {
    namespace,
    tasksStream,
    tasksSubjects: `${subjectPrefix}.tasks.>`,
    workersConsumer,
    taskSubject: (parts) =>
      [
        `${subjectPrefix}.tasks`,
        requireToken(parts.experimentId, "experiment id"),
        requireToken(parts.kind, "task kind"),
        // One subject per task: an analysis (never a cycle) is told apart by its id.
        optionalIndexToken(parts.analysis ?? parts.cycle, "cycle"),
        optionalIndexToken(parts.particle, "particle"),
      ].join("."),
    experimentTasksFilter: (experimentId) => `${subjectPrefix}.tasks.${requireToken(experimentId, "experiment id")}.>`,

    resultsStream: `SWAMP_RESULTS${streamSuffix}`,
    resultsSubjects: `${subjectPrefix}.results.>`,
    resultsConsumer: "SWAMP_RESULTS_RECORDER",
    resultSubject: (experimentId) => `${subjectPrefix}.results.${requireToken(experimentId, "experiment id")}`,

    exhaustedStream: `SWAMP_EXHAUSTED${streamSuffix}`,
    exhaustedSubjects: `${subjectPrefix}.exhausted.>`,
    exhaustedConsumer: "SWAMP_EXHAUSTION_WATCH",
    exhaustedSubject: (experimentId) => `${subjectPrefix}.exhausted.${requireToken(experimentId, "experiment id")}`,
    maxDeliveriesAdvisorySubject: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${tasksStream}.${workersConsumer}`,

    metricsSubject: (experimentId) => `${subjectPrefix}.metrics.${requireToken(experimentId, "experiment id")}`,
    allMetricsSubject: `${subjectPrefix}.metrics.*`,
    heartbeatSubject: `${subjectPrefix}.workers.heartbeat`,
    cancelSubject: `${subjectPrefix}.control.cancel`,

    artifactsBucket: `swamp-artifacts${bucketSuffix}`,
  };
}
