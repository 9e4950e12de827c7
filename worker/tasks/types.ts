/**
 * The kinds of work an experiment splits into, with their inputs and outputs as plain data
 * (weights inline), as each handler (worker/tasks/<kind>.ts) declares them. `swamp run` passes
 * them between threads; the fleet passes artifact references instead and resolves them to these
 * before calling a handler (worker/fleet/execute-task.ts, by the descriptor's artifact fields).
 */
import type { WORKER_TASK_KINDS } from "./registry.js";

type Handlers = { [K in keyof typeof WORKER_TASK_KINDS]: Awaited<ReturnType<(typeof WORKER_TASK_KINDS)[K]["handler"]>> };
export type TaskKind = keyof Handlers;
export type InputOf<K extends TaskKind> = Parameters<Handlers[K]>[1];
export type OutputOf<K extends TaskKind> = ReturnType<Handlers[K]>;
export type TaskInput = InputOf<TaskKind>;
export type TaskOutput = OutputOf<TaskKind>;
