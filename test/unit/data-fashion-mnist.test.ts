/**
 * The real Fashion-MNIST files. CI installs Debian's dataset-fashion-mnist, so their absence is a
 * failure, not a skip.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { FASHION_MNIST_DEFAULT_DIR, fashionMnist } from "../../worker/data/fashion-mnist.js";
import { meanAndStd } from "../fixtures/data-fixtures.js";

test("the Fashion-MNIST files are installed at the default directory", () => {
  assert.ok(existsSync(FASHION_MNIST_DEFAULT_DIR), `${FASHION_MNIST_DEFAULT_DIR} is missing: apt-get install dataset-fashion-mnist`);
  assert.equal(fashionMnist.defaultDir, FASHION_MNIST_DEFAULT_DIR);
});

test("Fashion-MNIST loads 60,000 + 10,000 normalised 28×28×1 images of 10 classes", async () => {
  const started = performance.now();
  const data = await fashionMnist.load({});
  const seconds = (performance.now() - started) / 1000;
  assert.equal(data.name, "fashion-mnist");
  assert.deepEqual(data.inputShape, [28, 28, 1]);
  assert.equal(data.numClasses, 10);
  assert.equal(data.train.count, 60_000);
  assert.equal(data.test.count, 10_000);
  assert.equal(data.train.images.length, 60_000 * 784);
  assert.equal(data.test.labels.length, 10_000);
  assert.ok(data.train.images.buffer instanceof SharedArrayBuffer);
  assert.ok(data.test.labels.buffer instanceof SharedArrayBuffer);
  // The published statistics of the Fashion-MNIST training set, in [0, 1] pixel units.
  assert.ok(Math.abs(data.normalisation.mean[0]! - 0.286) < 1e-3, `mean ${data.normalisation.mean[0]}`);
  assert.ok(Math.abs(data.normalisation.std[0]! - 0.353) < 1e-3, `std ${data.normalisation.std[0]}`);
  const stats = meanAndStd(data.train.images);
  assert.ok(Math.abs(stats.mean) < 1e-4, `normalised mean ${stats.mean}`);
  assert.ok(Math.abs(stats.std - 1) < 1e-4, `normalised std ${stats.std}`);
  // Each class has exactly 6,000 training and 1,000 test images.
  for (const [split, perClass] of [[data.train, 6000], [data.test, 1000]] as const) {
    const counts = new Array<number>(10).fill(0);
    for (const label of split.labels) counts[label]!++;
    assert.deepEqual(counts, new Array<number>(10).fill(perClass));
  }
  // Generous bound: the target is about a second, but CI machines are shared.
  assert.ok(seconds < 10, `loading took ${seconds.toFixed(2)} s`);
});

test("a Fashion-MNIST training subset is normalised by its own statistics", async () => {
  const data = await fashionMnist.load({ trainSubset: 5000, testSubset: 1000 });
  assert.equal(data.train.count, 5000);
  assert.equal(data.test.count, 1000);
  assert.equal(data.train.images.length, 5000 * 784);
  const stats = meanAndStd(data.train.images);
  assert.ok(Math.abs(stats.mean) < 1e-4 && Math.abs(stats.std - 1) < 1e-4, `normalised mean ${stats.mean}, std ${stats.std}`);
  assert.notEqual(data.normalisation.mean[0], 0.2860405969887955);
});
