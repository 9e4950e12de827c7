import assert from "node:assert/strict";
import { test } from "node:test";
import { denseMask } from "../../worker/engine/mask.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import { Random } from "../../worker/engine/rng.js";
import type { WeightLayout } from "../../worker/engine/weights.js";
import { decodeSparse, encodeSparse } from "../../worker/formats/sparse-file.js";
import { decodeWeights, encodeWeights } from "../../schema/weights-file.js";

const layout: WeightLayout = {
  entries: [
    { name: "fc1/kernel", layer: "fc1", shape: [10, 7], size: 70, trainable: true, prunable: true, role: "kernel" },
    { name: "fc1/bias", layer: "fc1", shape: [7], size: 7, trainable: true, prunable: false, role: "bias" },
    { name: "fc2/kernel", layer: "fc2", shape: [7, 3], size: 21, trainable: true, prunable: true, role: "kernel" },
  ],
  prunable: [0, 2],
};
const random = Random.derive(5, ["formats"]);
const values = layout.entries.map((e) => Float32Array.from({ length: e.size }, () => random.nextNormal()));

test("weights files round-trip exactly and detect corruption", () => {
  const file = encodeWeights(values, layout.entries);
  const decoded = decodeWeights(file);
  assert.deepEqual(decoded.values, values);
  const corrupted = Buffer.from(file);
  corrupted[40] = corrupted[40]! ^ 0xff;
  assert.throws(() => decodeWeights(corrupted, "x.swt"), /x.swt: checksum mismatch/);
  assert.throws(() => decodeWeights(file.subarray(0, 20), "y.swt"), /y.swt: not a swamp weights file/);
});

test("sparse files keep only survivors and restore the masked model", () => {
  const mask = pruneByMagnitude(values, denseMask(layout), layout, { rate: 0.6, scope: "global", exclude: [] });
  const masked = values.map((v) => Float32Array.from(v));
  layout.prunable.forEach((p, i) => mask[i]!.forEach((bit, j) => { if (!bit) masked[p]![j] = 0; }));
  const file = encodeSparse(values, mask, layout, { configHash: "abc", cycle: 3 });
  assert.ok(file.length < encodeWeights(values, layout.entries).length);
  const decoded = decodeSparse(file);
  assert.equal(decoded.header.cycle, 3);
  assert.equal(decoded.header.tensors[0]!.alive + decoded.header.tensors[2]!.alive, Math.round(91 * 0.4));
  assert.deepEqual(decoded.values, masked);
  assert.deepEqual(decoded.mask, mask);
  const corrupted = Buffer.from(file);
  corrupted[file.length - 40] = corrupted[file.length - 40]! ^ 1;
  assert.throws(() => decodeSparse(corrupted, "m.swsp"), /m.swsp: checksum mismatch/);
});
