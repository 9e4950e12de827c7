/**
 * What `swamp run` does with a planned kind's tasks beyond what its descriptor says: the worker
 * side of a kind, registered beside its handler (worker/tasks/registry.ts). worker/run/local-run.ts
 * runs every stage the same way — inputs from memory or the run directory, the handler on a task
 * thread, the task's metric lines, its output artifacts at the files its descriptor's
 * `runDirectory.outputs` names — and calls these hooks for the rest: the task's own files
 * (summaries), its events for the progress display, and the run's report (cycles.jsonl).
 */
import type { ExperimentConfig } from "../../schema/config.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { TaskPlace } from "../../protocol/task-kind.js";
import type { TaskProgress } from "../engine/context.js";
import type { RunEvent } from "./local-run.js";
import type { RunLayout } from "./run-layout.js";
import type { CycleSummary } from "./summaries.js";

/** What a running `swamp run` offers a kind's hooks. */
export interface LocalRunContext {
  readonly config: ExperimentConfig;
  /** The run directory. */
  readonly layout: RunLayout;
  /** Whether averaged models are profiled (`--no-profile` says no). */
  readonly profile: boolean;
  /** Task threads of the run: a stage of one task may split work onto the others (LocalKindRun.split). */
  readonly threads: number;
  /** The run's report, one summary per finished cycle in order: cycles.jsonl and the run's result. */
  readonly cycles: CycleSummary[];
  emit(event: RunEvent): void;
  /** Appends metric lines labelled `task` to metrics.jsonl. */
  appendMetrics(task: string, points: MetricPoint[]): Promise<void>;
  /** When this process began the first stage of `cycle` (performance.now()): a cycle's wall time counts from there. */
  cycleStarted(cycle: number): number;
}

export interface LocalKindRun<Output = never> {
  /** The `task` label of the task's lines in metrics.jsonl, e.g. "cycle-3/particle-1". */
  metricsLabel(place: TaskPlace): string;
  /** The file the task writes last: a resumed run keeps the task's metric lines only once it exists. */
  lastWrite(layout: RunLayout, place: TaskPlace): string;
  /** Handler input that comes from the run's options rather than from the task. */
  extraInput?(run: LocalRunContext): Record<string, unknown>;
  /**
   * Work of the task that can run on another task thread at the same time: the task runs with
   * `input`, the other thread with `beside`, and `join` makes the task's output of the two, as the
   * whole task would have given it. Undefined: the task runs whole.
   */
  split?(run: LocalRunContext, input: Record<string, unknown>): TaskSplit<Output> | undefined;
  /** The event that reports the task's progress. */
  progress?(place: TaskPlace, progress: TaskProgress): RunEvent;
  /** Once the task's metric lines and output artifacts are written: its own files and events. */
  finish(run: LocalRunContext, place: TaskPlace, output: Output): Promise<void>;
  /** At the start of a resumed run, for each task the run directory already holds, in plan order. */
  resumed?(run: LocalRunContext, place: TaskPlace): Promise<void>;
  /** A task the run directory already held had its outputs read back (for its stage or a later task). */
  readBack?(run: LocalRunContext, place: TaskPlace): Promise<void>;
}

export interface TaskSplit<Output> {
  input: Record<string, unknown>;
  /** A task-thread input of its own kind (worker/tasks/registry.ts). */
  beside: Record<string, unknown>;
  /** The task's output (an Output; typed loosely so that hooks of every kind stay assignable to LocalKindRun<never>). */
  join(output: Output, beside: unknown): object;
}
