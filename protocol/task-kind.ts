/**
 * What the protocol knows about one kind of task, declared once in its descriptor file
 * (protocol/task-kinds/<kind>.ts) and registered in protocol/task-kinds.ts: the message schemas
 * schema/fleet-messages.ts validates with, the coordinates its task id is made of, where it runs in
 * an experiment's order, the checks a task and its result must pass beyond their schemas, which
 * inputs and outputs are artifacts (the worker fetches and stores those generically), and how the
 * coordinator records a result. The handler that runs it is registered on the worker side
 * (worker/tasks/registry.ts), keyed by the same name, so the server, which imports the
 * descriptors, never loads TensorFlow.js.
 *
 * A kind with a `plan` is part of every experiment's plan (protocol/plan.ts walks the stages of the
 * planned kinds in order), and `runDirectory` says where `swamp run` keeps its results (the rest of
 * what `swamp run` writes for it are hooks beside its handler, worker/run/local-kind.ts); a kind
 * without them (analyses) is queued on request.
 *
 * The fields after `taskProblems` are optional, with the defaults their comments give, so a kind
 * declares only what it does differently.
 */
import type { InferenceProfile } from "../schema/inference-profile.js";
import type { z } from "zod";
import type { ExperimentConfig } from "../schema/config.js";
import type { ArtifactRef, MessageProblem } from "../schema/fleet-message-fields.js";
import type { RunLayout } from "../worker/run/run-layout.js";
import type { PlanLedger } from "./ledger.js";

/** The numbers that place a task within its experiment, in task-id order. */
export type TaskCoordinate = "cycle" | "particle" | "analysis";

/** What an artifact holds, which says how a worker decodes an input and encodes an output. */
export type ArtifactContent = "weights" | "mask";

/** The coordinates a task or result names (absent ones are undefined). */
export type TaskPlace = Partial<Record<TaskCoordinate, number>>;

/** Why a succeeded result cannot be used: `ignore` when it cannot belong to the experiment, `fail` when the task went wrong. */
export type ResultVerdict = { kind: "ok" } | { kind: "ignore"; reason: string } | { kind: "fail"; reason: string };

/**
 * What the coordinator's ledger offers a descriptor's `record`, inside the transaction that
 * records the result (server/coordinator/record-result.ts implements it over PostgreSQL).
 */
export interface ResultRecorder {
  /** Registers an output in the artifact table; `cycle`/`particle` say whose it is. */
  artifact(ref: ArtifactRef, kind: "weights" | "mask" | "other", cycle: number | null, particle: number | null): Promise<{ id: string }>;
  /** A particle finished: its numbers and its weights' artifact. */
  particleCompleted(particle: { cycle: number; particle: number; accuracy: number; loss: number; orderSeed: number; weightsArtifactId: string }): Promise<void>;
  /** A cycle's aggregate: its row, frontier and series, and the experiment's completion after the last cycle. */
  cycleAggregated(cycle: {
    cycle: number;
    accuracy: number;
    loss: number;
    sparsity: number;
    alive: number;
    total: number;
    layers: ReadonlyArray<{ layer: string; alive: number; total: number }>;
    seconds: number;
    weightsArtifactId: string;
    /** The averaged model's inference profile; absent from workers that do not measure it. */
    inference?: InferenceProfile;
  }): Promise<void>;
}

/** The cycle a plan's particles train in: the coordinator opens it, with its mask, before queuing them. */
export interface ParticleCycle {
  cycle: number;
  mask: ArtifactRef | null;
  /** The previous cycle's total weight count (for the mask's alive count); null in cycle 0. */
  previousTotalWeights: number | null;
}

/** A task before the fields createTaskMessage fills (version, id, config hash and, unless pinned, the backend route). */
export type TaskDraftOf<TaskSchema extends z.ZodTypeAny> = Omit<z.output<TaskSchema>, "version" | "taskId" | "configHash" | "backend"> & { backend?: z.output<TaskSchema>["backend"] };

/**
 * A kind's part in the plan. Its tasks of one cycle form a stage (placed by `stage`); a kind
 * without a cycle coordinate has one stage per experiment (`cycle` is then 0 here).
 */
export interface KindPlan<Draft = unknown> {
  /** The coordinates of every task of the stage. */
  places(config: ExperimentConfig, cycle: number): TaskPlace[];
  /**
   * Every task of the stage, recorded or not, with its inputs read from the ledger: called once
   * every earlier stage is done. Throws `ledger.inconsistent(...)` when an input is missing.
   */
  tasks(ledger: PlanLedger, cycle: number): { tasks: Draft[]; particleCycle?: ParticleCycle };
  /** How the stage stands with `recorded` results, for why a task of the stage before or after it is not due. */
  standing(cycle: number, recorded: number, config: ExperimentConfig): string;
}

/**
 * Where `swamp run` keeps a kind's results: the run directory is its ledger
 * (worker/run/run-ledger.ts), so these are the files `--resume` trusts.
 */
export interface KindRunDirectory {
  /** The files whose presence means the task is done (its last writes). */
  done(layout: RunLayout, place: TaskPlace): string[];
  /** The file of each output artifact (`swamp run` writes it there, the plan reads it); an output whose file is absent is null. */
  readonly outputs: Readonly<Record<string, (layout: RunLayout, place: TaskPlace) => string>>;
}

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

  /** What the kind's stages plan; absent for kinds queued on request (their stage is not finite). */
  readonly plan?: KindPlan<TaskDraftOf<TaskSchema>>;
  /** Where `swamp run` keeps the kind's results; every planned kind has it. */
  readonly runDirectory?: KindRunDirectory;

  /** For people, in errors: e.g. "particle 2 of cycle 3". Default: the name and its coordinates. */
  describe?(place: TaskPlace): string;
  /**
   * Inputs (in `task.inputs`) that are artifact references, or arrays of them, and what they hold;
   * a null mask stands for the dense mask. Other inputs reach the handler as they are. Default none.
   */
  readonly inputArtifacts?: Readonly<Record<string, ArtifactContent>>;
  /**
   * Fields of the handler's output that the worker stores as artifacts, named as in the result's
   * `outputs` (an absent one is null there); the rest of the output, less `kind` and the
   * coordinates, are the result's `numbers`. Default none.
   */
  readonly outputArtifacts?: Readonly<Record<string, ArtifactContent>>;
  /**
   * The task is its particle's work: heartbeats mark the particle running, only the worker running
   * it may report its failure, and its failure fails the particle. Default false.
   */
  readonly ownsParticle?: boolean;
  /**
   * Why a succeeded result is unusable beyond its coordinates (which are always checked against
   * the config). Default: it is usable.
   */
  resultFailure?(config: ExperimentConfig, result: z.output<SuccessSchema>): string | undefined;
  /**
   * Records a succeeded result through the ledger. Default: every artifact of its outputs is
   * registered as "other", at the result's cycle and particle.
   */
  record?(result: z.output<SuccessSchema>, recorder: ResultRecorder): Promise<void>;
}
