/**
 * One handler per task kind, keyed by its descriptor's name (protocol/task-kinds.ts): adding a kind
 * is its handler file plus a line here. Handlers run on task threads, where TF.js is loaded.
 */
import type { FleetTaskKind } from "../../protocol/task-kinds.js";
import type { EngineContext } from "../engine/context.js";
import { aggregateCycle } from "./aggregate-cycle.js";
import { pretrain } from "./pretrain.js";
import { trainParticle } from "./train-particle.js";
import type { TaskInput, TaskOutput } from "./types.js";

export const TASK_HANDLERS = {
  pretrain,
  "train-particle": trainParticle,
  "aggregate-cycle": aggregateCycle,
} satisfies { [K in TaskThreadKind]: (context: EngineContext, input: never) => { kind: K } };

/** Analyses are asynchronous and build model sessions of their own, so they run on an analysis thread (worker/fleet/run-analysis-task.ts). */
export { analyze as ANALYZE_HANDLER } from "./analyze.js";
type TaskThreadKind = Exclude<FleetTaskKind, "analyze">;

export function runTask(context: EngineContext, input: TaskInput): TaskOutput {
  const handler = (TASK_HANDLERS as Record<string, unknown>)[input.kind] as ((context: EngineContext, input: TaskInput) => TaskOutput) | undefined;
  if (!handler) throw new Error(`unknown task kind "${(input as { kind: string }).kind}"`);
  return handler(context, input);
}
