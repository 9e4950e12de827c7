/**
 * In-process publish/subscribe with NATS subject matching (`*` matches one token) and queue groups
 * (one member of a group receives each message). Messages travel as bytes and are delivered
 * asynchronously, as they would be over NATS.
 */
import { decodeMessage } from "../message-codec.js";
import type { FleetMessageType, MessageParseResult } from "../../schema/fleet-messages.js";
import type { TransportLogger } from "../logger.js";
import type { Subscription } from "../subscription.js";

interface LocalSubscriber {
  pattern: string[];
  queueGroup?: string;
  deliver: (subject: string, bytes: Uint8Array) => void;
}

function matches(pattern: string[], subject: string[]): boolean {
  if (pattern.length !== subject.length) return false;
  return pattern.every((token, i) => token === "*" || token === subject[i]);
}

export class LocalBus {
  private readonly subscribers = new Set<LocalSubscriber>();
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly logger: TransportLogger) {}

  publish(subject: string, bytes: Uint8Array): void {
    const tokens = subject.split(".");
    const groups = new Map<string, LocalSubscriber[]>();
    for (const subscriber of this.subscribers) {
      if (!matches(subscriber.pattern, tokens)) continue;
      if (subscriber.queueGroup === undefined) {
        setImmediate(() => subscriber.deliver(subject, bytes));
      } else {
        groups.set(subscriber.queueGroup, [...(groups.get(subscriber.queueGroup) ?? []), subscriber]);
      }
    }
    for (const [group, members] of groups) {
      const turn = this.roundRobin.get(group) ?? 0;
      this.roundRobin.set(group, turn + 1);
      const member = members[turn % members.length]!;
      setImmediate(() => member.deliver(subject, bytes));
    }
  }

  subscribeValidated<T>(
    subject: string,
    queueGroup: string | undefined,
    parse: (json: unknown) => MessageParseResult<T>,
    type: FleetMessageType,
    handler: (message: T) => void | Promise<void>,
  ): Subscription {
    const subscriber: LocalSubscriber = {
      pattern: subject.split("."),
      queueGroup,
      deliver: (actualSubject, bytes) => {
        if (!this.subscribers.has(subscriber)) return;
        const value = decodeMessage(bytes, parse, type, actualSubject, this.logger);
        if (value === undefined) return;
        Promise.resolve()
          .then(() => handler(value))
          .catch((error: unknown) => this.logger.warn(`${type} handler failed: ${(error as Error)?.message}`));
      },
    };
    this.subscribers.add(subscriber);
    return {
      unsubscribe: async () => {
        this.subscribers.delete(subscriber);
      },
    };
  }

  close(): void {
    this.subscribers.clear();
  }
}
