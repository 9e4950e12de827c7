import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { recalibrateBatchNorm } from "../../worker/engine/batchnorm.js";
import { applyMask, denseMask, masksEqual, type Mask } from "../../worker/engine/mask.js";
import { ModelSession } from "../../worker/engine/model-session.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import { Random } from "../../worker/engine/rng.js";
import { train } from "../../worker/engine/train.js";
import { exportLayersModel } from "../../worker/formats/tfjs-model.js";
import { aggregateCycle } from "../../worker/tasks/aggregate-cycle.js";
import { pretrain } from "../../worker/tasks/pretrain.js";
import { trainParticle } from "../../worker/tasks/train-particle.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

before(useDefaultBackend);

test("pruned weights and their momentum stay exactly zero through training", async () => {
  const config = smallConfig();
  const context = await engineContext(config);
  const { session } = context;
  const initial = session.initialWeights(1);
  const mask: Mask = pruneByMagnitude(initial, denseMask(session.layout), session.layout, { rate: 0.5, scope: "global", exclude: [] });
  applyMask(initial, mask, session.layout);
  session.writeWeights(initial);
  let checkedSteps = 0;
  train({
    session,
    data: context.dataset.train,
    inputShape: context.dataset.inputShape,
    epochs: 2,
    batchSize: 64,
    momentum: 0.9,
    weightDecay: 1e-3,
    learningRate: () => 0.05,
    order: Random.derive(1, ["order"]),
    mask,
    onStep: ({ optimizer }) => {
      const weights = session.readWeights();
      const velocities = optimizer.velocityValues();
      session.layout.prunable.forEach((position, i) => {
        const velocity = velocities[session.trainablePositions.indexOf(position)]!;
        mask[i]!.forEach((bit, j) => {
          if (bit === 0) {
            // Multiplying a negative value by the mask gives -0, which is exactly zero too.
            assert.ok(weights[position]![j] === 0, `pruned weight ${j} is ${weights[position]![j]}`);
            assert.ok(velocity[j] === 0, `pruned momentum ${j} is ${velocity[j]}`);
          }
        });
        assert.ok(velocity.some((v) => v !== 0), "alive weights do get momentum");
      });
      checkedSteps++;
    },
  });
  assert.equal(checkedSteps, 2 * Math.ceil(384 / 64));
  session.dispose();
});

test("BatchNorm recalibration matches a hand computation", async () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [2, 2, 1], name: "flat" }),
      tfl.layers.dense({ units: 3, name: "fc" }),
      tfl.layers.batchNormalization({ name: "bn" }),
      tfl.layers.dense({ units: 2, name: "out" }),
    ],
  });
  const session = new ModelSession(model, []);
  const random = Random.derive(9, ["bn-data"]);
  const count = 10;
  const images = Float32Array.from({ length: count * 4 }, () => random.nextNormal());
  const data = { images, labels: new Int32Array(count), count };
  recalibrateBatchNorm({ session, data, inputShape: [2, 2, 1], examples: count, batchSize: 4, order: Random.derive(9, ["bn-order"]) });

  const weights = session.readWeights();
  const kernel = weights[session.layout.entries.findIndex((e) => e.name.startsWith("fc/kernel"))]!;
  const bias = weights[session.layout.entries.findIndex((e) => e.name.startsWith("fc/bias"))]!;
  const order = Random.derive(9, ["bn-order"]).permutation(count);
  const means = [0, 0, 0];
  const variances = [0, 0, 0];
  const batches = [[0, 4], [4, 8], [8, 10]] as const;
  for (const [start, end] of batches) {
    for (let c = 0; c < 3; c++) {
      const z = [];
      for (let k = start; k < end; k++) {
        const x = images.subarray(order[k]! * 4, order[k]! * 4 + 4);
        z.push(x.reduce((sum, xi, i) => sum + xi * kernel[i * 3 + c]!, bias[c]!));
      }
      const mean = z.reduce((a, b) => a + b, 0) / z.length;
      means[c]! += mean / batches.length;
      variances[c]! += z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length / batches.length;
    }
  }
  const movingMean = weights[session.layout.entries.findIndex((e) => e.role === "moving-mean")]!;
  const movingVariance = weights[session.layout.entries.findIndex((e) => e.role === "moving-variance")]!;
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(movingMean[c]! - means[c]!) < 1e-5, `mean ${c}: ${movingMean[c]} vs ${means[c]}`);
    assert.ok(Math.abs(movingVariance[c]! - variances[c]!) < 1e-5, `variance ${c}: ${movingVariance[c]} vs ${variances[c]}`);
  }
  assert.equal(session.batchNormLayers[0]!.momentum, 0.9, "training momentum is restored");
  session.dispose();
});

async function runTwoCycles(): Promise<{ masks: Mask[]; accuracies: number[]; particleAccuracies: number[] }> {
  const config = smallConfig();
  const context = await engineContext(config);
  const rewind = pretrain(context, { kind: "pretrain" }).weights;
  let mask = denseMask(context.session.layout);
  const masks: Mask[] = [];
  const accuracies: number[] = [];
  const particleAccuracies: number[] = [];
  for (let cycle = 0; cycle < 2; cycle++) {
    const particles = [0, 1].map((particle) => trainParticle(context, { kind: "train-particle", cycle, particle, rewindWeights: rewind, mask }));
    particleAccuracies.push(...particles.map((p) => p.accuracy));
    const aggregate = aggregateCycle(context, { kind: "aggregate-cycle", cycle, particleWeights: particles.map((p) => p.weights), mask, final: false });
    accuracies.push(aggregate.accuracy);
    mask = aggregate.nextMask!;
    masks.push(mask);
  }
  context.session.dispose();
  return { masks, accuracies, particleAccuracies };
}

test("the same seed twice gives byte-identical masks and equal accuracies", async () => {
  const first = await runTwoCycles();
  const second = await runTwoCycles();
  first.masks.forEach((mask, i) => assert.ok(masksEqual(mask, second.masks[i]!), `mask ${i} differs`));
  assert.deepEqual(first.accuracies, second.accuracies);
  assert.deepEqual(first.particleAccuracies, second.particleAccuracies);
  assert.ok(first.accuracies[0]! > 0.5, `the averaged model learned something (accuracy ${first.accuracies[0]})`);
});

test("particles differ only in batch order, and the exported TF.js model predicts like the engine", async () => {
  const config = smallConfig();
  const context = await engineContext(config);
  const rewind = pretrain(context, { kind: "pretrain" }).weights;
  const mask = denseMask(context.session.layout);
  const a = trainParticle(context, { kind: "train-particle", cycle: 0, particle: 0, rewindWeights: rewind, mask });
  const b = trainParticle(context, { kind: "train-particle", cycle: 0, particle: 1, rewindWeights: rewind, mask });
  assert.notEqual(a.orderSeed, b.orderSeed);
  assert.notDeepEqual(a.weights[0], b.weights[0]);
  assert.equal(a.swaSnapshots, 2, "SWA starts at half of 2 epochs: snapshots after epochs 1 and 2");

  const files = await exportLayersModel(context.session, a.weights);
  const json = JSON.parse(files.modelJson);
  const loaded = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: files.weightsBin.slice().buffer }),
  );
  const x = tf.tensor(context.dataset.test.images.subarray(0, 20 * 784), [20, 28, 28, 1]);
  const expected = (context.session.model.predict(x) as tf.Tensor).arraySync();
  const actual = (loaded.predict(x) as tf.Tensor).arraySync();
  assert.deepEqual(actual, expected);
  context.session.dispose();
});
