/**
 * Where the protocol is decided: what an experiment needs next, derived from what its ledger holds
 * and nothing else. `swamp run` (its run directory as the ledger) and the coordinator (the fleet,
 * `swamp up`) plan with `planNextTasks`; the coordinator checks a single task with `taskStanding`,
 * which agrees with it (test/fleet/plan.test.ts).
 *
 * An experiment is a sequence of stages: each kind with a `plan` in its descriptor has one stage
 * per cycle (one per experiment without a cycle coordinate), placed by its `stage` — today
 *   pretrain → per cycle: train-particle × particles → aggregate-cycle → … → complete.
 * A stage is done when all its tasks are recorded, or when a later stage has recorded any (a run
 * directory keeps no particles of finished cycles). The next tasks are the unrecorded ones of the
 * first stage not done, made by its kind's `plan.tasks` from the ledger; no kind is named here.
 * Pure, so the same state always gives the same plan, on any replica, after any restart.
 */
import type { ExperimentConfig } from "../schema/config.js";
import type { TaskDraft, TaskIdentity } from "../schema/fleet-messages.js";
import { PlanLedger, type PlanInput } from "./ledger.js";
import type { KindPlan, ParticleCycle, TaskKindDescriptor, TaskPlace } from "./task-kind.js";
import { descriptorOf, TASK_KIND_DESCRIPTORS, taskKind } from "./task-kinds.js";

export { InconsistentLedgerError, type LedgerEntry, type PlanInput } from "./ledger.js";

export type Plan =
  | {
      kind: "tasks";
      /** Where the experiment stands (see `stageOf`); tasks of one plan share it. */
      stage: number;
      tasks: TaskDraft[];
      /** Set when the tasks train particles: the cycle they belong to and the mask they train under. */
      particleCycle?: ParticleCycle;
    }
  | { kind: "complete"; stage: number };

/**
 * Stages in the order an experiment passes them: pretrain 0, then per cycle c its particles
 * (1 + 2c) and its aggregate (2 + 2c). A task's follow-ups are the planned tasks of a later stage.
 */
export function stageOf(identity: Pick<TaskIdentity, "kind" | "cycle">): number {
  return taskKind(identity.kind).stage(identity.cycle ?? 0);
}

export const COMPLETE_STAGE = Number.POSITIVE_INFINITY;

/**
 * Whether recording this task's result completes the experiment: it is the task of the last stage.
 * Kinds outside the plan (their stage is not finite: analyses, queued on request) never count.
 */
export function completesExperiment(config: ExperimentConfig, identity: Pick<TaskIdentity, "kind" | "cycle">): boolean {
  const lastStage = Math.max(...TASK_KIND_DESCRIPTORS.map((descriptor) => descriptor.stage(config.pruning.cycles)).filter(Number.isFinite));
  return stageOf(identity) === lastStage;
}

/** One stage of an experiment: the tasks of one planned kind in one cycle. */
export interface PlannedStage {
  descriptor: TaskKindDescriptor;
  plan: KindPlan;
  /** Null for a kind without a cycle coordinate (one stage per experiment). */
  cycle: number | null;
  stage: number;
  /** The coordinates of the stage's tasks. */
  places: TaskPlace[];
}

/** Every stage of an experiment with this config, in order. */
export function plannedStages(config: ExperimentConfig): PlannedStage[] {
  const stages: PlannedStage[] = [];
  for (const { name } of TASK_KIND_DESCRIPTORS) {
    const descriptor = descriptorOf(name);
    const plan = descriptor.plan;
    if (!plan) continue;
    const cycles = descriptor.coordinates.includes("cycle") ? Array.from({ length: config.pruning.cycles + 1 }, (_, cycle) => cycle) : [null];
    for (const cycle of cycles) stages.push({ descriptor, plan, cycle, stage: descriptor.stage(cycle ?? 0), places: plan.places(config, cycle ?? 0) });
  }
  return stages.sort((a, b) => a.stage - b.stage);
}

