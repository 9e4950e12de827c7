/**
 * A cycle's averaged model as stored: the aggregate's weights artifact (the `swamp-weights` file
 * the workers write) and the mask the cycle trained under (the cycle's bitset), split per tensor.
 *
 * The bitset covers the prunable tensors in layout order; the cycle's `layers` names them (their
 * layer, in the same order, with their sizes), and a prunable tensor is its layer's `kernel`,
 * which is how the engine decides prunability (worker/models/inspect.ts).
 */
import type { EntityManager } from "typeorm";
import type { LayerCount } from "../entities/cycle.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
import { NotFoundError } from "../services/errors.js";
import { requireIntInRange, requireUuid } from "../services/validation.js";
import { unpackMask } from "../../schema/mask-bits.js";
import { decodeStoredArtifact } from "../../transport/stored-weights.js";

export interface CycleTensor {
  /** As the model names it, e.g. `fc1/kernel`. */
  name: string;
  shape: number[];
  /** Row-major; pruned entries exactly 0. */
  values: Float32Array;
  /** For prunable tensors: 1 where the weight survives, 0 where it was pruned. */
  keep: Uint8Array | null;
}

export interface CycleWeights {
  experimentId: string;
  experimentName: string;
  cycle: number;
  sparsity: number;
  tensors: CycleTensor[];
}

/** Thrown when what is stored cannot be made into the cycle's tensors (never the caller's fault). */
export class StoredWeightsError extends Error {
  override name = "StoredWeightsError";
}

export async function loadCycleWeights(manager: EntityManager, store: ArtifactStore, experimentId: string, cycle: number): Promise<CycleWeights> {
  const id = requireUuid(experimentId, "experiment");
  requireIntInRange(cycle, "cycle", 0, 10_000);
  const experiments: Array<{ name: string }> = await manager.query(`SELECT name FROM experiments WHERE id = $1`, [id]);
  if (experiments.length === 0) throw new NotFoundError(`no experiment with id ${id}`);
  const rows: Array<{ sparsity: number; layers: LayerCount[]; mask: Buffer | null; location: string | null; format: string | null }> = await manager.query(
    `SELECT c.sparsity, c.layers, c.mask, a.location, a.format
       FROM cycles c LEFT JOIN artifacts a ON a.id = c.weights_artifact_id
      WHERE c.experiment_id = $1 AND c.cycle_index = $2`,
    [id, cycle],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError(`experiment ${id} has no cycle ${cycle}`);
  if (row.location === null) throw new NotFoundError(`cycle ${cycle} of experiment ${id} has no averaged weights yet`);
  if (row.mask === null) throw new NotFoundError(`cycle ${cycle} of experiment ${id} has no stored mask`);
  if (row.format !== WEIGHTS_FORMAT) throw new StoredWeightsError(`the weights of cycle ${cycle} are stored as ${row.format}, not ${WEIGHTS_FORMAT}`);
  const stream = await store.read(row.location);
  const file = Buffer.concat((await stream.toArray()) as Buffer[]);
  const { entries, values } = await decodeStoredArtifact(store, file, `weights of cycle ${cycle} of experiment ${id}`);

  const position = new Map(entries.map((entry, i) => [entry.name, i]));
  const prunable = row.layers.map((layer) => {
    const at = position.get(`${layer.name}/kernel`);
    if (at === undefined || values[at]!.length !== layer.total) {
      throw new StoredWeightsError(`cycle ${cycle}: prunable layer ${layer.name} (${layer.total} weights) has no matching kernel in the stored weights`);
    }
    return at;
  });
  const keeps = unpackMask(Uint8Array.from(row.mask), prunable.map((at) => values[at]!.length));
  const keepOf = new Map(prunable.map((at, i) => [at, keeps[i]!]));
  const tensors = entries.map((entry, i): CycleTensor => {
    const keep = keepOf.get(i) ?? null;
    const tensorValues = values[i]!;
    // The aggregate masked these already; zeroing again makes "pruned is exactly 0" hold by construction.
    if (keep) for (let j = 0; j < keep.length; j++) if (keep[j] === 0) tensorValues[j] = 0;
    return { name: entry.name, shape: entry.shape, values: tensorValues, keep };
  });
  return { experimentId: id, experimentName: experiments[0]!.name, cycle, sparsity: row.sparsity, tensors };
}
