/**
 * The work queue of tasks. Each task is delivered to one consumer at a time; a delivery that is not
 * acknowledged within the ack wait (kept alive by `working()`) or that is nak'd is delivered again,
 * up to `maxDeliveries` times. A task that will not be delivered again (its last delivery failed, it
 * was terminated, or it was never acknowledged) is reported once to the `onExhausted` handler.
 */
import type { BackendName } from "../schema/config.js";
import type { TaskMessage } from "../schema/fleet-messages.js";

export interface TaskQueueSettings {
  /** How long a delivery may go without `ack`/`working()` before it is delivered again. */
  ackWaitMs: number;
  /** Deliveries of one task before it is given up (counting the first). */
  maxDeliveries: number;
  /** Delay before a task whose handler threw is delivered again. */
  retryDelayMs: number;
}

export const DEFAULT_TASK_QUEUE_SETTINGS: TaskQueueSettings = {
  ackWaitMs: 60_000,
  maxDeliveries: 4,
  retryDelayMs: 2_000,
};

export interface TaskDelivery {
  readonly task: TaskMessage;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly maxDeliveries: number;
  /** True when a failure now exhausts the task instead of retrying it. */
  readonly isLastDelivery: boolean;
  /** True once ack, nak, term or release was called. */
  readonly settled: boolean;
  /**
   * Restarts the ack wait. Cheap to call often (on every progress report): calls closer together
   * than a quarter of the ack wait are coalesced.
   */
  working(): void;
  /** Done: the task is removed from the queue. Call it after the result was published. */
  ack(): Promise<void>;
  /**
   * This attempt failed: deliver the task again after `delayMs` (default: the queue's retry delay).
   * On the last delivery the task is exhausted instead.
   */
  nak(delayMs?: number): Promise<void>;
  /** The task cannot succeed: it is removed and reported to `onExhausted` with `reason`. */
  term(reason: string): Promise<void>;
  /**
   * Gives the task back without counting this delivery as a failure (a worker shutting down):
   * it is queued again with a fresh delivery count.
   */
  release(): Promise<void>;
}

/**
 * Runs one delivery. Resolving without settling acks it; throwing naks it (or, on the last
 * delivery, exhausts it with the error's message as the reason).
 */
export type TaskHandler = (delivery: TaskDelivery) => Promise<void>;

export interface ConsumeTasksOptions {
  /** Deliveries handled at once (a worker's free slots). Default 1. */
  concurrency?: number;
  /**
   * The backend the consumer runs: it takes the tasks routed to that backend besides those any
   * worker may run (`backend: "any"`). Absent: only the latter.
   */
  backend?: BackendName;
}

/** Whether a consumer running `backend` may take the task. */
export function mayRun(task: Pick<TaskMessage, "backend">, backend: BackendName | undefined): boolean {
  return task.backend === "any" || task.backend === backend;
}

export interface TaskConsumer {
  /** Deliveries being handled now. */
  readonly active: number;
  /** Stops taking tasks and waits for the handlers running now to finish. */
  stop(): Promise<void>;
}

export type ExhaustionHandler = (task: TaskMessage, reason: string, deliveries: number) => Promise<void> | void;

export interface ExhaustionWatch {
  stop(): Promise<void>;
}

export type PublishTaskOutcome = { queued: true } | { queued: false; reason: "already-queued" };

export interface TaskQueue {
  readonly settings: TaskQueueSettings;
  /**
   * Queues a task (validated first; throws InvalidMessageError). A task whose id is already queued
   * or being worked on is not queued twice: `{ queued: false }`.
   */
  publish(task: TaskMessage): Promise<PublishTaskOutcome>;
  consume(handler: TaskHandler, options?: ConsumeTasksOptions): TaskConsumer;
  /**
   * Reports every exhausted task once, durably: reports made while no handler runs wait for one.
   * A handler that throws gets the report again after the retry delay. One handler per deployment
   * (the coordinator); several share the reports.
   */
  onExhausted(handler: ExhaustionHandler): Promise<ExhaustionWatch>;
  /** Removes the experiment's queued and running tasks; returns how many were removed. */
  removeExperiment(experimentId: string): Promise<number>;
  /** Ids of the experiment's tasks that are queued or being worked on, sorted. */
  queuedTaskIds(experimentId: string): Promise<string[]>;
  /**
   * Takes the tasks an older version queued where no consumer of this version looks (over NATS:
   * the subjects of the version before task routes): each readable one is handed to `take`, then
   * removed; a `take` that throws ends the drain, leaving that task and the rest for the next start. Returns how many were removed.
   * Absent where no older version can have queued anything (embedded: the queue is in memory).
   */
  drainLegacyTasks?(take: (task: TaskMessage) => Promise<void>): Promise<number>;
}
