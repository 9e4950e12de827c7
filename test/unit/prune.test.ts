import assert from "node:assert/strict";
import { test } from "node:test";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import { aliveCount, denseMask, layerCounts, masksEqual, sparsityOf } from "../../worker/engine/mask.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import { Random } from "../../worker/engine/rng.js";
import type { WeightLayout } from "../../worker/engine/weights.js";

function layoutOf(sizes: number[]): WeightLayout {
  const entries = sizes.flatMap((size, i) => [
    { name: `fc${i}/kernel`, layer: `fc${i}`, shape: [size], size, trainable: true, prunable: true, role: "kernel" as const },
    { name: `fc${i}/bias`, layer: `fc${i}`, shape: [3], size: 3, trainable: true, prunable: false, role: "bias" as const },
  ]);
  return { entries, prunable: entries.flatMap((e, i) => (e.prunable ? [i] : [])) };
}

function randomWeights(layout: WeightLayout, seed: number): Float32Array[] {
  const random = Random.derive(seed, ["test-weights"]);
  return layout.entries.map((e) => Float32Array.from({ length: e.size }, () => random.nextNormal()));
}

test("global pruning leaves exactly round(n(1-p)) alive after each of k cycles", () => {
  const layout = layoutOf([300, 1000, 77]);
  let mask = denseMask(layout);
  let expected = 1377;
  for (let cycle = 1; cycle <= 12; cycle++) {
    mask = pruneByMagnitude(randomWeights(layout, cycle), mask, layout, { rate: 0.2, scope: "global", exclude: [] });
    expected = Math.round(expected * 0.8);
    assert.equal(aliveCount(mask), expected, `after ${cycle} prunings`);
  }
  assert.ok(Math.abs(sparsityOf(mask) - (1 - expected / 1377)) < 1e-12);
});

test("global pruning removes the smallest magnitudes across layers", () => {
  const layout = layoutOf([4, 4]);
  const weights = [Float32Array.of(0.1, -5, 3, 0.2), new Float32Array(3), Float32Array.of(-0.05, 2, 4, -1), new Float32Array(3)];
  const mask = pruneByMagnitude(weights, denseMask(layout), layout, { rate: 0.5, scope: "global", exclude: [] });
  assert.deepEqual([...mask[0]!], [0, 1, 1, 0]);
  assert.deepEqual([...mask[1]!], [0, 1, 1, 0]);
});

test("ties are broken by position, so equal magnitudes prune deterministically", () => {
  const layout = layoutOf([6]);
  const weights = [Float32Array.of(1, -1, 1, -1, 1, 2), new Float32Array(3)];
  const mask = pruneByMagnitude(weights, denseMask(layout), layout, { rate: 0.5, scope: "global", exclude: [] });
  assert.deepEqual([...mask[0]!], [0, 0, 0, 1, 1, 1]);
});

test("layerwise pruning prunes each layer by the rate; excluded layers stay dense", () => {
  const layout = layoutOf([100, 50, 10]);
  const weights = randomWeights(layout, 7);
  const layerwise = pruneByMagnitude(weights, denseMask(layout), layout, { rate: 0.2, scope: "layerwise", exclude: [] });
  assert.deepEqual(layerCounts(layerwise, layout).map((c) => c.alive), [80, 40, 8]);
  const excluded = pruneByMagnitude(weights, denseMask(layout), layout, { rate: 0.2, scope: "global", exclude: ["fc2"] });
  assert.equal(layerCounts(excluded, layout)[2]!.alive, 10);
  assert.equal(aliveCount(excluded), 10 + Math.round(150 * 0.8));
  assert.throws(() => pruneByMagnitude(weights, denseMask(layout), layout, { rate: 0.2, scope: "global", exclude: ["nope"] }), /pruning.exclude: no prunable layer named "nope"/);
});

test("pruning only ever removes weights that were alive", () => {
  const layout = layoutOf([500]);
  let mask = denseMask(layout);
  for (let cycle = 0; cycle < 5; cycle++) {
    const next = pruneByMagnitude(randomWeights(layout, 100 + cycle), mask, layout, { rate: 0.3, scope: "global", exclude: [] });
    next[0]!.forEach((bit, j) => assert.ok(bit <= mask[0]![j]!));
    mask = next;
  }
});

test("masks pack into bits and back", () => {
  const layout = layoutOf([13, 64, 3]);
  const mask = pruneByMagnitude(randomWeights(layout, 3), denseMask(layout), layout, { rate: 0.37, scope: "global", exclude: [] });
  const bits = packMask(mask);
  assert.equal(bits.length, Math.ceil(80 / 8));
  assert.ok(masksEqual(unpackMask(bits, [13, 64, 3]), mask));
  assert.throws(() => unpackMask(bits.subarray(1), [13, 64, 3]), /mask has 9 bytes, expected 10/);
});
