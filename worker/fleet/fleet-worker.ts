/**
 * A fleet worker: finds the TF.js backend its task threads run (it advertises it in heartbeats and
 * results, and pulls only the tasks routed to it or to any backend), pulls as many tasks as it has
 * free slots, runs each on a task thread, streams its metric batches, stores its outputs, publishes
 * the result and only then acknowledges the task.
 * It keeps long tasks alive with in-progress signals, waits out transient NATS errors in a task's
 * artifact reads and writes and its result's publish (task-transport.ts), heartbeats, obeys
 * cancellations, and on stop gives its unfinished tasks back to the queue.
 */
import { cpus, hostname } from "node:os";
import { configHash, type BackendName } from "../../schema/config.js";
import { taskIdentityOf, type TaskMessage } from "../../schema/fleet-messages.js";
import type { MetricPoint } from "../../schema/metrics.js";
import { CorruptArtifactError } from "../../transport/artifact-store.js";
import type { Subscription } from "../../transport/subscription.js";
import type { TaskConsumer, TaskDelivery } from "../../transport/task-queue.js";
import type { Transport } from "../../transport/transport.js";
import { EMPTIED_LAYER_ERROR } from "../engine/prune.js";
import type { ThreadPool } from "../run/thread-pool.js";
import { probeBackend } from "../engine/backend-probe.js";
import { defaultWorkerSlots } from "./cpu-limit.js";
import { executeTask } from "./execute-task.js";
import { PERMANENT_ANALYSIS_ERRORS, runAnalysisTask, type RunningAnalysis } from "./run-analysis-task.js";
import { ANALYSIS_PROGRESS_KEY } from "../../protocol/task-kinds/analyze.js";
import { ThreadCache } from "./thread-cache.js";
import { DEFAULT_TRANSIENT_RETRY_MS, taskTransport, type TaskTransport } from "./task-transport.js";

export interface FleetWorkerOptions {
  transport: Transport;
  /** Default: `<host>:<pid>`. */
  workerId?: string;
  /** Tasks run at once; default one per CPU of the container's limit, else per host core (see cpu-limit.ts). */
  slots?: number;
  /** Force a backend (else SWAMP_BACKEND, else the first that works here; see worker/engine/backend.ts). */
  backend?: string;
  heartbeatMs?: number;
  /**
   * How long a task's artifact read or write or its result's publish waits out transient transport
   * errors (a JetStream leader election) before the delivery fails; default 120000.
   */
  transientRetryMs?: number;
  log?: (line: string) => void;
}

interface RunningTask {
  task: TaskMessage;
  delivery: TaskDelivery;
  pool?: ThreadPool;
  analysis?: RunningAnalysis;
  /** Why it was asked to stop: the experiment was cancelled, or the worker is shutting down. */
  stopReason?: "cancelled" | "shutdown";
}

