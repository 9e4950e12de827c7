/**
 * Stores the metric batches workers stream, in bulk: batches that arrive while a write is under
 * way are gathered and written together (one transaction per experiment), so a busy fleet costs a
 * few large INSERTs instead of one per batch, and an idle one writes each batch at once. A batch
 * whose (taskId, attempt, sequence) was seen is dropped; appendMetrics also skips stored steps, so
 * re-sent points are neither stored nor published twice.
 *
 * Faults stay contained: batches arrive validated by the same point rules the service applies, so
 * one experiment's write holds only storable points; a write the database refuses is retried batch
 * by batch, dropping only the batches that fail on their own; a transient database error (an outage,
 * a lost race) is retried with backoff. Only experiments that are running take points. The buffer
 * is bounded: while it is full new batches are refused (counted and logged) instead of growing
 * memory without limit, and `onFull` tells the coordinator to stop taking batches until it has
 * drained to half (live metrics travel on plain NATS subjects, which cannot be paused; the task's
 * result still carries the numbers that matter).
 */
import type { MetricBatch } from "../../schema/fleet-messages.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { isTransientDatabaseError } from "../db/transient-errors.js";
import { appendMetrics } from "../services/metrics.js";
import { inTransaction, type ServiceDeps } from "../services/transaction.js";
import { BoundedSet } from "./bounded-set.js";
import { isExperimentId } from "./experiment-state.js";

/** Points written per transaction at most; more wait for the next write. */
const MAX_POINTS_PER_WRITE = 200_000;

export interface MetricRecorderOptions {
  /** Points held in memory at most, waiting to be written (default 1,000,000, some 100 MB). */
  maxBufferedPoints?: number;
  /** How long a write keeps retrying transient database errors before its points are dropped (default 30 s). */
  retryTransientForMs?: number;
  /**
   * Told `true` when the buffer is full (a batch was refused) and `false` once it has drained to
   * half, so the receiver can stop taking batches meanwhile (back-pressure).
   */
  onFull?: (full: boolean) => void;
}

export interface MetricRecorderStats {
  batchesAccepted: number;
  batchesDuplicate: number;
  batchesRejected: number;
  /** Refused because the buffer was full. */
  batchesShed: number;
  /** Accepted, then not stored: their experiment is not running or gone, or the database refused them. */
  batchesDropped: number;
  pointsStored: number;
  writes: number;
  /** Writes repeated after a transient database error. */
  retries: number;
}

/** Why a write's points cannot be stored at all, or how many were new. */
type WriteOutcome = { refused: string } | { inserted: number };

export class MetricRecorder {
  private readonly seen = new BoundedSet(200_000);
  private pending = new Map<string, MetricBatch[]>();
  private bufferedPoints = 0;
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private shedSinceLog = 0;
  private full = false;
  private readonly maxBufferedPoints: number;
  private readonly retryTransientForMs: number;
  readonly stats: MetricRecorderStats = {
    batchesAccepted: 0,
    batchesDuplicate: 0,
    batchesRejected: 0,
    batchesShed: 0,
    batchesDropped: 0,
    pointsStored: 0,
    writes: 0,
    retries: 0,
  };

  constructor(
    private readonly deps: ServiceDeps,
    private readonly log: (line: string) => void,
    private readonly options: MetricRecorderOptions = {},
  ) {
    this.maxBufferedPoints = options.maxBufferedPoints ?? 1_000_000;
    this.retryTransientForMs = options.retryTransientForMs ?? 30_000;
  }

  /** Points waiting to be written. */
  get buffered(): number {
    return this.bufferedPoints;
  }

  /** Queues the batch for storing; false when it was refused (a duplicate, not an experiment's, or the buffer is full). */
  accept(batch: MetricBatch): boolean {
    if (!isExperimentId(batch.experimentId)) {
      this.stats.batchesRejected++;
      this.log(`dropped metric batch of task ${batch.taskId}: ${JSON.stringify(batch.experimentId)} is not an experiment id`);
      return false;
    }
    if (this.bufferedPoints + batch.points.length > this.maxBufferedPoints) {
      this.stats.batchesShed++;
      this.setFull(true);
      // One line when shedding starts, then one per 1,000 batches, not one per batch.
      if (this.shedSinceLog++ % 1_000 === 0) {
        this.log(`metric buffer full (${this.bufferedPoints} points waiting for the database): refused metric batch(es) of task ${batch.taskId}`);
      }
      return false;
    }
    if (this.seen.has(batchKey(batch))) {
      this.stats.batchesDuplicate++;
      return false;
    }
    this.seen.add(batchKey(batch));
    this.shedSinceLog = 0;
    this.stats.batchesAccepted++;
    this.bufferedPoints += batch.points.length;
    const batches = this.pending.get(batch.experimentId);
    if (batches) batches.push(batch);
    else this.pending.set(batch.experimentId, [batch]);
    this.scheduleWrite();
    return true;
  }

