/**
 * The coordinator: splits experiments into tasks and advances them as results arrive.
 *
 * Everything it decides comes from the database (the experiment, its task ledger), never from
 * memory, so any replica, restarted at any moment, continues where the last one stopped:
 * - results are consumed from the durable result stream and recorded idempotently by task id, in
 *   one transaction each, then the task's follow-ups are published;
 * - exhausted tasks (and failed results) mark the particle and the experiment `failed`;
 * - metric batches are stored in bulk and relayed to GraphQL subscriptions;
 * - heartbeats register workers;
 * - at start-up every unfinished experiment is resumed, publishing only what is missing;
 * - creating or retrying an experiment schedules it, cancelling (or deleting) one removes its
 *   queued tasks and tells running workers to stop.
 */
import { InvalidConfigError } from "../../schema/config.js";
import type { MetricBatch, TaskMessage, TaskResult, WorkerHeartbeat } from "../../schema/fleet-messages.js";
import { parseTaskId, taskIdentityOf } from "../../schema/fleet-messages.js";
import type { ExhaustionWatch, Subscription, Transport } from "../../transport/index.js";
import type { ResultConsumer, ResultDeliveryInfo } from "../../transport/result-stream.js";
import type { ServerHooks } from "../graphql/context.js";
import type { ServiceDeps } from "../services/transaction.js";
import { isTransientDatabaseError } from "../db/transient-errors.js";
import { isExperimentId, loadExperiment, unfinishedExperimentIds, type ExperimentState } from "./experiment-state.js";
import { recordHeartbeat } from "./heartbeat-recorder.js";
import { MetricRecorder, type MetricRecorderOptions } from "./metric-recorder.js";
import { ACTIVE_STATUSES, describeTask, failureMessage, judgeResult, missingOutputs, recordFailure, recordSuccess, type FailureReport } from "./record-result.js";
import { waitForResultsBacklog } from "./results-backlog.js";
import { AnalysisTasks, analysisOfTask } from "./analysis-tasks.js";
import { Scheduler, type PublishedTask } from "./scheduler.js";
import { completesExperiment, taskStanding } from "../../protocol/plan.js";
import { descriptorOf } from "../../protocol/task-kinds.js";
import { ledgerFacts } from "./task-due.js";
import { RouteWatch, type RouteWatchOptions } from "./route-watch.js";

export interface CoordinatorOptions {
  services: ServiceDeps;
  transport: Transport;
  log?: (line: string) => void;
  /** At start-up, how long to wait for results still in the stream to be recorded before resuming. Default 10 s. */
  resumeSettleMs?: number;
  /** Server replicas in one queue group share the storing of metric batches. */
  metricQueueGroup?: string;
  /**
   * Results recorded at once (default 8). Results of one experiment are still recorded one after
   * the other, in the order they arrived; concurrency only overlaps different experiments.
   */
  resultConcurrency?: number;
  /**
   * Deliveries of a result whose recording keeps throwing (not a database outage) before its
   * experiment is failed with the error instead (default 5).
   */
  maxResultDeliveries?: number;
  /** Delay before a result whose recording threw is delivered again (default 1000 ms). */
  resultRetryDelayMs?: number;
  /** Buffer bound and retrying of metric ingestion. */
  metricRecording?: MetricRecorderOptions;
  /** Logs experiments waiting on a route no live worker serves; absent: not watched. */
  routeWatch?: RouteWatchOptions;
}

export const DEFAULT_MAX_RESULT_DELIVERIES = 5;

/** Timings the fleet benchmark reads; kept for the most recent results only. */
export class CoordinatorStats {
  /** Milliseconds from a result's recording (commit) to its follow-up tasks being queued (results with follow-ups). */
  readonly schedulingMs: number[] = [];
  /** Milliseconds from a result's arrival to its follow-up tasks being queued: recording included. */
  readonly resultToQueuedMs: number[] = [];
  /** Milliseconds spent recording a result (its transaction). */
  readonly recordingMs: number[] = [];
  /** When the publish of each queued task began, by task id (epoch milliseconds). */
  readonly queuedAt = new Map<string, number>();
  resultsRecorded = 0;
  resultsDuplicate = 0;
  resultsIgnored = 0;
  /** Results whose recording kept failing: their experiment was failed instead. */
  resultsAbandoned = 0;

