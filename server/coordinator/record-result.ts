/**
 * Recording a task's result: in ONE transaction, keyed by its task id in the ledger, so a result
 * delivered twice (a redelivery, a re-run task, a replayed stream) is recorded once. Failures
 * (a worker's failed result, an exhausted task) mark the particle and the experiment `failed`.
 */
import type { ExperimentConfig } from "../../schema/config.js";
import { parseTaskId, type FleetTaskKind, type TaskSuccess } from "../../schema/fleet-messages.js";
import { METRIC_KEYS } from "../../schema/metrics.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { recordCycle, recordParticle } from "../services/cycles.js";
import { markExperimentStatus } from "../services/experiments.js";
import { appendMetrics } from "../services/metrics.js";
import { applyRetention, removeUnreferencedBytes } from "../services/stored-artifacts.js";
import { inTransaction, type ServiceDeps, type Tx } from "../services/transaction.js";
import { denseMaskBits } from "../../schema/mask-bits.js";
import { MASK_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
import { describeTask, descriptorOf, outputRefs, placeOf, TASK_KIND_DESCRIPTORS } from "../../protocol/task-kinds.js";
import type { ResultRecorder } from "../../protocol/task-kind.js";

export { MASK_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
export { describeTask, judgeResult, outputRefs } from "../../protocol/task-kinds.js";
export type { ResultVerdict } from "../../protocol/task-kind.js";
export const ACTIVE_STATUSES: readonly ExperimentStatus[] = ["queued", "running"];

/** The kinds whose tasks are a particle's work: their seconds are a cycle's training time. */
const PARTICLE_KINDS = TASK_KIND_DESCRIPTORS.filter((descriptor) => descriptorOf(descriptor.name).ownsParticle).map((descriptor) => descriptor.name);

/** A result of a task of the cycle plan (analyses are recorded apart: server/coordinator/analysis-recorder.ts). */
export type CycleTaskSuccess = Exclude<TaskSuccess, { kind: "analyze" }>;

export type RecordOutcome =
  | { kind: "recorded" }
  | { kind: "duplicate" }
  | { kind: "ignored"; reason: string }
  /** Trained on another backend than the one the experiment is pinned to: its floats would mix. */
  | { kind: "wrong-backend"; reason: string };

/** The reason the result's outputs are not usable (missing, or stored with another length), if any. */
export async function missingOutputs(store: ArtifactStore, result: CycleTaskSuccess): Promise<string | undefined> {
  const refs = outputRefs(result);
  const sizes = await Promise.all(refs.map(([, ref]) => store.size(ref)));
  for (const [i, [name, ref]] of refs.entries()) {
    const size = sizes[i];
    if (size === undefined) return `its output ${name} (artifact sha256:${ref.sha256}) is not in the artifact store`;
    if (size !== ref.size) return `its output ${name} (artifact sha256:${ref.sha256}) is stored with ${size} bytes, the result says ${ref.size}`;
  }
  return undefined;
}

/**
 * Records a successful result. The particle results (most of them) take five statements: lock
 * the experiment (reading its cycle), insert the ledger row, the artifact row and update the
 * particle; the rarer aggregates go through the cycle services, which also keep the frontier.
 */
export async function recordSuccess(deps: ServiceDeps, store: ArtifactStore, config: ExperimentConfig, result: CycleTaskSuccess): Promise<RecordOutcome> {
  return inTransaction(deps, async (tx) => {
    const experimentId = result.experimentId;
    const place = placeOf(result.kind, result);
    const cycleIndex = place.cycle ?? null;
    const locked: Array<{ status: ExperimentStatus; backend: string | null; cycle_started: boolean }> = await tx.manager.query(
      `SELECT e.status, e.backend, EXISTS (SELECT 1 FROM cycles c WHERE c.experiment_id = e.id AND c.cycle_index = $2) AS cycle_started
         FROM experiments e WHERE e.id = $1 FOR UPDATE OF e`,
      [experimentId, cycleIndex ?? -1],
    );
    if (locked.length === 0) return { kind: "ignored", reason: "the experiment no longer exists" };
    // Particles are published only after their cycle was started, and aggregates after their particles.
    if (cycleIndex !== null && !locked[0]!.cycle_started) return { kind: "ignored", reason: `cycle ${cycleIndex} was never started` };
    // A task queued on the `any` route before the pin may have run on another backend meanwhile.
    const pinned = locked[0]!.backend;
    if (pinned !== null && result.backend !== undefined && result.backend !== pinned) {
      return { kind: "wrong-backend", reason: `it ran on the ${result.backend} backend, and the experiment is pinned to ${pinned}` };
    }
    const inserted: unknown[] = await tx.manager.query(
      `INSERT INTO task_results (task_id, experiment_id, kind, cycle_index, particle_index, worker_id, attempt, outputs, numbers, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_timestamp($10 / 1000.0))
       ON CONFLICT (task_id) DO NOTHING RETURNING task_id`,
      [
        result.taskId,
        experimentId,
        result.kind,
        cycleIndex,
        place.particle ?? null,
        result.workerId,
        result.attempt,
        JSON.stringify(result.outputs),
        JSON.stringify(result.numbers),
        result.finishedAt,
      ],
    );
    if (inserted.length === 0) return { kind: "duplicate" };
    // The first recorded result pins the experiment to its backend: the scheduler routes the rest there.
    if (result.backend !== undefined && locked[0]!.backend === null) {
      await tx.manager.query(`UPDATE experiments SET backend = $2 WHERE id = $1`, [experimentId, result.backend]);
    }

    const recorder = ledgerRecorder(deps, tx, store, config, result, locked[0]!.status);
    const descriptor = descriptorOf(result.kind);
    if (descriptor.record) await descriptor.record(result, recorder);
    else for (const [, ref] of outputRefs(result)) await recorder.artifact(ref, "other", cycleIndex, place.particle ?? null);
    return { kind: "recorded" };
  });
}

/** The ledger a descriptor's `record` writes through, inside the result's transaction. */
function ledgerRecorder(deps: ServiceDeps, tx: Tx, store: ArtifactStore, config: ExperimentConfig, result: TaskSuccess, status: ExperimentStatus): ResultRecorder {
  const { experimentId } = result;
  return {
    async artifact(ref, kind, cycle, particle) {
      const rows: Array<{ id: string }> = await tx.manager.query(
        `INSERT INTO artifacts (experiment_id, cycle_index, particle_index, kind, format, size_bytes, sha256, location)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [experimentId, cycle, particle, kind, ref.format ?? (kind === "mask" ? MASK_FORMAT : WEIGHTS_FORMAT), ref.size, ref.sha256, store.location(ref)],
      );
      return { id: rows[0]!.id };
    },
    async particleCompleted(particle) {
      // What recordParticle does for a completed particle, in one statement. The cycle cannot be
      // complete yet (its aggregate needs this result), so there is no frontier to update.
      // The seed becomes the particle's batch-order stream, as the engine derived it.
      await tx.manager.query(
        `UPDATE particles SET status = 'completed', worker_id = $4, accuracy = $5, loss = $6, error = NULL, weights_artifact_id = $7,
                seed = $8, completed_at = coalesce(completed_at, clock_timestamp())
          WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3`,
        [experimentId, particle.cycle, particle.particle, result.workerId, particle.accuracy, particle.loss, particle.weightsArtifactId, particle.orderSeed],
      );
    },
    async cycleAggregated(aggregate) {
      await recordAggregate(tx, config, experimentId, result.finishedAt, aggregate, status);
      // storage.keep: what the config does not keep of the cycle goes once its aggregate is recorded.
      const released = await applyRetention(tx, config, experimentId, aggregate.cycle);
      if (released.length > 0) tx.afterCommit(async () => void (await removeUnreferencedBytes(deps.dataSource, store, released)));
    },
  };
}

async function recordAggregate(
  tx: Tx,
  config: ExperimentConfig,
  experimentId: string,
  finishedAt: number,
  numbers: Parameters<ResultRecorder["cycleAggregated"]>[0],
  status: ExperimentStatus,
): Promise<void> {
  const { cycle } = numbers;
  const particleSeconds: Array<{ seconds: number | null }> = await tx.manager.query(
    `SELECT sum((numbers->>'seconds')::float8) AS seconds FROM task_results WHERE experiment_id = $1 AND kind = ANY($3::text[]) AND cycle_index = $2`,
    [experimentId, cycle, PARTICLE_KINDS],
  );
  await recordCycle(tx, {
    experimentId,
    cycleIndex: cycle,
    accuracy: numbers.accuracy,
    loss: numbers.loss,
    sparsity: numbers.sparsity,
    aliveWeights: numbers.alive,
    totalWeights: numbers.total,
    layers: numbers.layers.map((layer) => ({ name: layer.layer, alive: layer.alive, total: layer.total })),
    // Cycle 0 trains dense: its mask was not known (nor stored) until the model's size was.
    mask: cycle === 0 ? denseMaskBits(numbers.total) : undefined,
    weightsArtifactId: numbers.weightsArtifactId,
    timings: { train: Math.round((particleSeconds[0]?.seconds ?? 0) * 1000), aggregate: Math.round(numbers.seconds * 1000) },
    inference: numbers.inference ?? null,
  });
  // The averaged model's numbers as series too, exactly as `swamp run` writes them to metrics.jsonl.
  const epoch = config.training.epochs;
  const time = finishedAt;
  await appendMetrics(tx, experimentId, [
    { cycle, key: METRIC_KEYS.testAccuracy, step: 0, epoch, value: numbers.accuracy, time },
    { cycle, key: METRIC_KEYS.testLoss, step: 0, epoch, value: numbers.loss, time },
    { cycle, key: "sparsity", step: 0, epoch, value: numbers.sparsity, time },
  ]);
  if (cycle === config.pruning.cycles && ACTIVE_STATUSES.includes(status)) {
    await markExperimentStatus(tx, experimentId, "completed", { from: ACTIVE_STATUSES });
  }
}

/** A task that will not succeed (a worker's failed result, the queue giving up), or, without `task`, an experiment that cannot go on. */
export interface FailureReport {
  experimentId: string;
  task?: { taskId: string; kind: FleetTaskKind };
  reason: string;
}

/** The error an experiment fails with. */
export function failureMessage(report: FailureReport): string {
  if (!report.task) return report.reason;
  const identity = parseTaskId(report.task.taskId) ?? { experimentId: report.experimentId, kind: report.task.kind };
  return `${describeTask(identity)} failed: ${report.reason}`;
}

/**
 * Marks the task's particle (if any) and its experiment `failed` with the reason. Returns false,
 * changing nothing, when the task's result was recorded meanwhile or the experiment is no longer
 * queued or running (a stale report).
 */
export async function recordFailure(deps: ServiceDeps, report: FailureReport): Promise<boolean> {
  const { experimentId, task } = report;
  const identity = task ? parseTaskId(task.taskId) : undefined;
  return inTransaction(deps, async (tx) => {
    const locked: Array<{ status: ExperimentStatus }> = await tx.manager.query(`SELECT status FROM experiments WHERE id = $1 FOR UPDATE`, [experimentId]);
    if (locked.length === 0 || !ACTIVE_STATUSES.includes(locked[0]!.status)) return false;
    if (task) {
      const recorded = await tx.manager.query(`SELECT 1 FROM task_results WHERE task_id = $1`, [task.taskId]);
      if (recorded.length > 0) return false;
    }
    if (identity && descriptorOf(identity.kind).ownsParticle) {
      const particle = await tx.manager.query(`SELECT 1 FROM particles WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3`, [
        experimentId,
        identity.cycle,
        identity.particle,
      ]);
      if (particle.length > 0) {
        await recordParticle(tx, { experimentId, cycleIndex: identity.cycle!, particleIndex: identity.particle!, status: "failed", error: report.reason });
      }
    }
    await markExperimentStatus(tx, experimentId, "failed", { error: failureMessage(report), from: ACTIVE_STATUSES });
    return true;
  });
}
