import assert from "node:assert/strict";
import { test } from "node:test";
import { denseMask } from "../../worker/engine/mask.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import { Random } from "../../worker/engine/rng.js";
import type { WeightLayout } from "../../worker/engine/weights.js";
import { decodeSparse, encodeSparse } from "../../worker/formats/sparse-file.js";
import { decodeStoredWeights, decodeWeights, encodeStoredWeights, encodeWeights, storedWeightsMask } from "../../schema/weights-file.js";
import { packMask } from "../../schema/mask-bits.js";
import { createHash } from "node:crypto";

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

test("masked weights files keep survivors only, name their mask, and load bit for bit", () => {
  const mask = pruneByMagnitude(values, denseMask(layout), layout, { rate: 0.6, scope: "global", exclude: [] });
  const masked = values.map((v) => Float32Array.from(v));
  layout.prunable.forEach((p, i) => mask[i]!.forEach((bit, j) => { if (!bit) masked[p]![j] = 0; }));
  const bits = packMask(mask);
  const prunable = layout.entries.map((e) => e.prunable);
  const file = encodeStoredWeights(masked, layout.entries, prunable, bits);
  assert.equal(file.toString("ascii", 0, 4), "SWT2");
  // 91 prunable weights, 40% survive: 36 survivors and 7 biases instead of 98 values.
  assert.ok(file.length < encodeWeights(masked, layout.entries).length - 50 * 4, `${file.length} bytes`);
  assert.deepEqual(storedWeightsMask(file), { sha256: createHash("sha256").update(bits).digest("hex"), bytes: bits.length });
  const decoded = decodeStoredWeights(file, "m.swt", bits);
  decoded.values.forEach((v, i) => assert.ok(Buffer.from(v.buffer).equals(Buffer.from(masked[i]!.buffer)), `tensor ${i} bit for bit`));
  assert.throws(() => decodeStoredWeights(file, "m.swt"), /m.swt: written under mask sha256:[0-9a-f]{64}, which was not given/);
  const other = Uint8Array.from(bits, (b, i) => (i === 0 ? b ^ 1 : b));
  assert.throws(() => decodeStoredWeights(file, "m.swt", other), /not the one it was written under/);
  const corrupted = Buffer.from(file);
  corrupted[file.length - 40] = corrupted[file.length - 40]! ^ 1;
  assert.throws(() => decodeStoredWeights(corrupted, "m.swt", bits), /m.swt: checksum mismatch/);
});

test("a pruned weight that is not +0 (here -0) keeps its tensor dense, so loading stays bit-exact", () => {
  const mask = pruneByMagnitude(values, denseMask(layout), layout, { rate: 0.5, scope: "global", exclude: [] });
  const masked = values.map((v) => Float32Array.from(v));
  layout.prunable.forEach((p, i) => mask[i]!.forEach((bit, j) => { if (!bit) masked[p]![j] = 0; }));
  const pruned = mask[0]!.indexOf(0);
  masked[0]![pruned] = -0;
  const bits = packMask(mask);
  const file = encodeStoredWeights(masked, layout.entries, layout.entries.map((e) => e.prunable), bits);
  const decoded = decodeStoredWeights(file, "m.swt", bits);
  assert.ok(Object.is(decoded.values[0]![pruned], -0));
  decoded.values.forEach((v, i) => assert.ok(Buffer.from(v.buffer).equals(Buffer.from(masked[i]!.buffer))));
});

test("a model under a dense mask (cycle 0) or none is written in the dense format, which every reader still takes", () => {
  const dense = encodeStoredWeights(values, layout.entries, layout.entries.map((e) => e.prunable), packMask(denseMask(layout)));
  assert.ok(dense.equals(encodeWeights(values, layout.entries)));
  assert.equal(storedWeightsMask(dense), null);
  assert.deepEqual(decodeStoredWeights(dense).values, values);
  assert.ok(encodeStoredWeights(values, layout.entries, layout.entries.map((e) => e.prunable), null).equals(dense));
  assert.throws(() => decodeStoredWeights(Buffer.alloc(64), "z.swt"), /z.swt: not a swamp weights file/);
});
