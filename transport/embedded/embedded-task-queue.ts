/**
 * The task queue in one process, with the JetStream queue's semantics: one delivery at a time per
 * task, redelivery after a nak or a missed ack deadline, delivery counting, a delivery limit, and
 * exhausted tasks reported once to the exhaustion handler (held until one is registered).
 */
import { parseTaskMessage, requireMessage, type TaskMessage } from "../../schema/fleet-messages.js";
import type { BackendName } from "../../schema/config.js";
import type { TransportLogger } from "../logger.js";
import { TaskDeliveryBase, runTaskHandler } from "../task-delivery.js";
import {
  mayRun,
  type ConsumeTasksOptions,
  type ExhaustionHandler,
  type ExhaustionWatch,
  type PublishTaskOutcome,
  type TaskConsumer,
  type TaskHandler,
  type TaskQueue,
  type TaskQueueSettings,
} from "../task-queue.js";

interface QueuedTask {
  /** The task as it would arrive over the wire: every delivery parses its own copy. */
  json: string;
  task: TaskMessage;
  deliveries: number;
  availableAt: number;
  inFlight?: { token: number; deadline: NodeJS.Timeout };
}

interface LocalConsumer {
  handler: TaskHandler;
  backend: BackendName | undefined;
  concurrency: number;
  active: number;
  running: Set<Promise<void>>;
}

interface PendingExhaustion {
  task: TaskMessage;
  reason: string;
  deliveries: number;
}

class EmbeddedTaskDelivery extends TaskDeliveryBase {
  constructor(
    private readonly queue: EmbeddedTaskQueue,
    private readonly entry: QueuedTask,
    private readonly token: number,
    settings: TaskQueueSettings,
  ) {
    super(requireMessage("task", parseTaskMessage(JSON.parse(entry.json))), entry.deliveries, settings.maxDeliveries, settings.ackWaitMs, settings.retryDelayMs);
  }
  protected signalWorking(): void {
    this.queue.extendDeadline(this.entry, this.token);
  }
  protected async doAck(): Promise<void> {
    this.queue.settle(this.entry, this.token, { remove: true });
  }
  protected async doNak(delayMs: number): Promise<void> {
    this.queue.settle(this.entry, this.token, { retryInMs: delayMs });
  }
  protected async doExhaust(reason: string): Promise<void> {
    this.queue.settle(this.entry, this.token, { exhaustReason: reason });
  }
  protected async doRelease(): Promise<void> {
    this.queue.settle(this.entry, this.token, { release: true });
  }
}

type Settlement = { remove: true } | { retryInMs: number } | { exhaustReason: string } | { release: true };