  /** Writes what is queued, and what arrives meanwhile, and waits for it (at shutdown). */
  async flush(): Promise<void> {
    while (this.writing || this.pending.size > 0 || this.scheduled) {
      if (this.writing) await this.writing;
      else if (this.pending.size > 0) await this.startWrite();
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Writes the batches received so far and waits for them, but not for those arriving meanwhile,
   * so a busy fleet cannot keep it waiting: at most the write under way and one more.
   */
  async storeReceived(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.writing) await this.writing;
    else if (this.pending.size > 0) await this.startWrite();
  }

  private setFull(full: boolean): void {
    if (this.full === full) return;
    this.full = full;
    this.options.onFull?.(full);
  }

  private scheduleWrite(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.writing || this.pending.size === 0) return;
      void this.startWrite();
    });
  }

  private startWrite(): Promise<void> {
    const writing = this.write().finally(() => {
      this.writing = null;
      if (this.pending.size > 0) this.scheduleWrite();
    });
    this.writing = writing;
    return writing;
  }

  private async write(): Promise<void> {
    const taken = this.pending;
    this.pending = new Map();
    for (const [experimentId, batches] of taken) {
      for (const chunk of chunksOf(batches)) {
        try {
          await this.writeChunk(experimentId, chunk);
        } finally {
          this.bufferedPoints -= pointsIn(chunk);
          if (this.bufferedPoints <= this.maxBufferedPoints / 2) this.setFull(false);
        }
      }
    }
  }

  /** Writes one experiment's batches together; if the database refuses them, each batch alone. */
  private async writeChunk(experimentId: string, batches: MetricBatch[]): Promise<void> {
    const outcome = await this.store(experimentId, batches);
    if (outcome.kind === "stored") return;
    if (outcome.kind === "refused") return this.drop(experimentId, batches, outcome.reason);
    if (batches.length === 1) return this.drop(experimentId, batches, `could not be stored (${outcome.message})`);
    // Some batch the database will not take: find it without losing the others.
    for (const batch of batches) {
      const alone = await this.store(experimentId, [batch]);
      if (alone.kind === "refused") this.drop(experimentId, [batch], alone.reason);
      if (alone.kind === "failed") this.drop(experimentId, [batch], `could not be stored (${alone.message})`);
    }
  }

  /** One transaction; transient database errors are retried with backoff for `retryTransientForMs`. */
  private async store(experimentId: string, batches: MetricBatch[]): Promise<{ kind: "stored" } | { kind: "refused"; reason: string } | { kind: "failed"; message: string }> {
    const points = batches.flatMap((batch) => batch.points);
    const deadline = Date.now() + this.retryTransientForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await inTransaction(this.deps, async (tx): Promise<WriteOutcome> => {
          // Shared lock: a result completing or failing the experiment waits for this write, or this one for it.
          const rows: Array<{ status: ExperimentStatus }> = await tx.manager.query(`SELECT status FROM experiments WHERE id = $1 FOR SHARE`, [experimentId]);
          if (rows.length === 0) return { refused: "the experiment does not exist" };
          if (rows[0]!.status !== "running") return { refused: `the experiment is ${rows[0]!.status}, not running` };
          // Live metrics are best effort (they are lost anyway while no server listens): committing
          // without waiting for the WAL flush takes the disk off the path to live subscribers.
          await tx.manager.query(`SET LOCAL synchronous_commit = off`);
          return { inserted: (await appendMetrics(tx, experimentId, points)).inserted };
        });
        if ("refused" in outcome) return { kind: "refused", reason: outcome.refused };
        this.stats.pointsStored += outcome.inserted;
        this.stats.writes++;
        return { kind: "stored" };
      } catch (error) {
        const message = (error as Error)?.message ?? String(error);
        if (!isTransientDatabaseError(error) || Date.now() >= deadline) return { kind: "failed", message };
        this.stats.retries++;
        if (attempt === 1) this.log(`storing ${points.length} metric point(s) of experiment ${experimentId} failed (${message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
      }
    }
  }

  private drop(experimentId: string, batches: MetricBatch[], reason: string): void {
    this.stats.batchesDropped += batches.length;
    const tasks = [...new Set(batches.map((batch) => batch.taskId))];
    this.log(`dropped ${pointsIn(batches)} metric point(s) of experiment ${experimentId} (task ${tasks.join(", ")}): ${reason}`);
  }
}

function batchKey(batch: MetricBatch): string {
  return `${batch.taskId}|${batch.attempt}|${batch.sequence}`;
}

function pointsIn(batches: readonly MetricBatch[]): number {
  return batches.reduce((sum, batch) => sum + batch.points.length, 0);
}

/** Consecutive runs of whole batches of at most MAX_POINTS_PER_WRITE points (a larger batch alone). */
function chunksOf(batches: readonly MetricBatch[]): MetricBatch[][] {
  const chunks: MetricBatch[][] = [];
  let current: MetricBatch[] = [];
  let size = 0;
  for (const batch of batches) {
    if (current.length > 0 && size + batch.points.length > MAX_POINTS_PER_WRITE) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(batch);
    size += batch.points.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
