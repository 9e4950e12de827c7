/**
 * Every task kind, in one list: adding a kind is its descriptor file in task-kinds/ plus a line
 * here, and its handler file plus its line in worker/tasks/registry.ts (where a kind of the plan
 * also registers its `swamp run` hooks, beside its handler; the compiler asks for them).
 */
import { aggregateCycleKind } from "./task-kinds/aggregate-cycle.js";
import { analyzeKind } from "./task-kinds/analyze.js";
import { pretrainKind } from "./task-kinds/pretrain.js";
import { trainParticleKind } from "./task-kinds/train-particle.js";
import type { ExperimentConfig } from "../schema/config.js";
import type { ArtifactRef } from "../schema/fleet-message-fields.js";
import type { ResultVerdict, TaskCoordinate, TaskKindDescriptor, TaskPlace } from "./task-kind.js";

export const TASK_KIND_DESCRIPTORS = [pretrainKind, trainParticleKind, aggregateCycleKind, analyzeKind] as const;

type Descriptors = typeof TASK_KIND_DESCRIPTORS;
/** The tuple of each descriptor's `field`, in registry order (zod's unions and enums need tuples). */
type Pluck<T extends readonly unknown[], Field extends string> = { -readonly [I in keyof T]: T[I] extends { readonly [F in Field]: infer V } ? V : never };
export type FleetTaskKind = Descriptors[number]["name"];
/** The kinds of every experiment's plan (those with a `plan`); the others are queued on request. */
export type PlannedTaskKind = Extract<Descriptors[number], { readonly plan: object }>["name"];
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

/** The descriptor as the generic code reads it (every optional field, no kind-specific types). */
export function descriptorOf(name: string): TaskKindDescriptor {
  const descriptor = BY_NAME.get(name);
  if (!descriptor) throw new Error(`unknown task kind "${name}"`);
  return descriptor as unknown as TaskKindDescriptor;
}

/** The coordinates a task, identity or result names. */
export function placeOf(kind: string, message: object): TaskPlace {
  const place: TaskPlace = {};
  for (const coordinate of descriptorOf(kind).coordinates) place[coordinate] = (message as Partial<Record<TaskCoordinate, number>>)[coordinate];
  return place;
}

/** A task for people, in errors: "particle 2 of cycle 3". */
export function describeTask(identity: { kind: string } & TaskPlace): string {
  const descriptor = descriptorOf(identity.kind);
  if (descriptor.describe) return descriptor.describe(identity);
  return [descriptor.name, ...descriptor.coordinates.map((coordinate) => `${coordinate} ${identity[coordinate]}`)].join(" ");
}

/** Checks a succeeded result against its experiment's config, beyond what the message schema can know. */
export function judgeResult(config: ExperimentConfig, result: { kind: string; outputs: object } & TaskPlace): ResultVerdict {
  const lastCycle = config.pruning.cycles;
  if (result.cycle !== undefined && result.cycle > lastCycle) return { kind: "ignore", reason: `cycle ${result.cycle} is past the experiment's last cycle (${lastCycle})` };
  if (result.particle !== undefined && result.particle >= config.method.particles) {
    return { kind: "ignore", reason: `particle ${result.particle} is past the experiment's ${config.method.particles} particle(s)` };
  }
  const failure = descriptorOf(result.kind).resultFailure?.(config, result);
  return failure === undefined ? { kind: "ok" } : { kind: "fail", reason: failure };
}

/** Every artifact a succeeded result names, by output name, in the order of its schema. */
export function outputRefs(result: { outputs: Readonly<Record<string, ArtifactRef | null | undefined>> }): Array<[string, ArtifactRef]> {
  return Object.entries(result.outputs).filter((entry): entry is [string, ArtifactRef] => entry[1] !== null && entry[1] !== undefined);
}
