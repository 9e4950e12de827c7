import type { DataSource } from "typeorm";
import type { SwampPubSub } from "../../transport/live-feed/pubsub.js";
import { MetricWindow, windowKey, type MetricWindowFilter, type WindowMember, type WindowMemberOptions } from "./metric-window.js";

/** What the live metric windows of one server have done, for tests and diagnostics. */
export interface MetricWindowCounters {
  /** History reads from the database (one per window opened). */
  historyReads: number;
  /** History snapshots built (one per window state a subscriber joined at). */
  historyBuilds: number;
  /** Live batches built (each once, whatever the number of subscribers). */
  liveBatches: number;
}

/**
 * The open metric windows of one server, keyed by (experiment, cycle, particle, keys): subscribers
 * asking for the same window share its one history read and its batches; a window closes when its
 * last member leaves.
 */
export class MetricWindows {
  private readonly windows = new Map<string, MetricWindow>();
  readonly counters: MetricWindowCounters = { historyReads: 0, historyBuilds: 0, liveBatches: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: SwampPubSub,
  ) {}

  async join(filter: MetricWindowFilter, options: WindowMemberOptions): Promise<WindowMember> {
    for (;;) {
      const key = windowKey(filter);
      let window = this.windows.get(key);
      if (!window) {
        const opened = new MetricWindow(filter, this.dataSource, this.pubsub, this.counters, (closed) => {
          if (this.windows.get(key) === closed) this.windows.delete(key);
        });
        this.windows.set(key, opened);
        window = opened;
      }
      const member = await window.join(options);
      if (member) return member;
      // The window closed while this join waited for its history: open a fresh one.
    }
  }

  /** Open windows and their members, for tests and diagnostics. */
  stats(): { windows: number; members: number } & MetricWindowCounters {
    let members = 0;
    for (const window of this.windows.values()) members += window.memberCount;
    return { windows: this.windows.size, members, ...this.counters };
  }
}

const byPubSub = new WeakMap<SwampPubSub, MetricWindows>();

/** The metric windows of the server publishing on this PubSub (one per server). */
export function metricWindowsOf(dataSource: DataSource, pubsub: SwampPubSub): MetricWindows {
  let windows = byPubSub.get(pubsub);
  if (!windows) byPubSub.set(pubsub, (windows = new MetricWindows(dataSource, pubsub)));
  return windows;
}

/** The metric windows of the server publishing on this PubSub, if one was opened. */
export function existingMetricWindows(pubsub: SwampPubSub): MetricWindows | null {
  return byPubSub.get(pubsub) ?? null;
}
