/**
 * The messages that travel between the server and the workers: tasks, their results, metric
 * batches, worker heartbeats, cancellations and exhausted-task reports.
 *
 * Every message is validated at the boundary: `parseX(json)` returns the typed value or every
 * problem found (field path + reason), so a malformed message is rejected whole, never half-applied.
 * Artifacts (weights, masks) travel as references by sha256; the bytes live in the artifact store.
 */
import { z } from "zod";
import { configHash, experimentConfigSchema, type ExperimentConfig } from "./config.js";
import { METRIC_POINT_LIMITS, metricPointSchema, type MetricPoint } from "./metrics.js";
import { SUBJECT_TOKEN_PATTERN } from "./subjects.js";

export const FLEET_MESSAGE_VERSION = 1;
export const TASK_KINDS = ["pretrain", "train-particle", "aggregate-cycle"] as const;
export type FleetTaskKind = (typeof TASK_KINDS)[number];

const version = z.literal(FLEET_MESSAGE_VERSION).default(FLEET_MESSAGE_VERSION);
const nonNegativeInt = z.number().int().nonnegative();
const finite = z.number().finite("must be a finite number");
const epochMillis = nonNegativeInt.describe("milliseconds since the Unix epoch");
const experimentId = z.string().regex(SUBJECT_TOKEN_PATTERN, "must be 1-100 letters, digits, '_' or '-'");
const workerId = z.string().regex(/^[A-Za-z0-9._:@-]{1,100}$/, "must be 1-100 letters, digits or '.', '_', ':', '@', '-'");
const taskId = z.string().min(1).max(300);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

// ---------------------------------------------------------------------------------------------
// Artifact references

export const artifactRefSchema = z
  .object({
    sha256,
    /** Byte length of the stored artifact. */
    size: nonNegativeInt,
    /** What the bytes are, e.g. `swamp-weights` or `swamp-mask`; informational. */
    format: z.string().min(1).max(64).optional(),
  })
  .strict();
export type ArtifactRef = z.output<typeof artifactRefSchema>;

// ---------------------------------------------------------------------------------------------
// Tasks

const taskCommon = {
  version,
  /** Deterministic (see `taskIdFor`), so a republished task has the same id. */
  taskId,
  experimentId,
  /** The filled experiment config. */
  config: experimentConfigSchema,
  /** `configHash(config)`; checked on parse so a task can never carry a config it was not made for. */
  configHash: sha256,
};

const pretrainTaskSchema = z
  .object({ ...taskCommon, kind: z.literal("pretrain"), inputs: z.object({}).strict().default({}) })
  .strict();

const trainParticleTaskSchema = z
  .object({
    ...taskCommon,
    kind: z.literal("train-particle"),
    cycle: nonNegativeInt,
    particle: nonNegativeInt,
    inputs: z
      .object({
        /** The rewind point θ_T0 written by the pretrain task. */
        rewindWeights: artifactRefSchema,
        /** The cycle's mask; null means dense (allowed in cycle 0 only). */
        mask: artifactRefSchema.nullable(),
      })
      .strict(),
  })
  .strict();

const aggregateCycleTaskSchema = z
  .object({
    ...taskCommon,
    kind: z.literal("aggregate-cycle"),
    cycle: nonNegativeInt,
    /** The last cycle is evaluated but not pruned further. */
    final: z.boolean(),
    inputs: z
      .object({
        /** The weights of particles 0..N-1, in particle order. */
        particleWeights: z.array(artifactRefSchema).min(1),
        mask: artifactRefSchema.nullable(),
      })
      .strict(),
  })
  .strict();

export const taskMessageSchema = z.discriminatedUnion("kind", [pretrainTaskSchema, trainParticleTaskSchema, aggregateCycleTaskSchema]);
export type PretrainTask = z.output<typeof pretrainTaskSchema>;
export type TrainParticleTask = z.output<typeof trainParticleTaskSchema>;
export type AggregateCycleTask = z.output<typeof aggregateCycleTaskSchema>;
export type TaskMessage = z.output<typeof taskMessageSchema>;

/** Where a task sits in its experiment; everything its id is made of. */
export interface TaskIdentity {
  experimentId: string;
  kind: FleetTaskKind;
  cycle?: number;
  particle?: number;
}

/** `exp:pretrain`, `exp:train-particle:<cycle>:<particle>`, `exp:aggregate-cycle:<cycle>`. */
export function taskIdFor(identity: TaskIdentity): string {
  switch (identity.kind) {
    case "pretrain":
      return `${identity.experimentId}:pretrain`;
    case "train-particle":
      return `${identity.experimentId}:train-particle:${identity.cycle}:${identity.particle}`;
    case "aggregate-cycle":
      return `${identity.experimentId}:aggregate-cycle:${identity.cycle}`;
  }
}

/** The identity a task id names, or undefined when it is not a task id. */
export function parseTaskId(id: string): TaskIdentity | undefined {
  const [experiment, kind, cycle, particle, ...rest] = id.split(":");
  if (experiment === undefined || !SUBJECT_TOKEN_PATTERN.test(experiment) || rest.length > 0) return undefined;
  const index = (text: string | undefined) => (text !== undefined && /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : undefined);
  if (kind === "pretrain" && cycle === undefined) return { experimentId: experiment, kind };
  if (kind === "aggregate-cycle" && index(cycle) !== undefined && particle === undefined) {
    return { experimentId: experiment, kind, cycle: index(cycle) };
  }
  if (kind === "train-particle" && index(cycle) !== undefined && index(particle) !== undefined) {
    return { experimentId: experiment, kind, cycle: index(cycle), particle: index(particle) };
  }
  return undefined;
}

