import type { TopicName, TopicPayload } from "../../schema/subjects.js";

/** A live subscription to one topic of one experiment; `return()` ends it and frees its buffer. */
export interface TopicSubscription<P> extends AsyncIterableIterator<P> {
  return(): Promise<IteratorResult<P, undefined>>;
}

/**
 * What the server publishes live events through. The in-process one serves a single server; a
 * shared one (NATS-backed, in the fleet) lets several replicas serve the same subscribers.
 *
 * `subscribe` resolves only once the subscription is registered, so an event published after it
 * resolves is never missed: subscribers that also read stored history rely on that to leave no gap.
 */
export interface SwampPubSub {
  publish<T extends TopicName>(topic: T, experimentId: string, payload: TopicPayload<T>): Promise<void>;
  subscribe<T extends TopicName>(topic: T, experimentId: string): Promise<TopicSubscription<TopicPayload<T>>>;
  close(): Promise<void>;
}

export interface LiveFeedOptions {
  /** Events one subscriber may fall behind by before it is cut off. */
  maxBuffered?: number;
  log?: (line: string) => void;
}
