/**
 * Stores the metric batches workers stream, in bulk: batches that arrive while a write is under
 * way are gathered and written together (one transaction per experiment), so a busy fleet costs a
 * few large INSERTs instead of one per batch, and an idle one writes each batch at once. A batch
 * whose (taskId, attempt, sequence) was seen is dropped; appendMetrics also skips stored steps, so
 * re-sent points are neither stored nor published twice.
 */
import type { MetricBatch } from "../../schema/fleet-messages.js";
import type { MetricPoint } from "../../schema/metrics.js";
import { InvalidInputError, NotFoundError } from "../services/errors.js";
import { appendMetrics } from "../services/metrics.js";
import { inTransaction, type ServiceDeps } from "../services/transaction.js";
import { BoundedSet } from "./bounded-set.js";
import { isExperimentId } from "./experiment-state.js";

/** Points written per transaction at most; more wait for the next write. */
const MAX_POINTS_PER_WRITE = 200_000;

export interface MetricRecorderStats {
  batchesAccepted: number;
  batchesDuplicate: number;
  batchesRejected: number;
  pointsStored: number;
  writes: number;
}

export class MetricRecorder {
  private readonly seen = new BoundedSet(200_000);
  private pending = new Map<string, MetricPoint[]>();
  private writing: Promise<void> | null = null;
  private scheduled = false;
  readonly stats: MetricRecorderStats = { batchesAccepted: 0, batchesDuplicate: 0, batchesRejected: 0, pointsStored: 0, writes: 0 };

  constructor(
    private readonly deps: ServiceDeps,
    private readonly log: (line: string) => void,
  ) {}

  /** Queues the batch for storing; false when it was dropped (a duplicate, or not an experiment's). */
  accept(batch: MetricBatch): boolean {
    if (!isExperimentId(batch.experimentId)) {
      this.stats.batchesRejected++;
      this.log(`dropped metric batch of task ${batch.taskId}: ${JSON.stringify(batch.experimentId)} is not an experiment id`);
      return false;
    }
    if (!this.seen.add(`${batch.taskId}|${batch.attempt}|${batch.sequence}`)) {
      this.stats.batchesDuplicate++;
      return false;
    }
    this.stats.batchesAccepted++;
    const points = this.pending.get(batch.experimentId);
    if (points) points.push(...batch.points);
    else this.pending.set(batch.experimentId, [...batch.points]);
    this.scheduleWrite();
    return true;
  }

  /** Writes what is queued and waits for it. */
  async flush(): Promise<void> {
    while (this.writing || this.pending.size > 0 || this.scheduled) {
      if (this.writing) await this.writing;
      else if (this.pending.size > 0) await (this.writing = this.write().finally(() => (this.writing = null)));
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private scheduleWrite(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.writing || this.pending.size === 0) return;
      this.writing = this.write().finally(() => {
        this.writing = null;
        if (this.pending.size > 0) this.scheduleWrite();
      });
    });
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    for (const [experimentId, points] of batch) {
      for (let start = 0; start < points.length; start += MAX_POINTS_PER_WRITE) {
        const chunk = points.slice(start, start + MAX_POINTS_PER_WRITE);
        try {
          const stored = await inTransaction(this.deps, async (tx) => {
            // Live metrics are best effort (they are lost anyway while no server listens): committing
            // without waiting for the WAL flush takes the disk off the path to live subscribers.
            await tx.manager.query(`SET LOCAL synchronous_commit = off`);
            return appendMetrics(tx, experimentId, chunk);
          });
          this.stats.pointsStored += stored.inserted;
          this.stats.writes++;
        } catch (error) {
          // A deleted experiment or a bad point: these points can never be stored, so they are dropped.
          const why = error instanceof NotFoundError || error instanceof InvalidInputError ? error.message : `could not be stored (${(error as Error).message})`;
          this.log(`dropped ${chunk.length} metric point(s) of experiment ${experimentId}: ${why}`);
        }
      }
    }
  }
}
