/**
 * Task results, stored durably until the coordinator has recorded them: a result published while
 * no consumer runs (the server is down) waits for one.
 */
import type { TaskResult, TaskResultInput } from "../schema/fleet-messages.js";

export interface ResultDeliveryInfo {
  /** 1 on the first delivery; more when an earlier handler threw or its process died. */
  deliveryCount: number;
}

/**
 * Records one result. Resolving acknowledges it; throwing delivers it again after the retry delay.
 * The same result may arrive more than once (redelivery, a re-run task): record idempotently.
 */
export type ResultHandler = (result: TaskResult, info: ResultDeliveryInfo) => Promise<void>;

export interface ConsumeResultsOptions {
  /** Results handled at once; default 1 (in arrival order). */
  concurrency?: number;
  /** Delay before a result whose handler threw is delivered again; default 1000 ms. */
  retryDelayMs?: number;
}

export interface ResultConsumer {
  stop(): Promise<void>;
}

export interface ResultStream {
  /** Validates (throws InvalidMessageError) and resolves once the result is stored durably. */
  publish(result: TaskResultInput): Promise<void>;
  consume(handler: ResultHandler, options?: ConsumeResultsOptions): ResultConsumer;
  /**
   * Results stored and not yet recorded (pending or being recorded). At start-up the coordinator
   * records these before it resumes experiments. Always 0 in embedded mode, whose results do not
   * outlive the process.
   */
  backlog(): Promise<number>;
}
