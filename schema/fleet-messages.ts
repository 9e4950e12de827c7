/**
 * The messages that travel between the server and the workers: tasks, their results, metric
 * batches, worker heartbeats, cancellations and exhausted-task reports.
 *
 * Every message is validated at the boundary: `parseX(json)` returns the typed value or every
 * problem found (field path + reason), so a malformed message is rejected whole, never half-applied.
 * Artifacts (weights, masks) travel as references by sha256; the bytes live in the artifact store.
 */
import { z } from "zod";
import { configHash, type ExperimentConfig } from "./config.js";
import { METRIC_POINT_LIMITS, metricPointSchema, type MetricPoint } from "./metrics.js";
import { SUBJECT_TOKEN_PATTERN } from "./subjects.js";
import {
  epochMillis,
  experimentId,
  FLEET_MESSAGE_VERSION,
  nonNegativeInt,
  resultCommon,
  taskId,
  version,
  workerId,
  type MessageProblem,
} from "./fleet-message-fields.js";
import { SUCCESS_SCHEMAS, TASK_KINDS, TASK_SCHEMAS, taskKindNamed, type FleetTaskKind, type TaskKindDescriptorOf } from "../protocol/task-kinds.js";

export { FLEET_MESSAGE_VERSION, TASK_KINDS, type FleetTaskKind, type MessageProblem };
export { artifactRefSchema, type ArtifactRef } from "./fleet-message-fields.js";

// ---------------------------------------------------------------------------------------------
// Tasks: each kind's schema is in its descriptor (protocol/task-kinds/)

export const taskMessageSchema = z.discriminatedUnion("kind", TASK_SCHEMAS);
export type TaskMessage = z.output<typeof taskMessageSchema>;
/** The task message of one kind. */
export type TaskOf<K extends FleetTaskKind> = z.output<TaskKindDescriptorOf<K>["taskSchema"]>;
export type PretrainTask = TaskOf<"pretrain">;
export type TrainParticleTask = TaskOf<"train-particle">;
export type AggregateCycleTask = TaskOf<"aggregate-cycle">;
export type AnalyzeTask = TaskOf<"analyze">;

/** Where a task sits in its experiment; everything its id is made of. */
export interface TaskIdentity {
  experimentId: string;
  kind: FleetTaskKind;
  cycle?: number;
  particle?: number;
  analysis?: number;
}

/** `<experiment>:<kind>` and the kind's coordinates: `exp:pretrain`, `exp:train-particle:<cycle>:<particle>`, `exp:aggregate-cycle:<cycle>`. */
export function taskIdFor(identity: TaskIdentity): string {
  const coordinates = taskKindNamed(identity.kind)!.coordinates.map((coordinate) => `:${identity[coordinate]}`);
  return `${identity.experimentId}:${identity.kind}${coordinates.join("")}`;
}

/** The identity a task id names, or undefined when it is not a task id. */
export function parseTaskId(id: string): TaskIdentity | undefined {
  const [experiment, kind, ...values] = id.split(":");
  if (experiment === undefined || !SUBJECT_TOKEN_PATTERN.test(experiment)) return undefined;
  const descriptor = kind === undefined ? undefined : taskKindNamed(kind);
  if (!descriptor || values.length !== descriptor.coordinates.length || !values.every((text) => /^(0|[1-9][0-9]*)$/.test(text))) return undefined;
  const identity: TaskIdentity = { experimentId: experiment, kind: descriptor.name };
  descriptor.coordinates.forEach((coordinate, i) => (identity[coordinate] = Number(values[i])));
  return identity;
}

export function taskIdentityOf(task: TaskMessage): TaskIdentity {
  const identity: TaskIdentity = { experimentId: task.experimentId, kind: task.kind };
  for (const coordinate of taskKindNamed(task.kind)!.coordinates) identity[coordinate] = (task as Record<string, unknown>)[coordinate] as number;
  return identity;
}

type TaskFields<T extends TaskMessage> = Omit<T, "version" | "taskId" | "configHash" | "backend"> & { config: ExperimentConfig; backend?: TaskMessage["backend"] };
/** A task before its id, version and config hash are filled in, of any kind (distributed over the kinds). */
export type TaskDraft = TaskMessage extends infer T ? (T extends TaskMessage ? TaskFields<T> : never) : never;

/** Fills the version, the deterministic task id and the config hash, then validates the task. */
export function createTaskMessage(draft: TaskDraft): TaskMessage {
  const candidate = {
    ...draft,
    version: FLEET_MESSAGE_VERSION,
    taskId: taskIdFor(taskIdentityOf(draft as TaskMessage)),
    configHash: configHash(draft.config),
  };
  return requireMessage("task", parseTaskMessage(candidate));
}

