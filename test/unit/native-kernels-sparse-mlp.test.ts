/**
 * A pruned multilayer perceptron's inference pass as one native call (sparse-mlp.ts over
 * native/src/sparse_mlp.c): LeNet-300-100's logits against the TF.js model's on random masks from
 * every weight kept to an empty first layer, at batches that fill no tile, one tile and several;
 * values under pruned weights ignored; a trained pruned model's logits and accuracy; the models
 * it refuses and the plans the addon refuses. Each instruction set's loops (AVX-512, AVX2, baseline).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { evaluate } from "../../worker/engine/evaluate.js";
import { loadNative, type NativeAddon } from "../../worker/engine/native-kernels/addon.js";
import { planSparseMlp, runSparseMlp, type SparseMlpPlan } from "../../worker/engine/native-kernels/sparse-mlp.js";
import { applyMask, denseMask, type Mask } from "../../worker/engine/mask.js";
import type { ModelSession } from "../../worker/engine/model-session.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import { Random } from "../../worker/engine/rng.js";
import { train } from "../../worker/engine/train.js";
import type { WeightLayout, WeightValues } from "../../worker/engine/weights.js";
import type { EngineContext } from "../../worker/engine/context.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

let native: NativeAddon;
let context: EngineContext;

before(async () => {
  await useDefaultBackend();
  const loaded = loadNative();
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.reason);
  native = loaded.native.addon;
  context = await engineContext(smallConfig());
});

function randomMask(layout: WeightLayout, keep: number[], random: Random): Mask {
  return layout.prunable.map((position, i) => Uint8Array.from({ length: layout.entries[position]!.size }, () => (random.next() < keep[i]! ? 1 : 0)));
}

function denseLogits(session: ModelSession, x: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => (session.model.apply(tf.tensor(x, [batch, 28, 28, 1]), { training: false }) as tf.Tensor).dataSync() as Float32Array);
}

function plan(session: ModelSession, weights: WeightValues, mask: Mask): SparseMlpPlan {
  const result = planSparseMlp(session.model, session.layout, weights, mask);
  assert.ok(typeof result !== "string", String(result));
  return result;
}

/** max |a − b| over max |b|, and a check that no value is NaN. */
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

test("LeNet-300-100's logits equal the TF.js model's on random masks at every batch size", () => {
  const { session } = context;
  const random = Random.derive(7, ["sparse-mlp"]);
  const cases: Array<{ label: string; keep: number[] }> = [
    { label: "nothing pruned", keep: [1, 1, 1] },
    { label: "half", keep: [0.5, 0.5, 0.5] },
    { label: "98.8%-like", keep: [0.006, 0.08, 0.5] },
    { label: "0.1% kept", keep: [0.001, 0.001, 0.001] },
    { label: "first layer empty", keep: [0, 0.2, 0.5] },
  ];
  for (const { label, keep } of cases) {
    const weights = session.initialWeights(11);
    // Biases are zero at initialisation: random ones make an error in their handling show.
    for (const entry of session.layout.entries.keys()) {
      if (session.layout.entries[entry]!.role === "bias") weights[entry] = Float32Array.from(weights[entry]!, () => random.next() - 0.5);
    }
    const mask = randomMask(session.layout, keep, random);
    applyMask(weights, mask, session.layout);
    session.writeWeights(weights);
    const sparsePlan = plan(session, weights, mask);
    assert.deepEqual(sparsePlan.layers, ["fc1", "fc2", "fc3"]);
    for (const batch of [1, 7, 33, 256]) {
      const x = Float32Array.from({ length: batch * 784 }, () => random.nextNormal());
      const expected = denseLogits(session, x, batch);
      // Every instruction set's copy of the loops (the switches are read per call).
      for (const [level, setting] of [["best", undefined], ["AVX2", "SWAMP_NATIVE_AVX512"], ["baseline", "SWAMP_NATIVE_AVX2"]] as const) {
        if (setting) process.env[setting] = "0";
        try {
          const error = relativeError(runSparseMlp(native, sparsePlan, x, batch), expected);
          assert.ok(error < 1e-5, `${label}, batch ${batch}, ${level}: relative error ${error}`);
        } finally {
          if (setting) delete process.env[setting];
        }
      }
    }
  }
});

