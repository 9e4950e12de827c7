/** Seeded random masks at given kept fractions, for the benches that train pruned networks. */
import type { Mask } from "../worker/engine/mask.js";
import type { ModelSession } from "../worker/engine/model-session.js";
import { Random } from "../worker/engine/rng.js";

/**
 * Each prunable weight kept with its layer's probability (one fraction for all layers, or one per
 * prunable layer in layout order); undefined when every layer keeps all.
 */
export function randomMask(session: ModelSession, kept: number | readonly number[]): Mask | undefined {
  const prunable = session.layout.prunable;
  const byLayer = typeof kept === "number" ? prunable.map(() => kept) : kept;
  if (byLayer.length !== prunable.length) throw new Error(`kept: ${byLayer.length} fractions for ${prunable.length} prunable layers`);
  if (byLayer.every((k) => k >= 1)) return undefined;
  const random = Random.derive(0, ["bench-native-mask"]);
  return prunable.map((position, layer) => Uint8Array.from({ length: session.layout.entries[position]!.size }, () => (random.next() < byLayer[layer]! ? 1 : 0)));
}