export class FleetWorker {
  readonly workerId: string;
  readonly slots: number;
  private threads: ThreadCache | undefined;
  private readonly running = new Map<string, RunningTask>();
  private consumer: TaskConsumer | undefined;
  private cancelSubscription: Subscription | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private backendName: BackendName | undefined;
  private stopping = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: FleetWorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    this.slots = options.slots ?? defaultWorkerSlots().slots;
    this.log = options.log ?? (() => {});
  }

  get busy(): number {
    return this.running.size;
  }

  /** The backend its tasks run on; known once `start` has resolved. */
  get backend(): BackendName | undefined {
    return this.backendName;
  }

  /** Throws BackendUnavailableError when the backend asked for cannot start here. */
  async start(): Promise<void> {
    const { transport } = this.options;
    // Every thread is then told this backend, so all of them compute alike whatever is installed.
    const backend = await probeBackend(this.options.backend);
    this.backendName = backend;
    this.threads = new ThreadCache(this.slots, backend);
    this.cancelSubscription = await transport.control.onCancel((message) => this.cancelExperiment(message.experimentId));
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch((error) => this.log(`heartbeat failed: ${(error as Error).message}`)), this.options.heartbeatMs ?? 5000);
    this.consumer = transport.tasks.consume((delivery) => this.handle(delivery), { concurrency: this.slots, backend });
    this.log(`worker ${this.workerId} ready with ${this.slots} slot(s) on ${backend}`);
  }

  /** Stops taking tasks; running ones are stopped at their next step and given back to the queue. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const running of this.running.values()) {
      running.stopReason ??= "shutdown";
      running.pool?.requestStop();
      running.analysis?.stop();
    }
    await this.consumer?.stop();
    await this.cancelSubscription?.unsubscribe();
    await this.heartbeat().catch(() => {});
    await this.threads?.close();
  }

  private cancelExperiment(experimentId: string): void {
    for (const running of this.running.values()) {
      if (running.task.experimentId !== experimentId) continue;
      running.stopReason = "cancelled";
      running.pool?.requestStop();
      running.analysis?.stop();
      this.log(`cancelled ${running.task.taskId}`);
    }
  }

  private async heartbeat(): Promise<void> {
    await this.options.transport.control.heartbeat({
      workerId: this.workerId,
      host: hostname(),
      backend: this.backendName ?? "unknown",
      device: `cpu (${cpus().length} cores, ${cpus()[0]?.model.trim() ?? "unknown"})`,
      slots: this.slots,
      busy: this.running.size,
      runningTaskIds: [...this.running.keys()],
      stopping: this.stopping,
      time: Date.now(),
    });
  }

  private async handle(delivery: TaskDelivery): Promise<void> {
    const { task } = delivery;
    if (this.stopping) {
      await delivery.release();
      return;
    }
    const running: RunningTask = { task, delivery };
    this.running.set(task.taskId, running);
    const io = taskTransport({
      transport: this.options.transport,
      delivery,
      giveUpAfterMs: this.options.transientRetryMs ?? DEFAULT_TRANSIENT_RETRY_MS,
      shouldStop: () => running.stopReason !== undefined,
      log: this.log,
    });
    let sequence = 0;
    const place = taskIdentityOf(task);
    // Metric points of a task outside any cycle (pretraining) belong to cycle 0.
    const particle = place.particle;
    const cycle = place.cycle ?? 0;
    const publishes: Array<Promise<void>> = [];
    const publishMetrics = (points: MetricPoint[]) => {
      publishes.push(
        this.options.transport.metrics
          .publish({ experimentId: task.experimentId, taskId: task.taskId, workerId: this.workerId, attempt: delivery.deliveryCount, cycle, particle, sequence: sequence++, points })
          .catch((error) => this.log(`metrics of ${task.taskId} not sent: ${(error as Error).message}`)),
      );
    };
    try {
      if (configHash(task.config) !== task.configHash) throw new Error("task config does not match its hash");
      if (task.kind === "analyze") {
        await this.analyze(running, io, publishMetrics);
        await Promise.all(publishes);
        return;
      }
      const threads = this.threads!;
      const pool = await threads.acquire(task.config);
      running.pool = pool;
      if (running.stopReason) pool.requestStop();
      try {
        // Never publish floats of another backend than the one advertised and routed to.
        if (pool.backend.name !== this.backendName) throw new Error(`task thread runs ${pool.backend.name}, not ${this.backendName}`);
        const result = await executeTask({
          task,
          pool,
          artifacts: io.artifacts,
          workerId: this.workerId,
          attempt: delivery.deliveryCount,
          onMetrics: publishMetrics,
          onProgress: () => delivery.working(),
        });
        await Promise.all(publishes);
        await io.publishResult({ ...result, backend: this.backendName });
        await delivery.ack();
      } finally {
        await threads.release(pool);
      }
    } catch (error) {
      await this.settleFailure(running, error as Error);
    } finally {
      this.running.delete(task.taskId);
    }
  }

  /** An analysis runs on a thread of its own; its progress goes out as metric points (see protocol/task-kinds/analyze.ts). */
  private async analyze(running: RunningTask, io: TaskTransport, publishMetrics: (points: MetricPoint[]) => void): Promise<void> {
    const { delivery } = running;
    const task = running.task as Extract<TaskMessage, { kind: "analyze" }>;
    let lastSent = 0;
    const report = (fraction: number, force = false) => {
      const now = Date.now();
      if (!force && now - lastSent < 500) return;
      lastSent = now;
      void delivery.working();
      publishMetrics([{ cycle: 0, key: ANALYSIS_PROGRESS_KEY, step: 0, epoch: 0, value: fraction, time: now }]);
    };
    report(0, true);
    running.analysis = runAnalysisTask({
      task,
      artifacts: io.artifacts,
      workerId: this.workerId,
      attempt: delivery.deliveryCount,
      backend: this.backendName,
      onProgress: (fraction) => report(fraction),
    });
    if (running.stopReason) running.analysis.stop();
    const result = await running.analysis.result;
    await io.publishResult({ ...result, backend: this.backendName });
    await delivery.ack();
  }

  private async settleFailure(running: RunningTask, error: Error): Promise<void> {
    const { delivery, task } = running;
    if (running.stopReason === "cancelled") {
      await delivery.ack();
      return;
    }
    if (running.stopReason === "shutdown") {
      await delivery.release();
      return;
    }
    // Neither a corrupt input nor an emptied layer changes on another delivery: fail the task now.
    if (error instanceof CorruptArtifactError || error.name === EMPTIED_LAYER_ERROR || PERMANENT_ANALYSIS_ERRORS.has(error.name)) {
      this.log(`${task.taskId}: ${error.message}`);
      await delivery.term(error.message);
      return;
    }
    this.log(`${task.taskId} failed on delivery ${delivery.deliveryCount}/${delivery.maxDeliveries}: ${error.message}`);
    throw error;
  }
}