test("values under pruned weights are never read", () => {
  const { session } = context;
  const random = Random.derive(8, ["sparse-mlp"]);
  const mask = randomMask(session.layout, [0.02, 0.1, 0.5], random);
  const clean = session.initialWeights(12);
  applyMask(clean, mask, session.layout);
  const noisy = clean.map((values, position) => {
    const index = session.layout.prunable.indexOf(position);
    return index < 0 ? values : Float32Array.from(values, (v, j) => (mask[index]![j] ? v : 1000));
  });
  const x = Float32Array.from({ length: 40 * 784 }, () => random.nextNormal());
  assert.deepEqual(runSparseMlp(native, plan(session, noisy, mask), x, 40), runSparseMlp(native, plan(session, clean, mask), x, 40));
});

test("a trained pruned model classifies as the TF.js model does", () => {
  const { session, dataset } = context;
  const initial = session.initialWeights(3);
  session.writeWeights(initial);
  train({ session, data: dataset.train, inputShape: dataset.inputShape, epochs: 2, batchSize: 64, momentum: 0.9, weightDecay: 0, learningRate: () => 0.05, order: Random.derive(3, ["order"]) });
  let mask = denseMask(session.layout);
  for (let cycle = 0; cycle < 8; cycle++) mask = pruneByMagnitude(session.readWeights(), mask, session.layout, { rate: 0.4, scope: "global", exclude: [] });
  const weights = session.readWeights();
  applyMask(weights, mask, session.layout);
  session.writeWeights(weights);
  train({ session, data: dataset.train, inputShape: dataset.inputShape, epochs: 1, batchSize: 64, momentum: 0.9, weightDecay: 0, learningRate: () => 0.05, order: Random.derive(4, ["order"]), mask });
  const trained = session.readWeights();
  const { images, labels, count } = dataset.test;
  const logits = runSparseMlp(native, plan(session, trained, mask), images, count);
  const error = relativeError(logits, denseLogits(session, images, count));
  assert.ok(error < 1e-5, `relative error ${error}`);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const row = logits.subarray(i * 10, (i + 1) * 10);
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
  }
  assert.equal(correct / count, evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses).accuracy);
  // Ten classes: chance is 0.1, and 98% of the weights are gone.
  assert.ok(correct / count > 0.15, `accuracy ${correct / count} after training`);
});

test("evaluation given the mask takes the one-call pass below its crossover, to the dense evaluation's figures", () => {
  const { session, dataset } = context;
  const random = Random.derive(10, ["sparse-mlp-evaluation"]);
  for (const keep of [[0.01, 0.05, 0.5], [0.1, 0.2, 0.5], [0.6, 0.6, 0.6]]) {
    const mask = randomMask(session.layout, keep, random);
    const weights = session.initialWeights(13);
    applyMask(weights, mask, session.layout);
    session.writeWeights(weights);
    const dense = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses);
    const masked = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses, mask);
    const sparse = keep[0]! < 0.25;
    if (!sparse) {
      assert.deepEqual(masked, dense, `kept ${keep}: above the crossover the dense evaluation runs`);
      continue;
    }
    // The logits differ only by rounding: a prediction flips only on a near tie.
    assert.ok(Math.abs(masked.accuracy - dense.accuracy) <= 1 / dataset.test.count, `kept ${keep}: accuracy ${masked.accuracy} against ${dense.accuracy}`);
    assert.ok(Math.abs(masked.loss - dense.loss) <= 1e-5 * dense.loss, `kept ${keep}: loss ${masked.loss} against ${dense.loss}`);
    assert.notEqual(masked.loss, dense.loss, `kept ${keep}: the sparse pass ran (its sums round differently)`);
  }
});

test("a model that is not a chain of Dense layers gets a reason, and a bad plan a clear error", async () => {
  const conv = await engineContext(smallConfig({ model: { name: "conv-2" } }));
  const reason = planSparseMlp(conv.session.model, conv.session.layout, conv.session.initialWeights(0), denseMask(conv.session.layout));
  assert.equal(typeof reason, "string");
  assert.match(String(reason), /Conv2D|not Dense/);
  conv.session.dispose();
  const { session } = context;
  const good = plan(session, session.initialWeights(0), randomMask(session.layout, [0.01, 0.1, 0.5], Random.derive(9, ["sparse-mlp"])));
  const y = new Float32Array(10);
  const x = new Float32Array(784);
  const badColumn = Int32Array.from(good.indices);
  badColumn[301] = 100_000;
  assert.throws(() => native.sparseMlpForward(good.structure, badColumn, good.floats, x, 0, 1, y, 0), /plan: .*(column|row starts)/);
  assert.throws(() => native.sparseMlpForward(good.structure, good.indices, good.floats.subarray(1), x, 0, 1, y, 0), /plan: floats/);
  assert.throws(() => native.sparseMlpForward(good.structure, good.indices, good.floats, x, 0, 2, y, 0), /x is too short/);
});