export class EmbeddedTaskQueue implements TaskQueue {
  /** Insertion-ordered: the queue's FIFO order. */
  private readonly entries = new Map<string, QueuedTask>();
  private readonly consumers: LocalConsumer[] = [];
  private nextConsumer = 0;
  private nextToken = 1;
  private dispatchScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly exhaustionHandlers: ExhaustionHandler[] = [];
  private readonly pendingExhaustions: PendingExhaustion[] = [];
  private readonly exhaustionTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly settings: TaskQueueSettings,
    private readonly logger: TransportLogger,
  ) {}

  async publish(task: TaskMessage): Promise<PublishTaskOutcome> {
    const valid = requireMessage("task", parseTaskMessage(JSON.parse(JSON.stringify(task))));
    const json = JSON.stringify(valid);
    if (this.entries.has(valid.taskId)) return { queued: false, reason: "already-queued" };
    this.entries.set(valid.taskId, { json, task: valid, deliveries: 0, availableAt: Date.now() });
    this.scheduleDispatch();
    return { queued: true };
  }

  consume(handler: TaskHandler, options: ConsumeTasksOptions = {}): TaskConsumer {
    const consumer: LocalConsumer = { handler, backend: options.backend, concurrency: Math.max(1, Math.floor(options.concurrency ?? 1)), active: 0, running: new Set() };
    this.consumers.push(consumer);
    this.scheduleDispatch();
    return {
      get active() {
        return consumer.active;
      },
      stop: async () => {
        const index = this.consumers.indexOf(consumer);
        if (index >= 0) this.consumers.splice(index, 1);
        await Promise.all([...consumer.running]);
      },
    };
  }

  async onExhausted(handler: ExhaustionHandler): Promise<ExhaustionWatch> {
    this.exhaustionHandlers.push(handler);
    for (const pending of this.pendingExhaustions.splice(0)) this.reportExhaustion(pending);
    return {
      stop: async () => {
        const index = this.exhaustionHandlers.indexOf(handler);
        if (index >= 0) this.exhaustionHandlers.splice(index, 1);
      },
    };
  }

  async removeExperiment(experimentId: string): Promise<number> {
    let removed = 0;
    for (const [taskId, entry] of this.entries) {
      if (entry.task.experimentId !== experimentId) continue;
      if (entry.inFlight) clearTimeout(entry.inFlight.deadline);
      this.entries.delete(taskId);
      removed++;
    }
    const kept = this.pendingExhaustions.filter((pending) => pending.task.experimentId !== experimentId);
    this.pendingExhaustions.splice(0, this.pendingExhaustions.length, ...kept);
    return removed;
  }

  async queuedTaskIds(experimentId: string): Promise<string[]> {
    return [...this.entries.values()].filter((entry) => entry.task.experimentId === experimentId).map((entry) => entry.task.taskId).sort();
  }

  /** Stops delivering and waits for the running handlers. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.consumers.splice(0).flatMap((consumer) => [...consumer.running]);
    await Promise.all(running);
    for (const entry of this.entries.values()) if (entry.inFlight) clearTimeout(entry.inFlight.deadline);
    for (const timer of this.exhaustionTimers) clearTimeout(timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  /** @internal A delivery's progress signal. */
  extendDeadline(entry: QueuedTask, token: number): void {
    if (!this.isCurrent(entry, token)) return;
    clearTimeout(entry.inFlight!.deadline);
    entry.inFlight!.deadline = this.startDeadline(entry, token);
  }

  /** @internal A delivery's settlement; stale deliveries (past their deadline, or removed) change nothing. */
  settle(entry: QueuedTask, token: number, settlement: Settlement): void {
    if (!this.isCurrent(entry, token)) return;
    clearTimeout(entry.inFlight!.deadline);
    entry.inFlight = undefined;
    if ("remove" in settlement) {
      this.entries.delete(entry.task.taskId);
    } else if ("retryInMs" in settlement) {
      entry.availableAt = Date.now() + settlement.retryInMs;
    } else if ("exhaustReason" in settlement) {
      this.exhaust(entry, settlement.exhaustReason);
    } else {
      // Released: back of the queue with a fresh delivery count, as a republished message would be.
      this.entries.delete(entry.task.taskId);
      entry.deliveries = 0;
      entry.availableAt = Date.now();
      this.entries.set(entry.task.taskId, entry);
    }
    this.scheduleDispatch();
  }

  private isCurrent(entry: QueuedTask, token: number): boolean {
    return this.entries.get(entry.task.taskId) === entry && entry.inFlight?.token === token;
  }

  private startDeadline(entry: QueuedTask, token: number): NodeJS.Timeout {
    return setTimeout(() => {
      if (!this.isCurrent(entry, token)) return;
      entry.inFlight = undefined;
      if (entry.deliveries >= this.settings.maxDeliveries) {
        this.exhaust(
          entry,
          `not acknowledged on any of its ${entry.deliveries} deliveries (ack wait ${this.settings.ackWaitMs / 1000} s each): ` +
            "the worker died, stalled or stopped signalling progress",
        );
      } else {
        entry.availableAt = Date.now();
      }
      this.scheduleDispatch();
    }, this.settings.ackWaitMs);
  }

  private exhaust(entry: QueuedTask, reason: string): void {
    this.entries.delete(entry.task.taskId);
    this.reportExhaustion({ task: entry.task, reason, deliveries: entry.deliveries });
  }

  private reportExhaustion(pending: PendingExhaustion): void {
    if (this.closed) return;
    const handler = this.exhaustionHandlers[0];
    if (handler === undefined) {
      this.pendingExhaustions.push(pending);
      return;
    }
    Promise.resolve()
      .then(() => handler(pending.task, pending.reason, pending.deliveries))
      .catch((error: unknown) => {
        this.logger.warn(`exhaustion handler failed for task ${pending.task.taskId} (${(error as Error)?.message}); retrying`);
        const timer = setTimeout(() => {
          this.exhaustionTimers.delete(timer);
          this.reportExhaustion(pending);
        }, this.settings.retryDelayMs);
        this.exhaustionTimers.add(timer);
      });
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.closed) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.closed) return;
    const now = Date.now();
    let earliestWaiting = Infinity;
    for (const entry of this.entries.values()) {
      if (entry.inFlight) continue;
      if (entry.availableAt > now) {
        earliestWaiting = Math.min(earliestWaiting, entry.availableAt);
        continue;
      }
      // A task routed to a backend no consumer here runs waits, as it would in the fleet.
      const consumer = this.freeConsumer(entry.task);
      if (consumer === undefined) continue;
      this.deliver(entry, consumer);
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = earliestWaiting === Infinity ? undefined : setTimeout(() => this.scheduleDispatch(), earliestWaiting - now);
  }

  /** Round robin over the consumers with a free slot that may run the task. */
  private freeConsumer(task: TaskMessage): LocalConsumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const consumer = this.consumers[(this.nextConsumer + i) % this.consumers.length]!;
      if (consumer.active < consumer.concurrency && mayRun(task, consumer.backend)) {
        this.nextConsumer = (this.nextConsumer + i + 1) % this.consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  private deliver(entry: QueuedTask, consumer: LocalConsumer): void {
    const token = this.nextToken++;
    entry.deliveries++;
    entry.inFlight = { token, deadline: this.startDeadline(entry, token) };
    consumer.active++;
    const delivery = new EmbeddedTaskDelivery(this, entry, token, this.settings);
    const running: Promise<void> = runTaskHandler(consumer.handler, delivery, (line) => this.logger.warn(line)).finally(() => {
      consumer.active--;
      consumer.running.delete(running);
      this.scheduleDispatch();
    });
    consumer.running.add(running);
  }
}