  note(list: number[], value: number): void {
    list.push(value);
    if (list.length > 10_000) list.splice(0, list.length - 10_000);
  }

  noteQueued(published: readonly PublishedTask[]): void {
    for (const entry of published) if (entry.queued) this.queuedAt.set(entry.task.taskId, entry.publishedAt);
    if (this.queuedAt.size > 10_000) this.queuedAt.delete(this.queuedAt.keys().next().value!);
  }
}

/** What a result may do: be recorded (`due`), count as a duplicate (`recorded`), or nothing. */
type Admission = { kind: "due" } | { kind: "recorded" } | { kind: "ignore"; reason: string };

export class Coordinator {
  readonly stats = new CoordinatorStats();
  readonly metrics: MetricRecorder;
  /** Pass to startServer: the GraphQL mutations tell the coordinator what changed. */
  readonly hooks: ServerHooks;
  private readonly scheduler: Scheduler;
  private readonly analyses: AnalysisTasks;
  private readonly log: (line: string) => void;
  private readonly locks = new Map<string, Promise<unknown>>();
  private resultConsumer: ResultConsumer | undefined;
  private exhaustionWatch: ExhaustionWatch | undefined;
  private subscriptions: Subscription[] = [];
  private metricSubscription: Subscription | undefined;
  private metricSubscriptionChange: Promise<void> = Promise.resolve();
  private routeWatch: RouteWatch | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.log = options.log ?? ((line) => console.log(line));
    this.metrics = new MetricRecorder(options.services, (line) => this.log(`coordinator: ${line}`), {
      ...options.metricRecording,
      onFull: (full) => {
        if (this.stopped) return;
        this.log(full ? "coordinator: metric buffer full: stopped taking metric batches until it drains" : "coordinator: metric buffer drained: taking metric batches again");
        void this.takeMetricBatches(!full).catch((error: unknown) => this.log(`coordinator: metric subscription: ${(error as Error).message}`));
      },
    });
    this.scheduler = new Scheduler(options.services, options.transport, (experimentId, reason) => this.fail({ experimentId, reason }));
    this.analyses = new AnalysisTasks(options.services, options.transport, this.log);
    this.hooks = {
      analysisCreated: (id) => this.scheduleAnalysisQuietly(id),
      experimentCreated: (id) => this.scheduleQuietly(id),
      experimentRetried: (id) => this.scheduleQuietly(id),
      experimentCancelled: (id) => this.stopExperiment(id, "the experiment was cancelled"),
      experimentDeleted: (id) => this.stopExperiment(id, "the experiment was deleted"),
    };
  }

  /** Starts listening, records the results waiting in the stream, then resumes unfinished experiments. */
  async start(): Promise<void> {
    if (this.started) throw new Error("the coordinator was already started");
    this.started = true;
    const { transport } = this.options;
    this.subscriptions.push(await transport.control.onHeartbeat((heartbeat) => this.onHeartbeat(heartbeat)));
    await this.takeMetricBatches(true);
    this.exhaustionWatch = await transport.tasks.onExhausted((task, reason) => this.onExhausted(task, reason));
    this.resultConsumer = transport.results.consume((result, delivery) => this.onResult(result, delivery), {
      concurrency: this.options.resultConcurrency ?? 8,
      retryDelayMs: this.options.resultRetryDelayMs,
    });
    const left = await waitForResultsBacklog(transport, this.options.resumeSettleMs ?? 10_000);
    if (left > 0) this.log(`coordinator: resuming with ${left} result(s) still to record`);
    await this.drainLegacyTasks();
    await this.resumeUnfinished();
    const analyses = await this.analyses.resume();
    if (analyses > 0) this.log(`coordinator: queued ${analyses} unfinished analysis task(s)`);
    if (this.options.routeWatch) {
      this.routeWatch = new RouteWatch(this.options.services.dataSource.manager, this.options.routeWatch, (line) => this.log(`coordinator: ${line}`));
      this.routeWatch.start();
    }
  }

  /** Stops consuming (waiting for the result being recorded) and stores the metric points received. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.routeWatch?.stop();
    await this.resultConsumer?.stop();
    await this.exhaustionWatch?.stop();
    for (const subscription of this.subscriptions.splice(0)) await subscription.unsubscribe().catch(() => undefined);
    await this.takeMetricBatches(false);
    await this.metrics.flush();
    await Promise.all([...this.locks.values()].map((pending) => pending.catch(() => undefined)));
  }

  /**
   * Removes the tasks an older version queued where no worker of this version looks (the
   * route-less subjects of the version before task routes). Nothing is lost: the resume that
   * follows plans every unfinished experiment's and analysis's missing tasks again from the
   * ledger, on the routes they must run on now (an experiment's pinned backend included), which
   * copying the old messages could not know; tasks of finished or deleted experiments are dropped.
   */
  private async drainLegacyTasks(): Promise<void> {
    const drain = this.options.transport.tasks.drainLegacyTasks;
    if (drain === undefined) return;
    const experiments = new Set<string>();
    const removed = await drain.call(this.options.transport.tasks, async (task) => void experiments.add(task.experimentId));
    if (removed === 0) return;
    this.log(
      `coordinator: removed ${removed} task(s) an older version queued without a route (experiments ${[...experiments].sort().join(", ") || "unreadable"}); ` +
        "the unfinished ones are queued again from the ledger on their routes",
    );
  }

  /** Publishes every unfinished experiment's missing tasks; returns how many were queued. */
  async resumeUnfinished(): Promise<number> {
    let queued = 0;
    const ids = await unfinishedExperimentIds(this.options.services.dataSource.manager);
    for (const id of ids) {
      try {
        queued += await this.schedule(id);
      } catch (error) {
        // One experiment that cannot be scheduled (its stored config, an outage) must not hold up the others.
        this.log(`coordinator: could not resume ${id}: ${(error as Error).message}`);
      }
    }
    if (ids.length > 0) this.log(`coordinator: resumed ${ids.length} unfinished experiment(s), ${queued} task(s) queued`);
    return queued;
  }

  /** Publishes what the experiment needs next (nothing twice); returns how many tasks were queued. */
  async schedule(experimentId: string): Promise<number> {
    const published = await this.exclusively(experimentId, () => this.scheduler.schedule(experimentId));
    this.stats.noteQueued(published);
    return published.filter((entry) => entry.queued).length;
  }

  /** Removes the experiment's queued tasks and tells workers running its tasks to stop. */
  async stopExperiment(experimentId: string, reason: string): Promise<void> {
    const { transport } = this.options;
    try {
      const removed = await transport.tasks.removeExperiment(experimentId);
      await transport.control.cancel({ experimentId, reason, time: Date.now() });
      this.log(`coordinator: ${reason}: ${experimentId} (${removed} queued task(s) removed, workers told to stop)`);
    } catch (error) {
      this.log(`coordinator: could not stop the tasks of ${experimentId}: ${(error as Error).message}`);
    }
  }

  /**
   * Joins or leaves the queue group of metric recorders. Leaving it while the buffer is full is
   * the back-pressure plain NATS subjects allow: other server replicas take the batches meanwhile
   * (with none, they are lost, as while no server runs).
   */
  private takeMetricBatches(take: boolean): Promise<void> {
    this.metricSubscriptionChange = this.metricSubscriptionChange.catch(() => undefined).then(async () => {
      if (take && !this.metricSubscription) {
        this.metricSubscription = await this.options.transport.metrics.subscribe(
          { queueGroup: this.options.metricQueueGroup ?? "swamp-metric-recorders" },
          // An analysis reports its progress on the metric subjects; it is not a metric of the experiment.
          (batch: MetricBatch) =>
            analysisOfTask(batch.taskId) !== undefined
              ? void this.analyses.progress(batch).catch((error: unknown) => this.log(`coordinator: progress of ${batch.taskId}: ${(error as Error).message}`))
              : void this.metrics.accept(batch),
        );
      } else if (!take && this.metricSubscription) {
        const subscription = this.metricSubscription;
        this.metricSubscription = undefined;
        await subscription.unsubscribe().catch(() => undefined);
      }
    });
    return this.metricSubscriptionChange;
  }

  /** Queues a new analysis's task; one that cannot be queued now is queued again at the next start. */
  private async scheduleAnalysisQuietly(analysisId: number): Promise<void> {
    try {
      await this.analyses.schedule(analysisId);
    } catch (error) {
      this.log(`coordinator: could not queue analysis ${analysisId}: ${(error as Error).message}`);
    }
  }

  private async scheduleQuietly(experimentId: string): Promise<void> {
    try {
      await this.schedule(experimentId);
    } catch (error) {
      // The mutation succeeded; the experiment stays queued and is resumed at the next start.
      this.log(`coordinator: could not schedule ${experimentId}: ${(error as Error).message}`);
    }
  }

  /** Runs `work` after every earlier piece of work on the same experiment (in this process). */
  private exclusively<T>(experimentId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(experimentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(experimentId, next);
    void next.catch(() => undefined).then(() => {
      if (this.locks.get(experimentId) === next) this.locks.delete(experimentId);
    });
    return next;
  }

  /**
   * Records a result, or throws to have it delivered again. A result whose recording keeps failing
   * for a reason other than a database outage (the same error every time) would otherwise come
   * back forever: after `maxResultDeliveries` its experiment is failed with the error, and the
   * result acknowledged.
   */
  private async onResult(result: TaskResult, delivery: ResultDeliveryInfo): Promise<void> {
    try {
      await this.recordResult(result);
    } catch (error) {
      const limit = this.options.maxResultDeliveries ?? DEFAULT_MAX_RESULT_DELIVERIES;
      if (delivery.deliveryCount < limit || isTransientDatabaseError(error) || !isExperimentId(result.experimentId)) throw error;
      const identity = parseTaskId(result.taskId)!;
      const reason = `recording the result of ${describeTask(identity)} failed on each of ${delivery.deliveryCount} deliveries: ${(error as Error)?.message ?? String(error)}`;
      await this.exclusively(result.experimentId, () => this.fail({ experimentId: result.experimentId, reason }));
      this.stats.resultsAbandoned++;
      this.log(`coordinator: gave up the result of ${result.taskId}: ${reason}`);
    }
  }

  private ignore(result: TaskResult, reason: string): void {
    this.stats.resultsIgnored++;
    this.log(`coordinator: ignored the result of ${result.taskId}: ${reason}`);
  }

  private async recordResult(result: TaskResult): Promise<void> {
    const arrived = performance.now();
    if (!isExperimentId(result.experimentId)) return this.ignore(result, `${JSON.stringify(result.experimentId)} is not an experiment id`);
    // Analyses stand apart from the experiment's plan and status: recorded on their own rows.
    if (result.kind === "analyze") return this.exclusively(`analysis:${result.taskId}`, () => this.analyses.record(result));
    await this.exclusively(result.experimentId, async () => {
      let state: Omit<ExperimentState, "ledger"> | null;
      try {
        state = await loadExperiment(this.options.services.dataSource.manager, result.experimentId);
      } catch (error) {
        // A stored config this version cannot read: retrying would never help.
        if (!(error instanceof InvalidConfigError)) throw error;
        return this.ignore(result, `the experiment's stored config is invalid: ${error.message}`);
      }
      if (!state) return this.ignore(result, "no such experiment");
      const identity = parseTaskId(result.taskId)!;
      const admission = await this.admit(state, result);
      if (admission.kind === "ignore") return this.ignore(result, admission.reason);
      if (admission.kind === "recorded") {
        this.stats.resultsDuplicate++;
        // The first delivery may have been recorded by a process that died before publishing.
        this.stats.noteQueued(await this.scheduler.schedule(result.experimentId, identity));
        return;
      }
      if (result.outcome === "failed") {
        await this.fail({ experimentId: result.experimentId, task: { taskId: result.taskId, kind: result.kind }, reason: `${result.error} (reported by worker ${result.workerId})` });
        return;
      }
      const verdict = judgeResult(state.config, result);
      if (verdict.kind === "ignore") return this.ignore(result, verdict.reason);
      const unusable = verdict.kind === "fail" ? verdict.reason : await missingOutputs(this.options.transport.artifacts, result);
      if (unusable !== undefined) {
        await this.fail({ experimentId: result.experimentId, task: { taskId: result.taskId, kind: result.kind }, reason: `its result is unusable: ${unusable}` });
        return;
      }
      // The last aggregate completes the experiment, after which its metrics are refused: store
      // the batches that arrived before this result (the worker sent them first) while it runs.
      if (completesExperiment(state.config, identity)) await this.metrics.storeReceived();
      const recordStarted = performance.now();
      const outcome = await recordSuccess(this.options.services, this.options.transport.artifacts, state.config, result);
      const recorded = performance.now();
      this.stats.note(this.stats.recordingMs, recorded - recordStarted);
      if (outcome.kind === "ignored") return this.ignore(result, outcome.reason);
      if (outcome.kind === "wrong-backend") {
        this.ignore(result, `${outcome.reason}: queued again on its route`);
        this.stats.noteQueued(await this.scheduler.schedule(result.experimentId, undefined, result.taskId));
        return;
      }
      if (outcome.kind === "duplicate") this.stats.resultsDuplicate++;
      else this.stats.resultsRecorded++;
      // Also after a duplicate: the first delivery may have been recorded by a process that died before publishing.
      const published = await this.scheduler.schedule(result.experimentId, identity);
      this.stats.noteQueued(published);
      if (outcome.kind === "recorded" && published.length > 0) {
        this.stats.note(this.stats.schedulingMs, published.at(-1)!.at - recorded);
        this.stats.note(this.stats.resultToQueuedMs, published.at(-1)!.at - arrived);
      }
    });
  }

  /**
   * Whether the result may be recorded: only a task the ledger shows as due (planned and not yet
   * recorded) of an experiment that is queued or running. Anyone holding worker credentials can
   * publish results, so a result for a task never queued, for a finished experiment, or a failure
   * for a task the sender does not hold, changes nothing. A task already recorded is a duplicate.
   */
  private async admit(state: Omit<ExperimentState, "ledger">, result: TaskResult): Promise<Admission> {
    const identity = parseTaskId(result.taskId)!;
    const standing = taskStanding(state.config, identity, await ledgerFacts(this.options.services.dataSource.manager, result.taskId, identity));
    if (standing.kind === "recorded") {
      return result.outcome === "failed" ? { kind: "ignore", reason: "the task's result was already recorded" } : { kind: "recorded" };
    }
    if (!ACTIVE_STATUSES.includes(state.status)) return { kind: "ignore", reason: `the experiment is ${state.status}` };
    if (standing.kind === "not-due") return { kind: "ignore", reason: standing.reason };
    if (result.outcome === "failed") {
      // A worker holds a task until it settles it, so a failure is reported while the task is still queued.
      if (!(await this.options.transport.tasks.queuedTaskIds(state.experimentId)).includes(result.taskId)) {
        return { kind: "ignore", reason: "the task is not in the task queue" };
      }
      // A particle's failure only from the worker whose heartbeats show it running the particle.
      if (descriptorOf(identity.kind).ownsParticle) {
        const rows: Array<{ worker_id: string | null }> = await this.options.services.dataSource.query(
          `SELECT worker_id FROM particles WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3`,
          [state.experimentId, identity.cycle, identity.particle],
        );
        if (rows[0]?.worker_id !== result.workerId) return { kind: "ignore", reason: `worker ${result.workerId} is not the one running the task` };
      }
    }
    return { kind: "due" };
  }

  private async onExhausted(task: TaskMessage, reason: string): Promise<void> {
    if (!isExperimentId(task.experimentId)) return;
    const identity = taskIdentityOf(task);
    if (identity.kind === "analyze") return this.analyses.fail(identity.analysis!, reason);
    await this.exclusively(task.experimentId, () => this.fail({ experimentId: task.experimentId, task: { taskId: task.taskId, kind: identity.kind }, reason }));
  }

  private async fail(report: FailureReport): Promise<void> {
    if (!(await recordFailure(this.options.services, report))) return;
    this.log(`coordinator: experiment ${report.experimentId} failed: ${failureMessage(report)}`);
    // Nothing more will be recorded for a failed experiment until it is retried: stop its other tasks.
    await this.stopExperiment(report.experimentId, "the experiment failed");
  }

  private async onHeartbeat(heartbeat: WorkerHeartbeat): Promise<void> {
    try {
      await recordHeartbeat(this.options.services, heartbeat);
    } catch (error) {
      this.log(`coordinator: heartbeat of worker ${heartbeat.workerId} not recorded: ${(error as Error).message}`);
    }
  }
}
