/**
 * The kinds of work an experiment splits into, with their inputs and outputs as plain data
 * (weights inline), as each handler (worker/tasks/<kind>.ts) declares them. `swamp run` passes
 * them between threads; the fleet passes artifact references instead and resolves them to these
 * before calling a handler (worker/fleet/execute-task.ts, by the descriptor's artifact fields).
 */
import type { TASK_HANDLERS } from "./registry.js";

type Handlers = typeof TASK_HANDLERS;
export type TaskKind = keyof Handlers;
export type InputOf<K extends TaskKind> = Parameters<Handlers[K]>[1];
export type OutputOf<K extends TaskKind> = ReturnType<Handlers[K]>;
export type TaskInput = InputOf<TaskKind>;
export type TaskOutput = OutputOf<TaskKind>;
