import { topicRoutingKey, type TopicName, type TopicPayload } from "../../schema/topics.js";
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
  private readonly subscribers = new Map<string, Set<QueueSubscription<unknown>>>();
  private closed = false;

  constructor(private readonly maxBuffered = DEFAULT_MAX_BUFFERED) {}

  async publish<T extends TopicName>(topic: T, experimentId: string, payload: TopicPayload<T>): Promise<void> {
    const subscribers = this.subscribers.get(topicRoutingKey(topic, experimentId));
    if (!subscribers) return;
    for (const subscriber of [...subscribers]) subscriber.push(payload);
  }

  async subscribe<T extends TopicName>(topic: T, experimentId: string): Promise<TopicSubscription<TopicPayload<T>>> {
    if (this.closed) throw new Error("the PubSub is closed");
    const routingKey = topicRoutingKey(topic, experimentId);
    let set = this.subscribers.get(routingKey);
    if (!set) this.subscribers.set(routingKey, (set = new Set()));
    const subscription = new QueueSubscription<TopicPayload<T>>(this.maxBuffered, routingKey, (ended) => {
      const current = this.subscribers.get(routingKey);
      current?.delete(ended as QueueSubscription<unknown>);
      if (current?.size === 0) this.subscribers.delete(routingKey);
    });
    set.add(subscription as QueueSubscription<unknown>);
    return subscription;
  }

  /** Number of live subscriptions, for tests and diagnostics. */
  subscriberCount(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of [...this.subscribers.values()]) for (const subscription of [...set]) await subscription.return();
  }
}
