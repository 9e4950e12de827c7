/**
 * Every task kind, in one list: adding a kind is its descriptor file in task-kinds/ plus a line
 * here (and its handler's line in worker/tasks/registry.ts).
 */
import { aggregateCycleKind } from "./task-kinds/aggregate-cycle.js";
import { analyzeKind } from "./task-kinds/analyze.js";
import { pretrainKind } from "./task-kinds/pretrain.js";
import { trainParticleKind } from "./task-kinds/train-particle.js";

export const TASK_KIND_DESCRIPTORS = [pretrainKind, trainParticleKind, aggregateCycleKind, analyzeKind] as const;

type Descriptors = typeof TASK_KIND_DESCRIPTORS;
/** The tuple of each descriptor's `field`, in registry order (zod's unions and enums need tuples). */
type Pluck<T extends readonly unknown[], Field extends string> = { -readonly [I in keyof T]: T[I] extends { readonly [F in Field]: infer V } ? V : never };
export type FleetTaskKind = Descriptors[number]["name"];
export type TaskKindDescriptorOf<K extends FleetTaskKind> = Extract<Descriptors[number], { name: K }>;

export const TASK_KINDS = TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.name) as unknown as Pluck<Descriptors, "name">;
/** The task schemas, in registry order (a tuple, for zod's discriminated union). */
export const TASK_SCHEMAS = TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.taskSchema) as unknown as Pluck<Descriptors, "taskSchema">;
/** The schemas of succeeded results, in registry order. */
export const SUCCESS_SCHEMAS = TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.successSchema) as unknown as Pluck<Descriptors, "successSchema">;

const BY_NAME = new Map<string, Descriptors[number]>(TASK_KIND_DESCRIPTORS.map((descriptor) => [descriptor.name, descriptor]));

/** The descriptor of a kind; undefined for a name no descriptor has. */
export function taskKindNamed(name: string): Descriptors[number] | undefined {
  return BY_NAME.get(name);
}

export function taskKind<K extends FleetTaskKind>(name: K): TaskKindDescriptorOf<K> {
  return BY_NAME.get(name) as TaskKindDescriptorOf<K>;
}
