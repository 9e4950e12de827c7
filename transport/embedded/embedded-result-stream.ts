/**
 * Results held in memory until a consumer has recorded them: published results wait while no
 * consumer runs, and a handler that throws gets its result again after the retry delay.
 */
import { parseTaskResult, requireMessage, type TaskResultInput } from "../../schema/fleet-messages.js";
import type { TransportLogger } from "../logger.js";
import type { ConsumeResultsOptions, ResultConsumer, ResultHandler, ResultStream } from "../result-stream.js";

interface StoredResult {
  key: string;
  json: string;
  deliveries: number;
  availableAt: number;
  inFlight: boolean;
}

interface LocalResultConsumer {
  handler: ResultHandler;
  concurrency: number;
  retryDelayMs: number;
  active: number;
  running: Set<Promise<void>>;
}

export class EmbeddedResultStream implements ResultStream {
  private readonly stored: StoredResult[] = [];
  private readonly consumers: LocalResultConsumer[] = [];
  private dispatchScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly logger: TransportLogger) {}

  async publish(result: TaskResultInput): Promise<void> {
    const valid = requireMessage("result", parseTaskResult(JSON.parse(JSON.stringify(result))));
    const json = JSON.stringify(valid);
    // As with the NATS message id: the same attempt's result published twice is stored once.
    const key = `${valid.taskId}|${valid.workerId}|${valid.attempt}|${valid.outcome}`;
    if (this.stored.some((entry) => entry.key === key)) return;
    this.stored.push({ key, json, deliveries: 0, availableAt: Date.now(), inFlight: false });
    this.scheduleDispatch();
  }

  consume(handler: ResultHandler, options: ConsumeResultsOptions = {}): ResultConsumer {
    const consumer: LocalResultConsumer = {
      handler,
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 1)),
      retryDelayMs: options.retryDelayMs ?? 1_000,
      active: 0,
      running: new Set(),
    };
    this.consumers.push(consumer);
    this.scheduleDispatch();
    return {
      stop: async () => {
        const index = this.consumers.indexOf(consumer);
        if (index >= 0) this.consumers.splice(index, 1);
        await Promise.all([...consumer.running]);
      },
    };
  }

  /** 0: nothing stored here outlives the process, so a starting coordinator has nothing to catch up on. */
  async backlog(): Promise<number> {
    return 0;
  }

  /** Stops delivering and waits for the running handlers. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.consumers.splice(0).flatMap((consumer) => [...consumer.running]);
    await Promise.all(running);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
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
    for (const entry of this.stored) {
      if (entry.inFlight) continue;
      if (entry.availableAt > now) {
        earliestWaiting = Math.min(earliestWaiting, entry.availableAt);
        continue;
      }
      const consumer = this.consumers.find((candidate) => candidate.active < candidate.concurrency);
      if (consumer === undefined) break;
      this.deliver(entry, consumer);
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = earliestWaiting === Infinity ? undefined : setTimeout(() => this.scheduleDispatch(), earliestWaiting - now);
  }

  private deliver(entry: StoredResult, consumer: LocalResultConsumer): void {
    entry.inFlight = true;
    entry.deliveries++;
    consumer.active++;
    const result = requireMessage("result", parseTaskResult(JSON.parse(entry.json)));
    const running: Promise<void> = Promise.resolve()
      .then(() => consumer.handler(result, { deliveryCount: entry.deliveries }))
      .then(
        () => {
          const index = this.stored.indexOf(entry);
          if (index >= 0) this.stored.splice(index, 1);
        },
        (error: unknown) => {
          this.logger.warn(`recording result of task ${result.taskId} failed (${(error as Error)?.message}); it will be delivered again`);
          entry.inFlight = false;
          entry.availableAt = Date.now() + consumer.retryDelayMs;
        },
      )
      .finally(() => {
        consumer.active--;
        consumer.running.delete(running);
        this.scheduleDispatch();
      });
    consumer.running.add(running);
  }
}
