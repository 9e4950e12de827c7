/**
 * One handler per task kind: adding a kind is a file plus a line here. The analyze handler
 * (./analyze.ts) is asynchronous and runs on a thread of its own, so it is listed apart.
 */
import type { EngineContext } from "../engine/context.js";
import { aggregateCycle } from "./aggregate-cycle.js";
import { pretrain } from "./pretrain.js";
import { trainParticle } from "./train-particle.js";
import type { InputOf, OutputOf, TaskInput, TaskKind, TaskOutput } from "./types.js";

type Handlers = { [K in TaskKind]: (context: EngineContext, input: InputOf<K>) => OutputOf<K> };

export const TASK_HANDLERS: Handlers = {
  pretrain,
  "train-particle": trainParticle,
  "aggregate-cycle": aggregateCycle,
};

export { analyze as ANALYZE_HANDLER } from "./analyze.js";

export function runTask(context: EngineContext, input: TaskInput): TaskOutput {
  const handler = TASK_HANDLERS[input.kind] as (context: EngineContext, input: TaskInput) => TaskOutput;
  if (!handler) throw new Error(`unknown task kind "${(input as { kind: string }).kind}"`);
  return handler(context, input);
}
