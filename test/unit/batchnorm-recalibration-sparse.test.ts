/**
 * BatchNorm recalibration of a pruned Conv-n given its mask runs its convolutions on the sparse
 * kernels (the mask attached to the variables for the pass) and recomputes the same running
 * statistics as the dense pass within float rounding; the masks are released afterwards.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { recalibrateBatchNorm } from "../../worker/engine/batchnorm.js";
import { applyMask, type Mask } from "../../worker/engine/mask.js";
import { Random } from "../../worker/engine/rng.js";
import { maskOf } from "../../worker/engine/weight-masks.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

before(async () => {
  await useDefaultBackend();
});

test("recalibration given the mask runs sparse and gives the dense pass's statistics within rounding", async () => {
  const { session, dataset } = await engineContext(smallConfig({ model: { name: "conv-4", batchNorm: true } }));
  const random = Random.derive(23, ["bn-recalibration-sparse"]);
  // 5% kept: below the sparse forward's 15%, so every pruned convolution runs sparse.
  const mask: Mask = session.layout.prunable.map((position) => Uint8Array.from({ length: session.layout.entries[position]!.size }, () => (random.next() < 0.05 ? 1 : 0)));
  const weights = session.initialWeights(5);
  applyMask(weights, mask, session.layout);
  const statistics = session.layout.entries.flatMap((entry, i) => (entry.role === "moving-mean" || entry.role === "moving-variance" ? [i] : []));
  assert.ok(statistics.length >= 8, "conv-4 + BatchNorm has a mean and a variance per BatchNorm layer");
  const recalibrated = (withMask: boolean) => {
    session.writeWeights(weights);
    recalibrateBatchNorm({ session, data: dataset.train, inputShape: dataset.inputShape, examples: 256, batchSize: 64, order: Random.derive(3, ["order"]), ...(withMask ? { mask } : {}) });
    return session.readWeights();
  };
  const dense = recalibrated(false);
  const sparse = recalibrated(true);
  let differing = 0;
  for (const i of statistics) {
    for (let k = 0; k < dense[i]!.length; k++) {
      const expected = dense[i]![k]!;
      const actual = sparse[i]![k]!;
      assert.ok(Math.abs(actual - expected) <= 1e-4 * Math.max(1e-3, Math.abs(expected)), `${session.layout.entries[i]!.name}[${k}]: ${actual} against ${expected}`);
      if (actual !== expected) differing++;
    }
    assert.notDeepEqual(sparse[i], weights[i], `${session.layout.entries[i]!.name} was recomputed`);
  }
  assert.ok(differing > 0, "the sparse kernels ran (their sums round differently)");
  for (const variable of session.trainableVariables()) assert.equal(maskOf(variable), undefined, `${variable.name}: no mask left attached`);
  session.dispose();
});
