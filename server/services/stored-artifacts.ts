/**
 * What the artifact store holds, counted by the artifacts table: bytes are shared by content hash
 * (two experiments of one config store equal particles once), so an object's references are the
 * rows naming its location, and its bytes go only when the last row does — whether the rows went
 * with a deleted experiment or with `storage.keep` retention. Objects no row names (a worker's
 * output whose result was never recorded, bytes left by a crash) are found by `collectGarbage`.
 */
import type { DataSource, EntityManager } from "typeorm";
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { Tx } from "./transaction.js";

export interface StorageTotals {
  /** Bytes of distinct stored objects. */
  storedBytes: number;
  objects: number;
}

/** Bytes each experiment's artifacts take, an object shared with other experiments counted in each. */
export async function experimentStoredBytes(manager: EntityManager, experimentIds: readonly string[]): Promise<Map<string, number>> {
  const rows: Array<{ experiment_id: string; bytes: string }> = await manager.query(
    `SELECT experiment_id, sum(size_bytes) AS bytes
       FROM (SELECT DISTINCT experiment_id, location, size_bytes FROM artifacts WHERE experiment_id = ANY($1::uuid[])) objects
      GROUP BY experiment_id`,
    [experimentIds],
  );
  const bytes = new Map(experimentIds.map((id) => [id, 0]));
  for (const row of rows) bytes.set(row.experiment_id, Number(row.bytes));
  return bytes;
}

/** Every object the artifacts table references, each counted once. */
export async function storageTotals(manager: EntityManager): Promise<StorageTotals> {
  const rows: Array<{ objects: string; bytes: string | null }> = await manager.query(
    `SELECT count(*) AS objects, sum(size_bytes) AS bytes FROM (SELECT DISTINCT ON (location) location, size_bytes FROM artifacts) objects`,
  );
  return { objects: Number(rows[0]?.objects ?? 0), storedBytes: Number(rows[0]?.bytes ?? 0) };
}

/**
 * Removes the bytes at these locations that no artifact row names any more. Run after the commit
 * that deleted their rows: bytes removed before a rollback could not be brought back.
 */
export async function removeUnreferencedBytes(dataSource: DataSource, store: ArtifactStore, locations: readonly string[], log: (line: string) => void = console.error): Promise<number> {
  const unique = [...new Set(locations)].filter((location) => store.handles(location));
  if (unique.length === 0) return 0;
  const referenced: Array<{ location: string }> = await dataSource.query(`SELECT DISTINCT location FROM artifacts WHERE location = ANY($1::text[])`, [unique]);
  const keep = new Set(referenced.map((row) => row.location));
  let removed = 0;
  for (const location of unique) {
    if (keep.has(location)) continue;
    await store.remove(location).then(
      () => removed++,
      (error: unknown) => log(`could not remove artifact bytes at ${location}: ${String(error)}`),
    );
  }
  return removed;
}

/**
 * `storage.keep` in the fleet, as a cycle's aggregate is recorded: `averages` drops the cycle's
 * particle weights, `final` also the averaged weights (and TF.js copies) of the cycle before.
 * Masks, the rewind point and the ledger stay, so a retried experiment resumes. Returns the
 * locations whose rows went; their bytes are removed after commit where nothing else names them.
 */
export async function applyRetention(tx: Tx, config: ExperimentConfig, experimentId: string, cycle: number): Promise<string[]> {
  const keep = config.storage?.keep ?? "all";
  if (keep === "all") return [];
  const particles: Array<{ location: string }> = await tx.manager.query(
    `DELETE FROM artifacts WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index IS NOT NULL AND kind = 'weights' RETURNING location`,
    [experimentId, cycle],
  );
  const averages: Array<{ location: string }> =
    keep === "final" && cycle > 0
      ? await tx.manager.query(
          `DELETE FROM artifacts WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index IS NULL AND kind IN ('weights', 'other') RETURNING location`,
          [experimentId, cycle - 1],
        )
      : [];
  return [...particles, ...averages].map((row) => row.location);
}

export interface GarbageReport {
  /** Objects in the store no row names (removed unless it was a dry run). */
  unreferencedObjects: number;
  unreferencedBytes: number;
  removed: boolean;
}

/**
 * Removes the store's objects that no artifact row names and that are older than `minAgeMs`: a
 * worker stores its outputs before the server records them, so young objects may be about to be
 * referenced.
 */
export async function collectGarbage(dataSource: DataSource, store: ArtifactStore, options: { minAgeMs: number; dryRun: boolean; now?: number }): Promise<GarbageReport> {
  const now = options.now ?? Date.now();
  const candidates = (await store.list()).filter((object) => now - object.modifiedAt >= options.minAgeMs);
  const locations = candidates.map((object) => store.location(object));
  const referenced: Array<{ location: string }> = locations.length === 0 ? [] : await dataSource.query(`SELECT DISTINCT location FROM artifacts WHERE location = ANY($1::text[])`, [locations]);
  const named = new Set(referenced.map((row) => row.location));
  const garbage = candidates.filter((object) => !named.has(store.location(object)));
  const report = { unreferencedObjects: garbage.length, unreferencedBytes: garbage.reduce((sum, object) => sum + object.size, 0), removed: !options.dryRun };
  if (!options.dryRun) await removeUnreferencedBytes(dataSource, store, garbage.map((object) => store.location(object)));
  return report;
}
