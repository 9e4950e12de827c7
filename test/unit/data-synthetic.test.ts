import { test } from "node:test";
import assert from "node:assert/strict";
import { DatasetOptionError } from "../../worker/data/dataset.js";
import { createSyntheticDataset, SYNTHETIC_DEFAULTS, synthetic } from "../../worker/data/synthetic.js";
import { meanAndStd } from "../fixtures/data-fixtures.js";

test("synthetic is deterministic and has the documented default geometry", async () => {
  const a = await synthetic.load({});
  const b = await synthetic.load({});
  assert.deepEqual(a.inputShape, [28, 28, 1]);
  assert.equal(a.numClasses, 10);
  assert.equal(a.train.count, SYNTHETIC_DEFAULTS.trainCount);
  assert.equal(a.test.count, SYNTHETIC_DEFAULTS.testCount);
  assert.deepEqual(a.train.images, b.train.images);
  assert.deepEqual(a.test.labels, b.test.labels);
  assert.deepEqual(a.normalisation, b.normalisation);
  assert.ok(a.train.images.buffer instanceof SharedArrayBuffer);
  const stats = meanAndStd(a.train.images);
  assert.ok(Math.abs(stats.mean) < 1e-4 && Math.abs(stats.std - 1) < 1e-4);
  const counts = new Array<number>(10).fill(0);
  for (const label of a.train.labels) counts[label]!++;
  assert.ok(counts.every((n) => n > 150), `every class is present: ${counts}`);
  assert.notDeepEqual(a.train.images.subarray(0, 784), a.test.images.subarray(0, 784));
});

test("synthetic subsets are prefixes of larger sets, and a different seed gives a different set", async () => {
  const small = await synthetic.load({ trainSubset: 300, testSubset: 50 });
  const large = createSyntheticDataset({ trainCount: 3000, testCount: 50 });
  assert.equal(small.train.count, 300);
  assert.equal(small.test.count, 50);
  assert.deepEqual(small.train.labels, large.train.labels.subarray(0, 300));
  assert.deepEqual(small.test.labels, large.test.labels);
  const other = createSyntheticDataset({ trainCount: 300, testCount: 50, seed: 1 });
  assert.notDeepEqual(other.train.labels, small.train.labels);
  await assert.rejects(synthetic.load({ trainSubset: 1_000_000 }), (e: unknown) => e instanceof DatasetOptionError && e.field === "data.trainSubset");
  await assert.rejects(synthetic.load({ dir: "/tmp" }), (e: unknown) => e instanceof DatasetOptionError && e.field === "data.dir");
});

test("synthetic is separable: nearest class mean gets almost every test image right", () => {
  const data = createSyntheticDataset();
  const size = 784;
  const means = new Float64Array(10 * size);
  const counts = new Array<number>(10).fill(0);
  for (let n = 0; n < data.train.count; n++) {
    const label = data.train.labels[n]!;
    counts[label]!++;
    for (let p = 0; p < size; p++) means[label * size + p]! += data.train.images[n * size + p]!;
  }
  for (let k = 0; k < 10; k++) for (let p = 0; p < size; p++) means[k * size + p]! /= counts[k]!;
  let correct = 0;
  for (let n = 0; n < data.test.count; n++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let k = 0; k < 10; k++) {
      let distance = 0;
      for (let p = 0; p < size; p++) distance += (data.test.images[n * size + p]! - means[k * size + p]!) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [k, distance];
    }
    if (best === data.test.labels[n]) correct++;
  }
  const accuracy = correct / data.test.count;
  assert.ok(accuracy > 0.95, `nearest-mean accuracy ${accuracy}`);
});

test("createSyntheticDataset builds other geometries, e.g. 32×32×3", () => {
  const data = createSyntheticDataset({ height: 32, width: 32, channels: 3, trainCount: 40, testCount: 10 });
  assert.deepEqual(data.inputShape, [32, 32, 3]);
  assert.equal(data.train.images.length, 40 * 32 * 32 * 3);
  assert.equal(data.normalisation.mean.length, 3);
});
