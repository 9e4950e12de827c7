/**
 * Task threads for a worker that serves many experiments: one single-thread pool per running task,
 * kept warm per config so the next task of the same experiment skips backend start-up and model
 * building, and never more pools than the worker has slots.
 */
import { configHash, type ExperimentConfig } from "../../schema/config.js";
import type { LoadedDataset } from "../data/dataset.js";
import { loadDataset } from "../run/local-run.js";
import { ThreadPool } from "../run/thread-pool.js";

interface CachedPool {
  hash: string;
  pool: ThreadPool;
  busy: boolean;
}

export class ThreadCache {
  private readonly pools: CachedPool[] = [];
  private readonly datasets = new Map<string, Promise<LoadedDataset>>();

  constructor(
    private readonly slots: number,
    private readonly backend?: string,
  ) {}

  /** A pool for this config, reserved until `release`. Callers hold at most `slots` at once. */
  async acquire(config: ExperimentConfig): Promise<ThreadPool> {
    const hash = configHash(config);
    const idle = this.pools.find((p) => !p.busy && p.hash === hash && !p.pool.stopRequested);
    if (idle) {
      idle.busy = true;
      return idle.pool;
    }
    if (this.pools.length >= this.slots) {
      const evicted = this.pools.find((p) => !p.busy);
      if (!evicted) throw new Error(`all ${this.slots} task slots are busy`);
      await this.discard(evicted.pool);
    }
    const entry: CachedPool = { hash, pool: undefined as unknown as ThreadPool, busy: true };
    this.pools.push(entry);
    try {
      entry.pool = await ThreadPool.start(1, { config, dataset: await this.dataset(config), backend: this.backend });
    } catch (error) {
      this.pools.splice(this.pools.indexOf(entry), 1);
      throw error;
    }
    return entry.pool;
  }

  /** Returns a pool; one whose task was stopped is closed, since its stop flag stays set. */
  async release(pool: ThreadPool): Promise<void> {
    const entry = this.pools.find((p) => p.pool === pool);
    if (!entry) return;
    if (pool.stopRequested) await this.discard(pool);
    else entry.busy = false;
  }

  private async discard(pool: ThreadPool): Promise<void> {
    const index = this.pools.findIndex((p) => p.pool === pool);
    if (index >= 0) this.pools.splice(index, 1);
    await pool.close();
  }

  private dataset(config: ExperimentConfig): Promise<LoadedDataset> {
    const { name, dir, trainSubset, testSubset } = config.data;
    const key = JSON.stringify([name, dir, trainSubset, testSubset]);
    let loading = this.datasets.get(key);
    if (!loading) {
      loading = loadDataset(config);
      this.datasets.set(key, loading);
      loading.catch(() => this.datasets.delete(key));
    }
    return loading;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.splice(0).map((p) => p.pool.close()));
  }
}