function taskInvariantProblems(task: TaskMessage): MessageProblem[] {
  const problems: MessageProblem[] = [];
  const expectedId = taskIdFor(taskIdentityOf(task));
  if (task.taskId !== expectedId) problems.push({ path: "taskId", message: `must be ${JSON.stringify(expectedId)} for this task` });
  if (configHash(task.config) !== task.configHash) problems.push({ path: "configHash", message: "does not match config" });
  const descriptor = taskKindNamed(task.kind)! as { taskProblems(task: TaskMessage): MessageProblem[] };
  problems.push(...descriptor.taskProblems(task));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Results: a succeeded result's schema is in its kind's descriptor

const taskSuccessSchema = z.discriminatedUnion("kind", SUCCESS_SCHEMAS);

const taskFailureSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("failed"),
    kind: z.enum(TASK_KINDS),
    /** Why the task cannot succeed, for people: it becomes the particle's and experiment's error. */
    error: z.string().min(1).max(10_000),
  })
  .strict();

/** The succeeded result of one kind. */
export type SuccessOf<K extends FleetTaskKind> = z.output<TaskKindDescriptorOf<K>["successSchema"]>;
export type PretrainSuccess = SuccessOf<"pretrain">;
export type TrainParticleSuccess = SuccessOf<"train-particle">;
export type AggregateCycleSuccess = SuccessOf<"aggregate-cycle">;
export type AnalyzeSuccess = SuccessOf<"analyze">;
export type TaskSuccess = z.output<typeof taskSuccessSchema>;
export type TaskFailure = z.output<typeof taskFailureSchema>;
export type TaskResult = TaskSuccess | TaskFailure;
/** What a publisher may pass: `version` (and other defaults) may be left out. */
export type TaskResultInput = z.input<typeof taskSuccessSchema> | z.input<typeof taskFailureSchema>;

function resultInvariantProblems(result: TaskResult): MessageProblem[] {
  const identity = parseTaskId(result.taskId);
  if (identity === undefined) return [{ path: "taskId", message: "is not a task id (see taskIdFor)" }];
  const problems: MessageProblem[] = [];
  if (identity.experimentId !== result.experimentId) problems.push({ path: "experimentId", message: "does not match taskId" });
  if (identity.kind !== result.kind) problems.push({ path: "kind", message: "does not match taskId" });
  if (result.outcome === "succeeded") {
    for (const coordinate of taskKindNamed(result.kind)!.coordinates) {
      if (identity[coordinate] !== (result as Record<string, unknown>)[coordinate]) problems.push({ path: coordinate, message: "does not match taskId" });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Metric batches, heartbeats, cancellation, exhausted tasks

export const metricBatchSchema = z
  .object({
    version,
    experimentId,
    taskId,
    workerId,
    attempt: z.number().int().positive(),
    cycle: nonNegativeInt.max(METRIC_POINT_LIMITS.maxCycle),
    /** Absent for the averaged model's metrics (aggregate-cycle). */
    particle: nonNegativeInt.max(METRIC_POINT_LIMITS.maxParticle).optional(),
    /** 0, 1, 2, ... per task attempt; a consumer drops a (taskId, attempt, sequence) it has seen. */
    sequence: nonNegativeInt,
    points: z.array(metricPointSchema).min(1).max(10_000),
  })
  .strict()
  .superRefine((batch, ctx) => {
    batch.points.forEach((point, i) => {
      if (point.cycle !== batch.cycle) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["points", i, "cycle"], message: `must equal the batch's cycle (${batch.cycle})` });
      if (point.particle !== batch.particle) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["points", i, "particle"], message: `must equal the batch's particle (${batch.particle ?? "absent"})` });
      }
    });
  });
export type MetricBatch = z.output<typeof metricBatchSchema> & { points: MetricPoint[] };
export type MetricBatchInput = z.input<typeof metricBatchSchema>;

export const workerHeartbeatSchema = z
  .object({
    version,
    workerId,
    host: z.string().min(1).max(255),
    /** TensorFlow.js backend, e.g. `wasm`, `cpu`, `tensorflow`. */
    backend: z.string().min(1).max(64),
    /** e.g. `cpu (2 cores)` or a GPU's name. */
    device: z.string().min(1).max(255),
    slots: z.number().int().positive(),
    busy: nonNegativeInt,
    runningTaskIds: z.array(taskId).default([]),
    /** True in the last heartbeat of a worker that is shutting down. */
    stopping: z.boolean().default(false),
    time: epochMillis,
  })
  .strict()
  .refine((heartbeat) => heartbeat.busy <= heartbeat.slots, { message: "must not exceed slots", path: ["busy"] });
export type WorkerHeartbeat = z.output<typeof workerHeartbeatSchema>;
export type WorkerHeartbeatInput = z.input<typeof workerHeartbeatSchema>;

export const cancelMessageSchema = z
  .object({ version, experimentId, reason: z.string().max(1000).optional(), time: epochMillis })
  .strict();
