/**
 * A pruned Conv-n's inference pass as one native call (sparse-convnet.ts over
 * native/src/sparse_convnet.c): Conv-4 with and without BatchNorm, Conv-2 and Conv-6 (whose last
 * pooling drops a row and a column of its 7×7 planes), logits against the
 * TF.js model's on random masks and random BatchNorm statistics, at batches inside and across the
 * head's tiles; evaluation given the mask, which takes that pass when few multiply-adds are
 * kept; and the plans the addon refuses.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { evaluate } from "../../worker/engine/evaluate.js";
import { forwardFlopsPerExample, keptFlopsPerExample } from "../../worker/engine/flops.js";
import { loadNative, type NativeAddon } from "../../worker/engine/native-kernels/addon.js";
import { planSparseConvNet, runSparseConvNet, type SparseConvNetPlan } from "../../worker/engine/native-kernels/sparse-convnet.js";
import { applyMask, denseMask, type Mask } from "../../worker/engine/mask.js";
import type { ModelSession } from "../../worker/engine/model-session.js";
import { Random } from "../../worker/engine/rng.js";
import type { WeightLayout } from "../../worker/engine/weights.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

let native: NativeAddon;

before(async () => {
  await useDefaultBackend();
  const loaded = loadNative();
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.reason);
  native = loaded.native.addon;
});

function randomMask(layout: WeightLayout, keep: number, random: Random): Mask {
  return layout.prunable.map((position) => Uint8Array.from({ length: layout.entries[position]!.size }, () => (random.next() < keep ? 1 : 0)));
}

function denseLogits(session: ModelSession, x: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => (session.model.apply(tf.tensor(x, [batch, 28, 28, 1]), { training: false }) as tf.Tensor).dataSync() as Float32Array);
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Number.isFinite(actual[i]!), `value ${i} is ${actual[i]}`);
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

for (const { model, batchNorm } of [{ model: "conv-4", batchNorm: true }, { model: "conv-4", batchNorm: false }, { model: "conv-2", batchNorm: true }, { model: "conv-6", batchNorm: true }] as const) {
  test(`${model}${batchNorm ? " + BatchNorm" : ""}: logits equal the TF.js model's on random masks`, async () => {
    const { session } = await engineContext(smallConfig({ model: { name: model, batchNorm } }));
    const random = Random.derive(21, ["sparse-convnet", model, String(batchNorm)]);
    for (const keep of [1, 0.2, 0.012]) {
      const weights = session.initialWeights(13);
      session.layout.entries.forEach((entry, i) => {
        // Non-trivial biases and BatchNorm statistics, so folding them wrongly shows.
        if (entry.role === "bias" || entry.role === "beta" || entry.role === "moving-mean") weights[i] = Float32Array.from(weights[i]!, () => random.next() - 0.5);
        if (entry.role === "gamma" || entry.role === "moving-variance") weights[i] = Float32Array.from(weights[i]!, () => 0.5 + random.next());
      });
      const mask = keep === 1 ? denseMask(session.layout) : randomMask(session.layout, keep, random);
      applyMask(weights, mask, session.layout);
      session.writeWeights(weights);
      const plan = planSparseConvNet(session.model, session.layout, weights, mask);
      assert.ok(typeof plan !== "string", String(plan));
      for (const batch of [1, 5, 40]) {
        const x = Float32Array.from({ length: batch * 784 }, () => random.nextNormal());
        const error = relativeError(runSparseConvNet(native, plan, x, batch), denseLogits(session, x, batch));
        assert.ok(error < 1e-4, `kept ${keep}, batch ${batch}: relative error ${error}`);
      }
    }
    session.dispose();
  });
}

test("a bad convolution plan gets a clear error", async () => {
  const { session } = await engineContext(smallConfig({ model: { name: "conv-2", batchNorm: true } }));
  const plan = planSparseConvNet(session.model, session.layout, session.initialWeights(0), denseMask(session.layout)) as SparseConvNetPlan;
  assert.equal(typeof plan, "object");
  const { head } = plan;
  const x = new Float32Array(784);
  const y = new Float32Array(10);
  const badOffset = Int32Array.from(plan.indices);
  badOffset[65] = 10_000_000;
  assert.throws(() => native.sparseConvNetForward(plan.structure, badOffset, plan.floats, head.structure, head.indices, head.floats, x, 0, 1, y, 0), /convolution plan: .*offset/);
  assert.throws(() => native.sparseConvNetForward(plan.structure, plan.indices, plan.floats, head.structure, head.indices, head.floats.subarray(1), x, 0, 1, y, 0), /head plan: floats/);
  assert.equal(typeof planSparseConvNet(session.model, session.layout, session.initialWeights(0), denseMask(session.layout)), "object");
  session.dispose();
});

test("evaluation given the mask takes the one-call pass when few multiply-adds are kept, to the dense evaluation's figures", async () => {
  const { session, dataset } = await engineContext(smallConfig({ model: { name: "conv-4", batchNorm: true } }));
  const random = Random.derive(22, ["sparse-convnet-evaluation"]);
  const convolutions = session.layout.prunable.filter((position) => session.layout.entries[position]!.shape.length === 4).length;
  // Convolutions then Dense kernels: [convolution keep, Dense keep].
  for (const [convKeep, denseKeep] of [[0.04, 0.04], [0.6, 0.01], [0.5, 0.5]] as const) {
    const mask: Mask = session.layout.prunable.map((position, i) =>
      Uint8Array.from({ length: session.layout.entries[position]!.size }, () => (random.next() < (i < convolutions ? convKeep : denseKeep) ? 1 : 0)),
    );
    const weights = session.initialWeights(17);
    applyMask(weights, mask, session.layout);
    session.writeWeights(weights);
    const keptWork = keptFlopsPerExample(session, mask) / forwardFlopsPerExample(session.model);
    const dense = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses);
    const masked = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses, mask);
    if (keptWork >= 0.15) {
      // Kept weights are few when fc1 (most of them) is pruned, but the convolutions' work is not.
      assert.deepEqual(masked, dense, `keep ${convKeep}/${denseKeep} (work ${keptWork.toFixed(3)}): the dense evaluation runs`);
      continue;
    }
    assert.ok(Math.abs(masked.accuracy - dense.accuracy) <= 2 / dataset.test.count, `keep ${convKeep}/${denseKeep}: accuracy ${masked.accuracy} against ${dense.accuracy}`);
    assert.ok(Math.abs(masked.loss - dense.loss) <= 1e-4 * dense.loss, `keep ${convKeep}/${denseKeep}: loss ${masked.loss} against ${dense.loss}`);
    assert.notEqual(masked.loss, dense.loss, `keep ${convKeep}/${denseKeep}: the sparse pass ran (its sums round differently)`);
  }
  session.dispose();
});
