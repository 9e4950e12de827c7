/**
 * What the protocol knows about one kind of task, declared once in its descriptor file
 * (protocol/task-kinds/<kind>.ts) and registered in protocol/task-kinds.ts: the message schemas
 * schema/fleet-messages.ts validates with, the coordinates its task id is made of, where it runs in
 * an experiment's order, and the checks a task must pass beyond its schema. The handler that runs
 * it is registered on the worker side (worker/tasks/registry.ts), keyed by the same name, so the
 * server, which imports the descriptors, never loads TensorFlow.js.
 */
import type { z } from "zod";
import type { MessageProblem } from "../schema/fleet-message-fields.js";

/** The numbers that place a task within its experiment, in task-id order. */
export type TaskCoordinate = "cycle" | "particle" | "analysis";

export interface TaskKindDescriptor<
  Name extends string = string,
  TaskSchema extends z.ZodTypeAny = z.ZodTypeAny,
  SuccessSchema extends z.ZodTypeAny = z.ZodTypeAny,
> {
  readonly name: Name;
  /** Task id: `<experiment>:<name>` followed by `:<value>` for each coordinate. */
  readonly coordinates: readonly TaskCoordinate[];
  /** The task message (its `kind` is a literal of `name`). */
  readonly taskSchema: TaskSchema;
  /** The result of a task that succeeded (its `kind` is a literal of `name`). */
  readonly successSchema: SuccessSchema;
  /** Where this kind's tasks of `cycle` stand in the experiment's order (see protocol/plan.ts `stageOf`). */
  stage(cycle: number): number;
  /** What is wrong with a task beyond its schema (its coordinates and inputs against its config). */
  taskProblems(task: z.output<TaskSchema>): MessageProblem[];
}
