/**
 * The fields fleet messages are built from, shared by the message schemas (fleet-messages.ts) and
 * the task-kind descriptors (protocol/task-kinds/), which declare each kind's task and result.
 */
import { z } from "zod";
import { BACKEND_NAMES, EXECUTION_BACKENDS, experimentConfigSchema } from "./config.js";
import { SUBJECT_TOKEN_PATTERN } from "./subjects.js";

export const FLEET_MESSAGE_VERSION = 1;

export const version = z.literal(FLEET_MESSAGE_VERSION).default(FLEET_MESSAGE_VERSION);
export const nonNegativeInt = z.number().int().nonnegative();
export const finite = z.number().finite("must be a finite number");
export const epochMillis = nonNegativeInt.describe("milliseconds since the Unix epoch");
export const experimentId = z.string().regex(SUBJECT_TOKEN_PATTERN, "must be 1-100 letters, digits, '_' or '-'");
export const workerId = z.string().regex(/^[A-Za-z0-9._:@-]{1,100}$/, "must be 1-100 letters, digits or '.', '_', ':', '@', '-'");
export const taskId = z.string().min(1).max(300);
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
export const accuracy = finite.min(0).max(1);

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

/** Fields of every task message. */
export const taskCommon = {
  version,
  /** Deterministic (see `taskIdFor`), so a republished task has the same id. */
  taskId,
  experimentId,
  /** The filled experiment config. */
  config: experimentConfigSchema,
  /** `configHash(config)`; checked on parse so a task can never carry a config it was not made for. */
  configHash: sha256,
  /**
   * The backend a worker must run to take the task (its subject's route): the one the experiment
   * requires or was pinned to by its first result, else `any`.
   */
  backend: z.enum(EXECUTION_BACKENDS).default("any"),
};

/** Fields of every task result, succeeded or failed. */
export const resultCommon = {
  version,
  taskId,
  experimentId,
  workerId,
  /** The delivery of the task that produced this result (1 = first). */
  attempt: z.number().int().positive(),
  finishedAt: epochMillis,
  /** The TensorFlow.js backend that computed it; an experiment's first recorded result pins it there. */
  backend: z.enum(BACKEND_NAMES).optional(),
};

export const layerCountSchema = z
  .object({ layer: z.string().min(1), alive: nonNegativeInt, total: nonNegativeInt })
  .strict()
  .refine((count) => count.alive <= count.total, { message: "alive must not exceed total", path: ["alive"] });

/** One thing wrong with a message: where and why. */
export interface MessageProblem {
  /** Dotted field path, e.g. `inputs.mask.sha256`; `(root)` for the whole message. */
  path: string;
  message: string;
}
