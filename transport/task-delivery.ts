/**
 * The delivery semantics both queues share: one settlement per delivery, coalesced progress
 * signals, a nak or a failure on the last delivery turning into exhaustion, and what a handler's
 * return or throw means. Implementations supply the five primitive operations.
 */
import type { TaskMessage } from "../schema/fleet-messages.js";
import type { TaskDelivery, TaskHandler } from "./task-queue.js";

type Settlement = "acked" | "nak'd" | "terminated" | "released";

export abstract class TaskDeliveryBase implements TaskDelivery {
  private settlement: Settlement | undefined;
  private lastWorkingSignal = 0;

  constructor(
    readonly task: TaskMessage,
    readonly deliveryCount: number,
    readonly maxDeliveries: number,
    private readonly ackWaitMs: number,
    private readonly retryDelayMs: number,
  ) {}

  protected abstract signalWorking(): void;
  protected abstract doAck(): Promise<void>;
  protected abstract doNak(delayMs: number): Promise<void>;
  /** Removes the task and reports it as exhausted with `reason`. */
  protected abstract doExhaust(reason: string): Promise<void>;
  protected abstract doRelease(): Promise<void>;

  get isLastDelivery(): boolean {
    return this.deliveryCount >= this.maxDeliveries;
  }

  get settled(): boolean {
    return this.settlement !== undefined;
  }

  working(): void {
    if (this.settled) return;
    const now = Date.now();
    if (now - this.lastWorkingSignal < this.ackWaitMs / 4) return;
    this.lastWorkingSignal = now;
    this.signalWorking();
  }

  async ack(): Promise<void> {
    this.settle("acked");
    await this.doAck();
  }

  async nak(delayMs?: number): Promise<void> {
    this.settle("nak'd");
    if (this.isLastDelivery) {
      await this.doExhaust(`given up (nak) on delivery ${this.deliveryCount} of ${this.maxDeliveries}`);
    } else {
      await this.doNak(Math.max(0, delayMs ?? this.retryDelayMs));
    }
  }

  async term(reason: string): Promise<void> {
    this.settle("terminated");
    await this.doExhaust(reason.trim() === "" ? "terminated by the worker" : reason);
  }

  async release(): Promise<void> {
    this.settle("released");
    await this.doRelease();
  }

  /** What a handler's throw means: retry later, or exhaust with its message on the last delivery. */
  async fail(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.settle("nak'd");
    if (this.isLastDelivery) {
      await this.doExhaust(`failed on delivery ${this.deliveryCount} of ${this.maxDeliveries}: ${message}`);
    } else {
      await this.doNak(this.retryDelayMs);
    }
  }

  private settle(as: Settlement): void {
    if (this.settlement !== undefined) throw new Error(`task ${this.task.taskId} was already ${this.settlement} on this delivery`);
    this.settlement = as;
  }
}

/** Runs a handler on a delivery and settles what the handler left unsettled. */
export async function runTaskHandler(handler: TaskHandler, delivery: TaskDeliveryBase, onError: (message: string) => void): Promise<void> {
  let failure: { error: unknown } | undefined;
  try {
    await handler(delivery);
  } catch (error) {
    failure = { error };
  }
  try {
    if (failure === undefined) {
      if (!delivery.settled) await delivery.ack();
      return;
    }
    const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
    onError(`task ${delivery.task.taskId} failed on delivery ${delivery.deliveryCount} of ${delivery.maxDeliveries}: ${message}`);
    if (!delivery.settled) await delivery.fail(failure.error);
  } catch (settleError) {
    onError(`could not settle task ${delivery.task.taskId}: ${(settleError as Error)?.message ?? String(settleError)}`);
  }
}