export type CancelMessage = z.output<typeof cancelMessageSchema>;
export type CancelMessageInput = z.input<typeof cancelMessageSchema>;

/** A task that will not be delivered again: it failed, was terminated or was never acknowledged. */
export const taskExhaustionSchema = z
  .object({
    version,
    taskId,
    experimentId,
    task: taskMessageSchema,
    reason: z.string().min(1).max(10_000),
    /** Deliveries made before the task was given up. */
    deliveries: nonNegativeInt,
    /** The task message's sequence in the tasks stream (NATS); absent in the embedded queue. */
    streamSequence: z.number().int().positive().optional(),
  })
  .strict();
export type TaskExhaustion = z.output<typeof taskExhaustionSchema>;

// ---------------------------------------------------------------------------------------------
// Parsing


export type MessageParseResult<T> = { ok: true; value: T } | { ok: false; problems: MessageProblem[] };

export type FleetMessageType = "task" | "result" | "metric batch" | "heartbeat" | "cancel" | "task exhaustion";

export class InvalidMessageError extends Error {
  constructor(
    readonly messageType: FleetMessageType,
    readonly problems: MessageProblem[],
  ) {
    super(`invalid ${messageType} message: ${describeProblems(problems)}`);
    this.name = "InvalidMessageError";
  }
}

export function describeProblems(problems: MessageProblem[]): string {
  return problems.map((problem) => `${problem.path}: ${problem.message}`).join("; ");
}

export function requireMessage<T>(type: FleetMessageType, result: MessageParseResult<T>): T {
  if (!result.ok) throw new InvalidMessageError(type, result.problems);
  return result.value;
}

function problemsOf(error: z.ZodError): MessageProblem[] {
  return error.issues.map((issue) => ({ path: issue.path.length > 0 ? issue.path.join(".") : "(root)", message: describeIssue(issue) }));
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined") return "is required";
  if (issue.code === z.ZodIssueCode.invalid_enum_value) return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`;
  if (issue.code === z.ZodIssueCode.invalid_union_discriminator) return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`;
  if (issue.code === z.ZodIssueCode.invalid_literal) return `must be ${JSON.stringify(issue.expected)}`;
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  return issue.message;
}

function parseWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, json: unknown, invariants?: (value: T) => MessageProblem[]): MessageParseResult<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, problems: problemsOf(parsed.error) };
  const problems = invariants?.(parsed.data) ?? [];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: parsed.data };
}

export function parseTaskMessage(json: unknown): MessageParseResult<TaskMessage> {
  return parseWith(taskMessageSchema, json, taskInvariantProblems);
}

/** Dispatches on `outcome` first so that a failure is never reported against a success's fields. */
export function parseTaskResult(json: unknown): MessageParseResult<TaskResult> {
  const outcome = json !== null && typeof json === "object" ? (json as { outcome?: unknown }).outcome : undefined;
  if (outcome === "failed") return parseWith<TaskResult>(taskFailureSchema, json, resultInvariantProblems);
  if (outcome === "succeeded") return parseWith<TaskResult>(taskSuccessSchema, json, resultInvariantProblems);
  return { ok: false, problems: [{ path: json !== null && typeof json === "object" ? "outcome" : "(root)", message: 'must be "succeeded" or "failed"' }] };
}

export function parseMetricBatch(json: unknown): MessageParseResult<MetricBatch> {
  return parseWith(metricBatchSchema, json) as MessageParseResult<MetricBatch>;
}

export function parseWorkerHeartbeat(json: unknown): MessageParseResult<WorkerHeartbeat> {
  return parseWith(workerHeartbeatSchema, json);
}

export function parseCancelMessage(json: unknown): MessageParseResult<CancelMessage> {
  return parseWith(cancelMessageSchema, json);
}

export function parseTaskExhaustion(json: unknown): MessageParseResult<TaskExhaustion> {
  return parseWith(taskExhaustionSchema, json, (exhaustion) => {
    const problems = taskInvariantProblems(exhaustion.task).map((p) => ({ path: `task.${p.path}`, message: p.message }));
    if (exhaustion.task.taskId !== exhaustion.taskId) problems.push({ path: "taskId", message: "does not match task.taskId" });
    if (exhaustion.task.experimentId !== exhaustion.experimentId) problems.push({ path: "experimentId", message: "does not match task.experimentId" });
    return problems;
  });
}

/** Parses JSON text (or UTF-8 bytes) and then the message; a syntax error is a `(root)` problem. */
export function parseJsonMessage<T>(text: string | Uint8Array, parse: (json: unknown) => MessageParseResult<T>): MessageParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (error) {
    return { ok: false, problems: [{ path: "(root)", message: `not JSON: ${(error as Error).message}` }] };
  }
  return parse(json);
}
