/**
 * Collects the keys asked for during one tick and loads them with one query, so that a page of 50
 * experiments asking for their cycles costs one query, not 50. Results are cached per request.
 */
export class BatchLoader<K, V> {
  private readonly cache = new Map<K, Promise<V>>();
  private pending: Array<{ key: K; resolve: (value: V) => void; reject: (error: unknown) => void }> = [];

  constructor(private readonly loadMany: (keys: K[]) => Promise<Map<K, V>>, private readonly missing: (key: K) => V) {}

  load(key: K): Promise<V> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const promise = new Promise<V>((resolve, reject) => {
      if (this.pending.length === 0) process.nextTick(() => void this.dispatch());
      this.pending.push({ key, resolve, reject });
    });
    this.cache.set(key, promise);
    return promise;
  }

  private async dispatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const values = await this.loadMany([...new Set(batch.map((item) => item.key))]);
      for (const item of batch) item.resolve(values.has(item.key) ? values.get(item.key)! : this.missing(item.key));
    } catch (error) {
      for (const item of batch) {
        this.cache.delete(item.key);
        item.reject(error);
      }
    }
  }
}
