/**
 * Magnitude pruning. Among the weights still alive (and not in an excluded layer), the fraction
 * `rate` with the smallest magnitude is removed, ranked across all layers (global) or within each
 * layer (layerwise). The surviving count is exactly round(alive·(1−rate)); ties in magnitude are
 * broken by position (layer order, then index), so the result never depends on sort stability.
 */
import { keptAfterPruning } from "../../schema/prunable-layers.js";
import { PRUNING_RULES, type PruningScope } from "../../schema/pruning-rules.js";
import type { Mask } from "./mask.js";
import type { WeightLayout, WeightValues } from "./weights.js";


export interface PruneOptions {
  rate: number;
  scope: PruningScope;
  /** Layer names left dense. */
  exclude: readonly string[];
}

/** Builds the next mask from the current one and the weights of the model being pruned. */
export function pruneByMagnitude(values: WeightValues, mask: Mask, layout: WeightLayout, options: PruneOptions): Mask {
  if (!(options.rate > 0 && options.rate < 1)) throw new RangeError(`pruning rate must be in (0, 1), got ${options.rate}`);
  const known = new Set(layout.prunable.map((p) => layout.entries[p]!.layer));
  for (const name of options.exclude) {
    if (!known.has(name)) throw new Error(`pruning.exclude: no prunable layer named "${name}" (prunable layers: ${[...known].join(", ")})`);
  }
  const next = mask.map((layer) => Uint8Array.from(layer));
  const eligible = layout.prunable
    .map((position, i) => ({ i, weights: values[position]!, layer: layout.entries[position]!.layer }))
    .filter((entry) => !options.exclude.includes(entry.layer));
  const groups = PRUNING_RULES[options.scope].group(eligible);
  for (const group of groups) pruneGroup(group, next, options.rate);
  return next;
}

function pruneGroup(group: Array<{ i: number; weights: Float32Array }>, mask: Mask, rate: number): void {
  let alive = 0;
  for (const { i } of group) for (const bit of mask[i]!) alive += bit;
  const removeCount = alive - keptAfterPruning(alive, rate);
  if (removeCount <= 0) return;
  const magnitudes = new Float32Array(alive);
  const members = new Uint16Array(alive);
  const indices = new Uint32Array(alive);
  let n = 0;
  group.forEach(({ i, weights }, member) => {
    const layerMask = mask[i]!;
    for (let j = 0; j < weights.length; j++) {
      if (layerMask[j] === 0) continue;
      magnitudes[n] = Math.abs(weights[j]!);
      members[n] = member;
      indices[n] = j;
      n++;
    }
  });
  const order = new Uint32Array(alive);
  for (let k = 0; k < alive; k++) order[k] = k;
  // Candidates were collected in position order, so comparing candidate numbers breaks ties by position.
  order.sort((a, b) => magnitudes[a]! - magnitudes[b]! || a - b);
  for (let k = 0; k < removeCount; k++) {
    const candidate = order[k]!;
    mask[group[members[candidate]!]!.i]![indices[candidate]!] = 0;
  }
}

/** The name an EmptiedLayerError keeps across a worker thread's boundary, where its class is lost. */
export const EMPTIED_LAYER_ERROR = "EmptiedLayerError";

/** A pruning that removed every weight of a layer: the next cycle would train a network cut in two. */
export class EmptiedLayerError extends Error {
  constructor(
    readonly cycle: number,
    readonly layer: string,
    total: number,
  ) {
    super(
      `pruning after cycle ${cycle} leaves layer ${layer} with none of its ${total} weights, so cycle ${cycle + 1} cannot train; ` +
        "global pruning ranks all layers together and this one emptied first: use a lower pruning.rate, fewer pruning.cycles, " +
        'pruning.scope "layerwise" or pruning.exclude',
    );
    this.name = EMPTIED_LAYER_ERROR;
  }
}

/** Throws EmptiedLayerError for the first layer (in layout order) the pruning after `cycle` left without weights. */
export function requireNoEmptiedLayer(mask: Mask, layout: WeightLayout, cycle: number): void {
  mask.forEach((layer, i) => {
    if (layer.length > 0 && layer.every((bit) => bit === 0)) throw new EmptiedLayerError(cycle, layout.entries[layout.prunable[i]!]!.layer, layer.length);
  });
}