/**
 * Which stages are done, given how many results each holds: all of its tasks, or any of a later
 * stage's (so an earlier stage whose results a run directory no longer keeps counts as done).
 */
function doneStages(stages: readonly PlannedStage[], recorded: (stage: PlannedStage) => number): boolean[] {
  let laterStarted = false;
  const done: boolean[] = [];
  for (let index = stages.length - 1; index >= 0; index--) {
    const count = recorded(stages[index]!);
    done[index] = laterStarted || count >= stages[index]!.places.length;
    laterStarted ||= count > 0;
  }
  return done;
}

export function planNextTasks(input: PlanInput): Plan {
  const ledger = new PlanLedger(input);
  const stages = plannedStages(input.config);
  const done = doneStages(stages, (stage) => ledger.resultsIn(stage.descriptor.name, stage.cycle));
  const next = done.indexOf(false);
  if (next < 0) return { kind: "complete", stage: COMPLETE_STAGE };
  const { plan, cycle, stage, descriptor } = stages[next]!;
  const planned = plan.tasks(ledger, cycle ?? 0);
  const tasks = (planned.tasks as TaskDraft[]).filter((task) => {
    const place = task as TaskPlace;
    return !ledger.result(descriptor.name, place.cycle ?? null, place.particle ?? null);
  });
  return { kind: "tasks", stage, tasks, ...(planned.particleCycle ? { particleCycle: planned.particleCycle } : {}) };
}

// ---------------------------------------------------------------------------------------------
// One task at a time: whether it is due, from how many results each stage holds (the coordinator
// asks this for every result, so it counts indexed rows instead of reading the whole ledger).
// Stages run in order, so a task is due exactly when the stage before it is done, no later stage
// has begun, and its own result is not recorded.

/** What the ledger holds around one task. */
export interface LedgerFacts {
  /** The task's own result is recorded. */
  recorded: boolean;
  /** How many results the ledger holds of each kind in each cycle (null: kinds without a cycle). */
  results: ReadonlyArray<{ kind: string; cycle: number | null; count: number }>;
}

export type TaskStanding = { kind: "recorded" } | { kind: "due" } | { kind: "not-due"; reason: string };

export function taskStanding(config: ExperimentConfig, identity: TaskIdentity, facts: LedgerFacts): TaskStanding {
  if (facts.recorded) return { kind: "recorded" };
  const notDue = (reason: string): TaskStanding => ({ kind: "not-due", reason: `the task was never queued (${reason})` });
  const cycle = identity.cycle ?? 0;
  if (cycle > config.pruning.cycles) return notDue(`the experiment's last cycle is ${config.pruning.cycles}`);
  const stages = plannedStages(config);
  const index = stages.findIndex((stage) => stage.descriptor.name === identity.kind && (stage.cycle ?? 0) === cycle);
  if (index < 0) return notDue(`${identity.kind} tasks are queued on request`);
  const counts = new Map(facts.results.map((result) => [`${result.kind}:${result.cycle ?? ""}`, result.count]));
  const recorded = (stage: PlannedStage) => counts.get(`${stage.descriptor.name}:${stage.cycle ?? ""}`) ?? 0;
  const done = doneStages(stages, recorded);
  const standingOf = (stage: PlannedStage) => stage.plan.standing(stage.cycle ?? 0, recorded(stage), config);
  if (index > 0 && !done[index - 1]) return notDue(standingOf(stages[index - 1]!));
  if (index + 1 < stages.length && done[index]) return notDue(standingOf(stages[index + 1]!));
  if ((identity.particle ?? 0) >= config.method.particles) return notDue(`the experiment trains ${config.method.particles} particle(s)`);
  const own = stages[index]!;
  if (!own.places.some((place) => own.descriptor.coordinates.every((coordinate) => place[coordinate] === identity[coordinate]))) return notDue(`the stage has no such task`);
  return { kind: "due" };
}
