/**
 * The live feed over NATS, so several server replicas serve the same subscribers: an event any
 * replica publishes reaches the GraphQL subscriptions of every replica. Each replica holds one
 * NATS subscription per topic and experiment that someone here listens to, and fans it out to its
 * local subscribers (with their own bounded buffers).
 */
import type { NatsConnection, Subscription as NatsSubscription } from "@nats-io/transport-node";
import { fleetNames, parseTopicPayload, type FleetNames, type TopicName, type TopicPayload } from "../../schema/subjects.js";
import { InProcessPubSub } from "../live-feed/in-process-pubsub.js";
import type { SwampPubSub, TopicSubscription } from "../live-feed/pubsub.js";

export interface NatsPubSubOptions {
  /** Keeps deployments (and tests) on one NATS server apart; as SWAMP_NATS_NAMESPACE. */
  namespace?: string;
  /** Events one subscriber may fall behind by before it is cut off. */
  maxBuffered?: number;
  log?: (line: string) => void;
}

interface SharedSubscription {
  subscription: NatsSubscription;
  /** Resolves once the server has the subscription: events published afterwards reach us. */
  ready: Promise<void>;
  users: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NatsPubSub implements SwampPubSub {
  private readonly local: InProcessPubSub;
  private readonly shared = new Map<string, SharedSubscription>();
  private readonly names: FleetNames;
  private readonly log: (line: string) => void;
  private closed = false;

  constructor(
    private readonly connection: NatsConnection,
    options: NatsPubSubOptions = {},
  ) {
    this.local = new InProcessPubSub(options.maxBuffered);
    this.names = fleetNames(options.namespace);
    this.log = options.log ?? ((line) => console.warn(line));
  }

  subjectOf(topic: TopicName, experimentId: string): string {
    return this.names.liveFeedSubject(topic, experimentId);
  }

  async publish<T extends TopicName>(topic: T, experimentId: string, payload: TopicPayload<T>): Promise<void> {
    const subject = this.subjectOf(topic, experimentId);
    for (const part of this.split(topic, payload)) this.connection.publish(subject, encoder.encode(JSON.stringify(part)));
  }

  async subscribe<T extends TopicName>(topic: T, experimentId: string): Promise<TopicSubscription<TopicPayload<T>>> {
    if (this.closed) throw new Error("the PubSub is closed");
    const subject = this.subjectOf(topic, experimentId);
    const local = await this.local.subscribe(topic, experimentId);
    let entry = this.shared.get(subject);
    if (!entry) {
      const subscription = this.connection.subscribe(subject, {
        callback: (error, message) => {
          if (error) return this.log(`live feed ${subject}: ${error.message}`);
          let json: unknown;
          try {
            json = JSON.parse(decoder.decode(message.data));
          } catch (parseError) {
            return this.log(`live feed ${subject}: dropped an event that is not JSON (${(parseError as Error).message})`);
          }
          const payload = parseTopicPayload(topic, experimentId, json);
          if (!payload.ok) return this.log(`live feed ${subject}: dropped a malformed ${topic} event: ${payload.problems}`);
          void this.local.publish(topic, experimentId, payload.value);
        },
      });
      entry = { subscription, ready: this.connection.flush(), users: 0 };
      this.shared.set(subject, entry);
    }
    entry.users++;
    try {
      await entry.ready;
    } catch (error) {
      this.release(subject);
      await local.return();
      throw error;
    }
    return this.releasingOnEnd(local, subject);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.local.close();
    for (const entry of this.shared.values()) entry.subscription.unsubscribe();
    this.shared.clear();
  }

  /** Number of NATS subscriptions held, for tests and diagnostics. */
  sharedSubscriptionCount(): number {
    return this.shared.size;
  }

  private release(subject: string): void {
    const entry = this.shared.get(subject);
    if (!entry || --entry.users > 0) return;
    this.shared.delete(subject);
    entry.subscription.unsubscribe();
  }

  /** The local subscription, releasing the NATS one once it ends (returned, done, or cut off). */
  private releasingOnEnd<P>(local: TopicSubscription<P>, subject: string): TopicSubscription<P> {
    let released = false;
    const releaseOnce = () => {
      if (released) return;
      released = true;
      this.release(subject);
    };
    const wrapped: TopicSubscription<P> = {
      async next() {
        try {
          const step = await local.next();
          if (step.done) releaseOnce();
          return step;
        } catch (error) {
          releaseOnce();
          throw error;
        }
      },
      async return() {
        releaseOnce();
        return local.return();
      },
      [Symbol.asyncIterator]() {
        return wrapped;
      },
    };
    return wrapped;
  }

  /** NATS caps a message's size (1 MiB by default): a large batch of points travels in parts. */
  private split<T extends TopicName>(topic: T, payload: TopicPayload<T>): Array<TopicPayload<T>> {
    const limit = Math.floor((this.connection.info?.max_payload ?? 1024 * 1024) * 0.9);
    if (topic !== "metrics-appended") return [payload];
    const parts: Array<TopicPayload<T>> = [];
    const pending: Array<TopicPayload<"metrics-appended">> = [payload as TopicPayload<"metrics-appended">];
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part.points.length <= 1 || encoder.encode(JSON.stringify(part)).byteLength <= limit) {
        parts.push(part as TopicPayload<T>);
        continue;
      }
      const half = Math.ceil(part.points.length / 2);
      pending.unshift({ ...part, points: part.points.slice(0, half) }, { ...part, points: part.points.slice(half) });
    }
    return parts;
  }
}
