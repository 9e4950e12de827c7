import type { DataSource } from "typeorm";
import type { ExperimentConfig } from "../../schema/config.js";
import { experimentStep, type MetricPoint } from "../../schema/metrics.js";
import type { SwampPubSub, TopicSubscription } from "../../transport/live-feed/pubsub.js";
import { requireExperiment } from "../services/experiments.js";
import { readMetricHistory } from "../services/metrics.js";

/** One series of a batch, as columns: entry i of every array is one point. */
export interface MetricColumnSeries {
  cycle: number;
  particle: number | null;
  key: string;
  steps: number[];
  globalSteps: number[];
  epochs: number[];
  values: number[];
  /** Milliseconds since the Unix epoch. */
  times: number[];
}

/** What a `metricColumns` subscriber receives; one object is shared by every subscriber it goes to. */
export interface MetricColumnBatch {
  experimentId: string;
  history: boolean;
  /** True on the last history batch: the replay is complete and live batches follow. */
  historyComplete: boolean;
  series: MetricColumnSeries[];
  /** Points in the batch. */
  size: number;
}

/** Which points a subscriber asked for; subscribers asking for the same window share one. */
export interface MetricWindowFilter {
  experimentId: string;
  cycle: number | null;
  particle: number | null;
  /** Sorted; null for every key. */
  keys: string[] | null;
}

/** Points per history batch: small enough that one socket never holds much, large enough to be cheap. */
export const HISTORY_CHUNK_POINTS = 5_000;
/** What one queued point is taken to cost in a subscriber's backlog, in bytes of JSON. */
export const QUEUED_POINT_BYTES = 64;

export function windowKey(filter: MetricWindowFilter): string {
  return JSON.stringify([filter.experimentId, filter.cycle, filter.particle, filter.keys]);
}

interface StoredSeries extends MetricColumnSeries {
  seen: Set<number>;
}

export interface WindowMemberOptions {
  /** Called once when the backlog exceeds the limit; the member has ended by then. */
  onTooSlow: (backlogBytes: number) => void;
  /** Bytes of queued live batches a member may hold (QUEUED_POINT_BYTES a point) plus `extraBacklog()`. */
  maxBacklogBytes: number;
  /** Bytes already buffered downstream (the socket's bufferedAmount). */
  extraBacklog: () => number;
  /** Called once when the member ends, whatever the cause. */
  onEnd?: () => void;
}

/**
 * One subscriber of a window: its history (the window's snapshot when it joined), then every live
 * batch appended after, in order. `return()` drops it from the window at once: nothing is queued,
 * read or serialised for it afterwards.
 */
export class WindowMember implements AsyncIterableIterator<MetricColumnBatch> {
  private readonly queue: MetricColumnBatch[];
  private queuedLivePoints = 0;
  private waiter: ((result: IteratorResult<MetricColumnBatch, undefined>) => void) | null = null;
  private ended = false;

  constructor(
    history: MetricColumnBatch[],
    private readonly options: WindowMemberOptions,
    private readonly leave: (member: WindowMember) => void,
  ) {
    this.queue = [...history];
  }

