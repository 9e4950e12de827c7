/**
 * A pruning mask: one 0/1 byte per value of each prunable weight, in the layout's prunable order.
 * Sparsity is computed from the mask exactly.
 */
import type { WeightLayout, WeightValues } from "./weights.js";

export type Mask = Uint8Array[];

export function denseMask(layout: WeightLayout): Mask {
  return layout.prunable.map((position) => new Uint8Array(layout.entries[position]!.size).fill(1));
}

export function aliveCount(mask: Mask): number {
  let alive = 0;
  for (const layer of mask) for (let i = 0; i < layer.length; i++) alive += layer[i]!;
  return alive;
}

export function totalCount(mask: Mask): number {
  return mask.reduce((sum, layer) => sum + layer.length, 0);
}

export function sparsityOf(mask: Mask): number {
  const total = totalCount(mask);
  return total === 0 ? 0 : (total - aliveCount(mask)) / total;
}

export interface LayerCount {
  layer: string;
  alive: number;
  total: number;
}

export function layerCounts(mask: Mask, layout: WeightLayout): LayerCount[] {
  return mask.map((values, i) => {
    let alive = 0;
    for (let j = 0; j < values.length; j++) alive += values[j]!;
    return { layer: layout.entries[layout.prunable[i]!]!.layer, alive, total: values.length };
  });
}

/** Zeroes, in place, every pruned value of the prunable weights. */
export function applyMask(values: WeightValues, mask: Mask, layout: WeightLayout): void {
  layout.prunable.forEach((position, i) => {
    const weight = values[position]!;
    const keep = mask[i]!;
    for (let j = 0; j < weight.length; j++) if (keep[j] === 0) weight[j] = 0;
  });
}

export function masksEqual(a: Mask, b: Mask): boolean {
  return a.length === b.length && a.every((layer, i) => layer.length === b[i]!.length && layer.every((v, j) => v === b[i]![j]));
}
