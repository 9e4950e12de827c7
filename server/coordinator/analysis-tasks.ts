/**
 * The coordinator's side of analyses (issue 16). They are not part of an experiment's cycle plan:
 * each is queued once as an `analyze` task when it is created (and again at start-up while it is
 * unfinished: publishing is idempotent by task id), its progress arrives as metric points keyed
 * `analysis/progress`, and its result or failure is recorded on its own row, never touching the
 * experiment's status or ledger.
 */
import { isAnalysisKind, requireAnalysisResult } from "../../schema/analyses.js";
import { createTaskMessage, parseTaskId, type MetricBatch, type TaskMessage, type TaskResult } from "../../schema/fleet-messages.js";
import type { Transport } from "../../transport/transport.js";
import { ANALYSIS_PROGRESS_KEY } from "../../protocol/task-kinds/analyze.js";
import { AnalysisRow } from "../entities/analysis.js";
import { analysisTaskDraft, recordAnalysisFailure, recordAnalysisProgress, recordAnalysisSuccess, unfinishedAnalysisIds } from "../services/analyses.js";
import { inTransaction, type ServiceDeps } from "../services/transaction.js";

/** The analysis a task id or metric batch belongs to, or undefined for any other task. */
export function analysisOfTask(taskId: string): number | undefined {
  const identity = parseTaskId(taskId);
  return identity?.kind === "analyze" ? identity.analysis : undefined;
}

export class AnalysisTasks {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly transport: Transport,
    private readonly log: (line: string) => void,
  ) {}

  /** Queues the analysis's task; an analysis whose sources cannot be resolved fails with the reason. */
  async schedule(analysisId: number): Promise<boolean> {
    const manager = this.deps.dataSource.manager;
    const row = await manager.findOne(AnalysisRow, { where: { id: analysisId } });
    if (!row || (row.status !== "queued" && row.status !== "running")) return false;
    let task: TaskMessage;
    try {
      task = createTaskMessage(await analysisTaskDraft(manager, this.transport.artifacts, row));
    } catch (error) {
      await this.fail(analysisId, `its task could not be built: ${(error as Error).message}`);
      return false;
    }
    const outcome = await this.transport.tasks.publish(task);
    return outcome.queued;
  }

  /** Queues every unfinished analysis again; returns how many tasks were queued. */
  async resume(): Promise<number> {
    let queued = 0;
    for (const id of await unfinishedAnalysisIds(this.deps.dataSource.manager)) {
      try {
        if (await this.schedule(id)) queued++;
      } catch (error) {
        this.log(`coordinator: could not queue analysis ${id}: ${(error as Error).message}`);
      }
    }
    return queued;
  }

  async record(result: TaskResult): Promise<void> {
    const analysisId = analysisOfTask(result.taskId)!;
    if (result.outcome === "failed") {
      await this.fail(analysisId, `${result.error} (reported by worker ${result.workerId})`);
      return;
    }
    if (result.kind !== "analyze") return;
    const row = await this.deps.dataSource.manager.findOne(AnalysisRow, { where: { id: analysisId } });
    if (!row || row.status === "succeeded" || row.status === "failed") return;
    let stored: Record<string, unknown>;
    try {
      if (!isAnalysisKind(row.kind)) throw new Error(`unknown analysis kind ${JSON.stringify(row.kind)}`);
      const bytes = await this.transport.artifacts.get(result.outputs.result);
      stored = requireAnalysisResult(row.kind, JSON.parse(new TextDecoder().decode(bytes))) as Record<string, unknown>;
    } catch (error) {
      await this.fail(analysisId, `its result is unusable: ${(error as Error).message}`);
      return;
    }
    if (await inTransaction(this.deps, (tx) => recordAnalysisSuccess(tx, analysisId, stored, result.workerId, result.numbers.seconds))) {
      this.log(`coordinator: analysis ${analysisId} (${row.kind}) succeeded in ${result.numbers.seconds.toFixed(1)} s on ${result.workerId}`);
    }
  }

  /** The latest fraction a batch reports (the worker sends at most a few a second). */
  async progress(batch: MetricBatch): Promise<void> {
    const analysisId = analysisOfTask(batch.taskId);
    const points = batch.points.filter((point) => point.key === ANALYSIS_PROGRESS_KEY);
    if (analysisId === undefined || points.length === 0) return;
    const fraction = Math.max(...points.map((point) => point.value));
    await inTransaction(this.deps, (tx) => recordAnalysisProgress(tx, analysisId, fraction, batch.workerId));
  }

  async fail(analysisId: number, reason: string): Promise<void> {
    if (await inTransaction(this.deps, (tx) => recordAnalysisFailure(tx, analysisId, reason))) this.log(`coordinator: analysis ${analysisId} failed: ${reason}`);
  }
}