export function taskIdentityOf(task: TaskMessage): TaskIdentity {
  switch (task.kind) {
    case "pretrain":
      return { experimentId: task.experimentId, kind: task.kind };
    case "train-particle":
      return { experimentId: task.experimentId, kind: task.kind, cycle: task.cycle, particle: task.particle };
    case "aggregate-cycle":
      return { experimentId: task.experimentId, kind: task.kind, cycle: task.cycle };
  }
}

type TaskFields<T extends TaskMessage> = Omit<T, "version" | "taskId" | "configHash"> & { config: ExperimentConfig };
export type TaskDraft = TaskFields<PretrainTask> | TaskFields<TrainParticleTask> | TaskFields<AggregateCycleTask>;

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
  const lastCycle = task.config.pruning.cycles;
  const particles = task.config.method.particles;
  if (task.kind !== "pretrain") {
    if (task.cycle > lastCycle) problems.push({ path: "cycle", message: `must be at most config.pruning.cycles (${lastCycle})` });
    if (task.inputs.mask === null && task.cycle > 0) problems.push({ path: "inputs.mask", message: "may be null (dense) only in cycle 0" });
  }
  if (task.kind === "train-particle" && task.particle >= particles) {
    problems.push({ path: "particle", message: `must be less than config.method.particles (${particles})` });
  }
  if (task.kind === "aggregate-cycle") {
    if (task.inputs.particleWeights.length !== particles) {
      problems.push({ path: "inputs.particleWeights", message: `must hold one reference per particle (${particles})` });
    }
    if (task.final !== (task.cycle === lastCycle)) {
      problems.push({ path: "final", message: `must be ${task.cycle === lastCycle} for cycle ${task.cycle} of 0..${lastCycle}` });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Results

const layerCountSchema = z
  .object({ layer: z.string().min(1), alive: nonNegativeInt, total: nonNegativeInt })
  .strict()
  .refine((count) => count.alive <= count.total, { message: "alive must not exceed total", path: ["alive"] });

const resultCommon = {
  version,
  taskId,
  experimentId,
  workerId,
  /** The delivery of the task that produced this result (1 = first). */
  attempt: z.number().int().positive(),
  finishedAt: epochMillis,
};

const accuracy = finite.min(0).max(1);

const pretrainSuccessSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("pretrain"),
    outputs: z.object({ weights: artifactRefSchema }).strict(),
    numbers: z.object({ seconds: finite.nonnegative() }).strict(),
  })
  .strict();

const trainParticleSuccessSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("train-particle"),
    cycle: nonNegativeInt,
    particle: nonNegativeInt,
    outputs: z.object({ weights: artifactRefSchema }).strict(),
    numbers: z
      .object({
        orderSeed: nonNegativeInt.max(2 ** 32 - 1),
        accuracy,
        loss: finite,
        epochLosses: z.array(finite),
        swaSnapshots: nonNegativeInt,
        seconds: finite.nonnegative(),
        examplesPerSecond: finite.nonnegative(),
      })
      .strict(),
  })
  .strict();

const aggregateCycleSuccessSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("aggregate-cycle"),
    cycle: nonNegativeInt,
    outputs: z
      .object({
        weights: artifactRefSchema,
        /** The mask of the next cycle; null after the final cycle. */
        nextMask: artifactRefSchema.nullable(),
        /**
         * The averaged model as `swamp run` writes it for `tf.loadLayersModel`: `model.json`
         * (its manifest names the weights file `weights.bin`) and that weights file. Optional:
         * workers from before they were stored leave them out.
         */
        tfjsModel: artifactRefSchema.optional(),
        tfjsWeights: artifactRefSchema.optional(),
      })
      .strict(),
    numbers: z
      .object({
        accuracy,
        loss: finite,
        sparsity: finite.min(0).max(1),
        alive: nonNegativeInt,
        total: nonNegativeInt,
        layers: z.array(layerCountSchema),
        seconds: finite.nonnegative(),
      })
      .strict()
      .refine((numbers) => numbers.alive <= numbers.total, { message: "alive must not exceed total", path: ["alive"] }),
  })
  .strict();

const taskSuccessSchema = z.discriminatedUnion("kind", [pretrainSuccessSchema, trainParticleSuccessSchema, aggregateCycleSuccessSchema]);

const taskFailureSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("failed"),
    kind: z.enum(TASK_KINDS),
    /** Why the task cannot succeed, for people: it becomes the particle's and experiment's error. */
    error: z.string().min(1).max(10_000),
  })
  .strict();

export type PretrainSuccess = z.output<typeof pretrainSuccessSchema>;
export type TrainParticleSuccess = z.output<typeof trainParticleSuccessSchema>;
export type AggregateCycleSuccess = z.output<typeof aggregateCycleSuccessSchema>;
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
  if (result.outcome === "succeeded" && result.kind !== "pretrain" && identity.cycle !== result.cycle) {
    problems.push({ path: "cycle", message: "does not match taskId" });
  }
  if (result.outcome === "succeeded" && result.kind === "train-particle" && identity.particle !== result.particle) {
    problems.push({ path: "particle", message: "does not match taskId" });
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

export interface MessageProblem {
  /** Dotted field path, e.g. `inputs.mask.sha256`; `(root)` for the whole message. */
  path: string;
  message: string;
}

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
