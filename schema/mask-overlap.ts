/**
 * How much two pruning masks agree, per prunable layer and over the whole model: the Jaccard index
 * of their surviving weights and their Hamming distance. Pure and cheap on packed masks
 * (schema/mask-bits.ts), so the server computes it on request without TensorFlow.js.
 */
import type { ExperimentConfig } from "./config.js";
import { DATASET_INPUTS, prunableLayers, type PrunableLayer } from "./prunable-layers.js";
import type { MaskOverlapLayer } from "./analyses.js";

export interface MaskOverlap {
  jaccard: number;
  hamming: number;
  aliveA: number;
  aliveB: number;
  intersection: number;
  union: number;
  total: number;
  layers: MaskOverlapLayer[];
}

/** The prunable layers, in mask order, of the model a config trains. */
export function maskLayersOf(config: Pick<ExperimentConfig, "model" | "data">): PrunableLayer[] {
  return prunableLayers(config.model.name, DATASET_INPUTS[config.data.name]);
}

/** Overlap of two packed masks over the same layers; throws when either mask does not fit them. */
export function maskOverlap(bitsA: Uint8Array, bitsB: Uint8Array, layers: readonly PrunableLayer[]): MaskOverlap {
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);
  const bytes = Math.ceil(total / 8);
  if (bitsA.length !== bytes) throw new Error(`first mask has ${bitsA.length} bytes, expected ${bytes} for ${total} weights`);
  if (bitsB.length !== bytes) throw new Error(`second mask has ${bitsB.length} bytes, expected ${bytes} for ${total} weights`);
  let offset = 0;
  const perLayer = layers.map((layer) => {
    const counts = countRange(bitsA, bitsB, offset, offset + layer.size);
    offset += layer.size;
    return { layer: layer.name, ...withRatios(counts, layer.size) };
  });
  const sum = (key: "aliveA" | "aliveB" | "intersection") => perLayer.reduce((s, l) => s + l[key], 0);
  return { ...withRatios({ aliveA: sum("aliveA"), aliveB: sum("aliveB"), intersection: sum("intersection") }, total), layers: perLayer };
}

interface Counts {
  aliveA: number;
  aliveB: number;
  intersection: number;
}

function withRatios(counts: Counts, total: number): Omit<MaskOverlapLayer, "layer"> {
  const union = counts.aliveA + counts.aliveB - counts.intersection;
  // Two empty masks agree completely.
  return { jaccard: union === 0 ? 1 : counts.intersection / union, hamming: union - counts.intersection, ...counts, union, total };
}

/** Bit counts over bit positions [start, end) (LSB first within each byte, as packMask writes). */
function countRange(a: Uint8Array, b: Uint8Array, start: number, end: number): Counts {
  let aliveA = 0;
  let aliveB = 0;
  let intersection = 0;
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) {
    const x = (a[i >> 3]! >> (i & 7)) & 1;
    const y = (b[i >> 3]! >> (i & 7)) & 1;
    aliveA += x;
    aliveB += y;
    intersection += x & y;
  }
  for (; i + 8 <= end; i += 8) {
    const x = a[i >> 3]!;
    const y = b[i >> 3]!;
    aliveA += POPCOUNT[x]!;
    aliveB += POPCOUNT[y]!;
    intersection += POPCOUNT[x & y]!;
  }
  for (; i < end; i++) {
    const x = (a[i >> 3]! >> (i & 7)) & 1;
    const y = (b[i >> 3]! >> (i & 7)) & 1;
    aliveA += x;
    aliveB += y;
    intersection += x & y;
  }
  return { aliveA, aliveB, intersection };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let v = byte; v !== 0; v &= v - 1) count++;
  return count;
});
