/**
 * The worker side of every task kind, keyed by its descriptor's name (protocol/task-kinds.ts):
 * adding a kind is its handler file (with its `swamp run` hooks beside it, for a kind of the plan)
 * plus a line here. Handlers run on task threads, where TF.js is loaded, and are loaded on first
 * use, so `swamp run`'s main thread, which reads only the hooks (worker/run/local-kind.ts), does
 * not load TF.js.
 */
import type { FleetTaskKind, PlannedTaskKind } from "../../protocol/task-kinds.js";
import type { EngineContext } from "../engine/context.js";
import type { LocalKindRun } from "../run/local-kind.js";
import { aggregateCycleLocalRun } from "./aggregate-cycle-local-run.js";
import { pretrainLocalRun } from "./pretrain-local-run.js";
import { trainParticleLocalRun } from "./train-particle-local-run.js";
import type { TaskInput, TaskOutput } from "./types.js";

export const WORKER_TASK_KINDS = {
  pretrain: planned(async () => (await import("./pretrain.js")).pretrain, pretrainLocalRun),
  "train-particle": planned(async () => (await import("./train-particle.js")).trainParticle, trainParticleLocalRun),
  "aggregate-cycle": planned(async () => (await import("./aggregate-cycle.js")).aggregateCycle, aggregateCycleLocalRun),
  // Only `swamp run` asks for it, beside an aggregate (aggregate-cycle-local-run.ts's split).
  "aggregate-profile": { handler: async () => (await import("./aggregate-profile.js")).aggregateProfile, localRun: undefined },
} satisfies {
  [K in TaskThreadKind]: {
    handler: () => Promise<(context: EngineContext, input: never) => { kind: K }>;
    /** How `swamp run` runs the kind; every kind of the plan has one. */
    localRun: K extends PlannedTaskKind ? LocalKindRun<never> : undefined;
  };
};

/** A kind of the plan: its handler (loaded on first use), and `swamp run`'s hooks for that handler's output. */
function planned<Input, Output>(handler: () => Promise<(context: EngineContext, input: Input) => Output>, localRun: LocalKindRun<Output>) {
  return { handler, localRun };
}

/**
 * The fleet's kinds, and work `swamp run` splits off a task to run on another of its threads.
 * Analyses are not among them: asynchronous and building model sessions of their own, they run on
 * an analysis thread (worker/fleet/analysis-thread.ts calls ./analyze.ts).
 */
type TaskThreadKind = Exclude<FleetTaskKind, "analyze"> | "aggregate-profile";

export async function runTask(context: EngineContext, input: TaskInput): Promise<TaskOutput> {
  const kind = (WORKER_TASK_KINDS as Record<string, { handler: () => Promise<(context: EngineContext, input: TaskInput) => TaskOutput> } | undefined>)[input.kind];
  if (!kind) throw new Error(`unknown task kind "${(input as { kind: string }).kind}"`);
  return (await kind.handler())(context, input);
}

/** `swamp run`'s hooks for a kind of the plan. */
export function localKindRun(kind: string): LocalKindRun<unknown> {
  const localRun = (WORKER_TASK_KINDS as Record<string, { localRun?: LocalKindRun<never> } | undefined>)[kind]?.localRun;
  if (!localRun) throw new Error(`task kind "${kind}" is planned but has no \`swamp run\` hooks (localRun in worker/tasks/registry.ts)`);
  return localRun as LocalKindRun<unknown>;
}
