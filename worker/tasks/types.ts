/**
 * The kinds of work an experiment splits into, with their inputs and outputs as plain data
 * (weights inline), as each handler (worker/tasks/<kind>.ts) declares them. Tasks carry artifact
 * references instead (to the artifact store in the fleet, to files of the run directory in
 * `swamp run`), resolved to these before a handler is called (worker/run/task-io.ts, by the
 * descriptor's artifact fields).
 */
import type { WORKER_TASK_KINDS } from "./registry.js";

type Handlers = { [K in keyof typeof WORKER_TASK_KINDS]: Awaited<ReturnType<(typeof WORKER_TASK_KINDS)[K]["handler"]>> };
export type TaskKind = keyof Handlers;
export type InputOf<K extends TaskKind> = Parameters<Handlers[K]>[1];
export type OutputOf<K extends TaskKind> = ReturnType<Handlers[K]>;
export type TaskInput = InputOf<TaskKind>;
export type TaskOutput = OutputOf<TaskKind>;
