/**
 * The one in-process publish/subscribe bus, routed by subject as over NATS: `*` in a subscribed
 * pattern matches one token, and the members of a queue group share a subject's messages (one of
 * them, in turn, receives each). The embedded transport's metric and control buses carry encoded
 * fleet messages over it; the live feed carries its topics' payloads over it.
 *
 * Delivery is synchronous, in the order subscribers joined (queue groups after plain subscribers);
 * a subscriber that wants NATS's asynchrony defers its own work.
 */

export interface BusSubscribeOptions {
  queueGroup?: string;
  /**
   * Match the subject exactly even if a token is `*`: for subjects built from caller input
   * (the live feed's experiment ids), which must never widen into a wildcard.
   */
  literal?: boolean;
}

/** One subscription; `end()` stops its deliveries, as does closing the bus. */
export interface BusSubscription {
  end(): void;
  /** False once ended or once the bus closed: a delivery deferred before then is dropped. */
  isActive(): boolean;
}

interface BusSubscriber<M> {
  /** Tokens of a wildcard pattern; undefined for a subscriber indexed by its exact subject. */
  pattern: string[] | undefined;
  subject: string;
  queueGroup: string | undefined;
  deliver: (subject: string, message: M) => void;
}

function matches(pattern: string[], subject: string[]): boolean {
  if (pattern.length !== subject.length) return false;
  return pattern.every((token, i) => token === "*" || token === subject[i]);
}

export class InProcessBus<M> {
  /** Exact subjects are looked up (many live-feed subscribers), wildcard patterns scanned (a few). */
  private readonly exact = new Map<string, Set<BusSubscriber<M>>>();
  private readonly wildcards = new Set<BusSubscriber<M>>();
  private readonly roundRobin = new Map<string, number>();

  publish(subject: string, message: M): void {
    const receivers: Array<BusSubscriber<M>> = [];
    for (const subscriber of this.exact.get(subject) ?? []) receivers.push(subscriber);
    if (this.wildcards.size > 0) {
      const tokens = subject.split(".");
      for (const subscriber of this.wildcards) if (matches(subscriber.pattern!, tokens)) receivers.push(subscriber);
    }
    const groups = new Map<string, Array<BusSubscriber<M>>>();
    for (const subscriber of receivers) {
      if (subscriber.queueGroup === undefined) subscriber.deliver(subject, message);
      else groups.set(subscriber.queueGroup, [...(groups.get(subscriber.queueGroup) ?? []), subscriber]);
    }
    for (const [group, members] of groups) {
      const turn = this.roundRobin.get(group) ?? 0;
      this.roundRobin.set(group, turn + 1);
      members[turn % members.length]!.deliver(subject, message);
    }
  }

  subscribe(subject: string, deliver: (subject: string, message: M) => void, options: BusSubscribeOptions = {}): BusSubscription {
    const pattern = options.literal || !subject.split(".").includes("*") ? undefined : subject.split(".");
    const subscriber: BusSubscriber<M> = { pattern, subject, queueGroup: options.queueGroup, deliver };
    if (pattern) {
      this.wildcards.add(subscriber);
      return { end: () => this.wildcards.delete(subscriber), isActive: () => this.wildcards.has(subscriber) };
    }
    let set = this.exact.get(subject);
    if (!set) this.exact.set(subject, (set = new Set()));
    set.add(subscriber);
    return {
      end: () => {
        const current = this.exact.get(subject);
        if (!current?.delete(subscriber)) return;
        if (current.size === 0) this.exact.delete(subject);
      },
      isActive: () => this.exact.get(subject)?.has(subscriber) ?? false,
    };
  }

  /** Subscriptions held, for tests and diagnostics. */
  subscriberCount(): number {
    let count = this.wildcards.size;
    for (const set of this.exact.values()) count += set.size;
    return count;
  }

  close(): void {
    this.exact.clear();
    this.wildcards.clear();
  }
}