  push(batch: MetricColumnBatch): void {
    if (this.ended) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve({ value: batch, done: false });
      return;
    }
    const backlog = (this.queuedLivePoints + batch.size) * QUEUED_POINT_BYTES + this.options.extraBacklog();
    if (backlog > this.options.maxBacklogBytes) {
      this.end();
      this.options.onTooSlow(backlog);
      return;
    }
    this.queue.push(batch);
    this.queuedLivePoints += batch.size;
  }

  next(): Promise<IteratorResult<MetricColumnBatch, undefined>> {
    const batch = this.queue.shift();
    if (batch) {
      if (!batch.history) this.queuedLivePoints -= batch.size;
      return Promise.resolve({ value: batch, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<MetricColumnBatch, undefined>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.queuedLivePoints = 0;
    this.leave(this);
    this.options.onEnd?.();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
  }
}

/**
 * The points of one (experiment, cycle, particle, keys) window, shared by all its subscribers: the
 * history is read once (the live subscription registered first, points already read dropped when
 * they arrive live), kept in memory as columns while anyone listens, and each live batch is built
 * once and handed to every member. A joining member gets the window's current points as its
 * history, and every later batch live: no gap, no duplicate. The history batches of one state are
 * built once and shared until the next live batch changes the state.
 */
export class MetricWindow {
  private readonly series = new Map<string, StoredSeries>();
  private readonly members = new Set<WindowMember>();
  private snapshot: MetricColumnBatch[] | null = null;
  private source: TopicSubscription<{ points: MetricPoint[] }> | null = null;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly filter: MetricWindowFilter,
    private readonly dataSource: DataSource,
    private readonly pubsub: SwampPubSub,
    private readonly counters: { historyReads: number; historyBuilds: number; liveBatches: number },
    private readonly onEmpty: (window: MetricWindow) => void,
  ) {
    this.ready = this.open();
    this.ready.catch(() => undefined);
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** A new member, once the history is loaded; null when the window closed meanwhile (its last member left). */
  async join(options: WindowMemberOptions): Promise<WindowMember | null> {
    await this.ready;
    if (this.closed) return null;
    const member = new WindowMember(this.history(), options, (gone) => this.leave(gone));
    this.members.add(member);
    return member;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onEmpty(this);
    this.series.clear();
    this.snapshot = null;
    void this.source?.return();
    this.source = null;
  }

  private async open(): Promise<void> {
    const source = await this.pubsub.subscribe("metrics-appended", this.filter.experimentId);
    this.source = source;
    try {
      const config = (await requireExperiment(this.dataSource.manager, this.filter.experimentId)).config as unknown as ExperimentConfig;
      this.counters.historyReads++;
      const history = readMetricHistory(this.dataSource.manager, this.filter.experimentId, { cycle: this.filter.cycle, particle: this.filter.particle, keys: this.filter.keys }, 5_000);
      for await (const page of history) {
        if (this.closed) return;
        this.add(config, page);
      }
      void this.pump(config, source);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  private async pump(config: ExperimentConfig, source: TopicSubscription<{ points: MetricPoint[] }>): Promise<void> {
    try {
      for await (const event of source) {
        if (this.closed) return;
        const batch = this.add(config, event.points);
        if (batch.size === 0) continue;
        this.counters.liveBatches++;
        for (const member of [...this.members]) member.push(batch);
      }
    } catch {
      // The PubSub cut this window off (it fell behind): its members end, and their clients resubscribe.
    }
    for (const member of [...this.members]) void member.return();
    this.close();
  }

  /** Stores the points of this window not stored yet; returns them as a live batch. */
  private add(config: ExperimentConfig, points: readonly MetricPoint[]): MetricColumnBatch {
    const fresh = new Map<string, MetricColumnSeries>();
    let size = 0;
    const { cycle, particle, keys } = this.filter;
    for (const point of points) {
      if ((cycle !== null && point.cycle !== cycle) || (particle !== null && point.particle !== particle) || (keys !== null && !keys.includes(point.key))) continue;
      const name = `${point.cycle}/${point.particle ?? ""}/${point.key}`;
      let stored = this.series.get(name);
      if (!stored) this.series.set(name, (stored = { ...emptySeries(point), seen: new Set() }));
      if (stored.seen.has(point.step)) continue;
      stored.seen.add(point.step);
      const globalStep = experimentStep(config, point);
      appendPoint(stored, point, globalStep);
      let out = fresh.get(name);
      if (!out) fresh.set(name, (out = emptySeries(point)));
      appendPoint(out, point, globalStep);
      size++;
    }
    if (size > 0) this.snapshot = null;
    return { experimentId: this.filter.experimentId, history: false, historyComplete: false, series: [...fresh.values()], size };
  }

  /** The window's points as history batches of at most HISTORY_CHUNK_POINTS, the last one marked complete. */
  private history(): MetricColumnBatch[] {
    if (this.snapshot) return this.snapshot;
    this.counters.historyBuilds++;
    const batches: MetricColumnBatch[] = [];
    let current: MetricColumnSeries[] = [];
    let size = 0;
    const flush = () => {
      batches.push({ experimentId: this.filter.experimentId, history: true, historyComplete: false, series: current, size });
      current = [];
      size = 0;
    };
    for (const stored of this.series.values()) {
      for (let start = 0; start < stored.steps.length; ) {
        const take = Math.min(HISTORY_CHUNK_POINTS - size, stored.steps.length - start);
        const end = start + take;
        current.push({
          cycle: stored.cycle,
          particle: stored.particle,
          key: stored.key,
          steps: stored.steps.slice(start, end),
          globalSteps: stored.globalSteps.slice(start, end),
          epochs: stored.epochs.slice(start, end),
          values: stored.values.slice(start, end),
          times: stored.times.slice(start, end),
        });
        size += take;
        start = end;
        if (size >= HISTORY_CHUNK_POINTS) flush();
      }
    }
    // Always one history batch, possibly empty, so a client knows the replay is over.
    if (size > 0 || batches.length === 0) flush();
    batches[batches.length - 1]!.historyComplete = true;
    this.snapshot = batches;
    return batches;
  }

  private leave(member: WindowMember): void {
    this.members.delete(member);
    if (this.members.size === 0) this.close();
  }
}

function emptySeries(point: MetricPoint): MetricColumnSeries {
  return { cycle: point.cycle, particle: point.particle ?? null, key: point.key, steps: [], globalSteps: [], epochs: [], values: [], times: [] };
}

function appendPoint(series: MetricColumnSeries, point: MetricPoint, globalStep: number): void {
  series.steps.push(point.step);
  series.globalSteps.push(globalStep);
  series.epochs.push(point.epoch);
  series.values.push(point.value);
  series.times.push(point.time);
}
