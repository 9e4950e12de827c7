/**
 * Turns a plan into queued tasks: opens the cycle the tasks train in (with its mask), moves the
 * experiment to `running`, and publishes. Every step is idempotent (a cycle is opened once, a task
 * id is queued once), so scheduling the same experiment again, on any replica, only fills gaps.
 */
import { CorruptArtifactError, ArtifactNotFoundError } from "../../transport/artifact-store.js";
import { createTaskMessage, type ArtifactRef, type TaskIdentity, type TaskMessage } from "../../schema/fleet-messages.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import type { Transport } from "../../transport/transport.js";
import { startCycle } from "../services/cycles.js";
import { StateConflictError } from "../services/errors.js";
import { markExperimentStatus } from "../services/experiments.js";
import { inTransaction, type ServiceDeps } from "../services/transaction.js";
import { loadExperimentState, type ExperimentState } from "./experiment-state.js";
import { experimentRoute } from "../../schema/config.js";
import { aliveInMask } from "../../schema/mask-bits.js";
import { InconsistentLedgerError, planNextTasks, stageOf, type Plan } from "../../protocol/plan.js";

const ACTIVE_STATUSES: readonly ExperimentStatus[] = ["queued", "running"];

export interface PublishedTask {
  task: TaskMessage;
  /** False when the task id was already queued or being worked on. */
  queued: boolean;
  /** Date.now() when the publish began. */
  publishedAt: number;
  /** performance.now() when the queue confirmed the publish. */
  at: number;
}

export type ScheduleFailure = (experimentId: string, reason: string) => Promise<void>;

export class Scheduler {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly transport: Transport,
    private readonly fail: ScheduleFailure,
  ) {}

  /**
   * Publishes what the experiment needs next. With `after`, only the follow-ups of that task (a
   * later stage than its own): a particle's result never re-publishes its siblings, whose results
   * may still be on their way. With `onlyTaskId`, only that task, if it is due (a result refused
   * for its backend is queued again on the experiment's route, its siblings left alone).
   */
  async schedule(experimentId: string, after?: Pick<TaskIdentity, "kind" | "cycle">, onlyTaskId?: string): Promise<PublishedTask[]> {
    const state = await loadExperimentState(this.deps.dataSource.manager, experimentId);
    if (!state || !ACTIVE_STATUSES.includes(state.status)) return [];
    let plan: Plan;
    try {
      plan = planNextTasks(state);
    } catch (error) {
      if (!(error instanceof InconsistentLedgerError)) throw error;
      await this.fail(experimentId, error.message);
      return [];
    }
    if (after !== undefined && plan.stage <= stageOf(after)) return [];
    if (plan.kind === "complete") {
      await this.moveTo(experimentId, "completed");
      return [];
    }
    if (plan.particleCycle) {
      const opened = await this.openCycle(state, plan.particleCycle.cycle, plan.particleCycle.mask, plan.particleCycle.previousTotalWeights);
      if (!opened) return [];
    }
    if (state.status === "queued") await this.moveTo(experimentId, "running");
    // A cycle's particles are queued together: each publish is idempotent on its own.
    const route = experimentRoute(state.config, state.backend);
    const tasks = plan.tasks.map((draft) => createTaskMessage({ ...draft, backend: route })).filter((task) => onlyTaskId === undefined || task.taskId === onlyTaskId);
    return Promise.all(
      tasks.map(async (task): Promise<PublishedTask> => {
        const publishedAt = Date.now();
        const outcome = await this.transport.tasks.publish(task);
        return { task, queued: outcome.queued, publishedAt, at: performance.now() };
      }),
    );
  }

  private async moveTo(experimentId: string, status: "running" | "completed"): Promise<void> {
    const from: readonly ExperimentStatus[] = status === "running" ? ["queued"] : ACTIVE_STATUSES;
    try {
      await inTransaction(this.deps, (tx) => markExperimentStatus(tx, experimentId, status, { from }));
    } catch (error) {
      // Already there, or cancelled meanwhile: nothing to do either way.
      if (!(error instanceof StateConflictError)) throw error;
    }
  }

  /**
   * Opens the cycle with its mask (read from the artifact store and checked) unless it is open,
   * and queues its failed particles again (a retried experiment). False when the mask is unusable:
   * the experiment has then been failed with the reason.
   */
  private async openCycle(state: ExperimentState, cycle: number, mask: ArtifactRef | null, previousTotalWeights: number | null): Promise<boolean> {
    const { experimentId, config } = state;
    const manager = this.deps.dataSource.manager;
    const open = await manager.query(`SELECT 1 FROM cycles WHERE experiment_id = $1 AND cycle_index = $2`, [experimentId, cycle]);
    let counts = { sparsity: 0, aliveWeights: 0, totalWeights: 0 };
    let bits: Uint8Array | null = null;
    if (open.length === 0 && mask) {
      try {
        bits = await this.transport.artifacts.get(mask);
        const total = previousTotalWeights ?? bits.length * 8;
        const alive = aliveInMask(bits, total);
        counts = { sparsity: total === 0 ? 0 : (total - alive) / total, aliveWeights: alive, totalWeights: total };
      } catch (error) {
        if (error instanceof CorruptArtifactError || error instanceof ArtifactNotFoundError || /mask has/.test((error as Error).message)) {
          await this.fail(experimentId, `the mask of cycle ${cycle} is unusable: ${(error as Error).message}`);
          return false;
        }
        throw error;
      }
    }
    await inTransaction(this.deps, async (tx) => {
      if (open.length === 0) {
        // Seeds are placeholders until each particle reports the batch-order seed it derived.
        await startCycle(tx, { experimentId, cycleIndex: cycle, ...counts, mask: bits, particleSeeds: Array.from({ length: config.method.particles }, () => config.seed) });
      }
      await tx.manager.query(
        `UPDATE particles SET status = 'queued', error = NULL, completed_at = NULL WHERE experiment_id = $1 AND cycle_index = $2 AND status = 'failed'`,
        [experimentId, cycle],
      );
    });
    return true;
  }
}
