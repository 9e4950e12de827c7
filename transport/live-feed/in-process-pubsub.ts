/**
 * The live feed within one process: topics travel over the in-process bus (the one the embedded
 * transport's buses use), each subscriber with its own bounded queue that it pulls from.
 */
import { topicRoutingKey, type TopicName, type TopicPayload } from "../../schema/subjects.js";
import { InProcessBus } from "../in-process-bus.js";
import type { SwampPubSub, TopicSubscription } from "./pubsub.js";

/** Events a subscriber may fall behind by before it is cut off rather than grow without bound. */
const DEFAULT_MAX_BUFFERED = 10_000;

export class SubscriberTooSlowError extends Error {
  constructor(routingKey: string, limit: number) {
    super(`subscription to ${routingKey} fell more than ${limit} events behind and was closed`);
    this.name = "SubscriberTooSlowError";
  }
}

/** One subscriber's queue: events wait here until the consumer pulls them. */
class QueueSubscription<P> implements TopicSubscription<P> {
  private readonly buffered: P[] = [];
  private readonly waiting: Array<{ resolve: (r: IteratorResult<P, undefined>) => void; reject: (e: unknown) => void }> = [];
  private ended = false;
  private failure: Error | null = null;

  constructor(
    private readonly maxBuffered: number,
    private readonly routingKey: string,
    private readonly onEnd: (subscription: QueueSubscription<P>) => void,
  ) {}

  push(event: P): void {
    if (this.ended) return;
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter.resolve({ value: event, done: false });
      return;
    }
    if (this.buffered.length >= this.maxBuffered) {
      this.fail(new SubscriberTooSlowError(this.routingKey, this.maxBuffered));
      return;
    }
    this.buffered.push(event);
  }

  next(): Promise<IteratorResult<P, undefined>> {
    if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift()!, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<P, undefined>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private fail(error: Error): void {
    this.failure = error;
    this.buffered.length = 0;
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    for (const waiter of this.waiting.splice(0)) {
      if (this.failure) waiter.reject(this.failure);
      else waiter.resolve({ value: undefined, done: true });
    }
  }
}

/** Delivers events to the subscribers of this process only. */
export class InProcessPubSub implements SwampPubSub {
  private readonly subscriptions = new Set<QueueSubscription<unknown>>();
  private closed = false;

  /** `bus`: share the process's bus (the embedded transport's); by default one of its own. */
  constructor(
    private readonly maxBuffered = DEFAULT_MAX_BUFFERED,
    private readonly bus: InProcessBus<unknown> = new InProcessBus<unknown>(),
  ) {}

  async publish<T extends TopicName>(topic: T, experimentId: string, payload: TopicPayload<T>): Promise<void> {
    this.bus.publish(topicRoutingKey(topic, experimentId), payload);
  }

  async subscribe<T extends TopicName>(topic: T, experimentId: string): Promise<TopicSubscription<TopicPayload<T>>> {
    if (this.closed) throw new Error("the PubSub is closed");
    const routingKey = topicRoutingKey(topic, experimentId);
    // Assigned before any delivery: the bus delivers only on a later publish.
    let onBus: { end(): void } | undefined;
    const subscription = new QueueSubscription<TopicPayload<T>>(this.maxBuffered, routingKey, (ended) => {
      onBus?.end();
      this.subscriptions.delete(ended as QueueSubscription<unknown>);
    });
    onBus = this.bus.subscribe(routingKey, (_subject, payload) => subscription.push(payload as TopicPayload<T>), { literal: true });
    this.subscriptions.add(subscription as QueueSubscription<unknown>);
    return subscription;
  }

  /** Number of live subscriptions, for tests and diagnostics. */
  subscriberCount(): number {
    return this.subscriptions.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of [...this.subscriptions]) await subscription.return();
  }
}
