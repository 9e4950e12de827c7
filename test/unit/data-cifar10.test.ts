import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cifar10, CIFAR10_RECORD_BYTES, parseCifarBatch } from "../../worker/data/cifar10.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { cifarBatch, cifarValue, fixtureLabel, makeTempDir, meanAndStd, writeCifarDataset } from "../fixtures/data-fixtures.js";

test("parseCifarBatch turns channel planes into channels-last pixels", () => {
  const split = parseCifarBatch(cifarBatch(3), "batch.bin");
  assert.equal(split.count, 3);
  assert.equal(split.pixels.length, 3 * 3072);
  for (const [n, y, x] of [[0, 0, 0], [1, 5, 17], [2, 31, 31]] as const) {
    for (let c = 0; c < 3; c++) {
      assert.equal(split.pixels[n * 3072 + (y * 32 + x) * 3 + c], cifarValue(n, c, y * 32 + x));
    }
  }
  assert.deepEqual([...split.labels], [0, 1, 2].map((n) => fixtureLabel(n)));
});

test("parseCifarBatch refuses partial records and bad labels, naming the file", () => {
  const bytes = cifarBatch(2);
  assert.throws(
    () => parseCifarBatch(bytes.subarray(0, CIFAR10_RECORD_BYTES + 100), "short.bin"),
    (e: unknown) => e instanceof DatasetFileError && e.file === "short.bin" && /3173 bytes is not a whole number of 3073-byte records/.test(e.reason),
  );
  const badLabel = bytes.slice();
  badLabel[CIFAR10_RECORD_BYTES] = 12;
  assert.throws(() => parseCifarBatch(badLabel, "labels.bin"), /labels\.bin: label 12 of record 1 is outside \[0, 10\)/);
  assert.throws(() => parseCifarBatch(new Uint8Array(0), "empty.bin"), /empty\.bin: is empty/);
});

test("cifar10 loads the six batch files, in order, from data.dir or its cifar-10-batches-bin folder", async (t) => {
  const { dir, remove } = await makeTempDir("cifar");
  t.after(remove);
  const nested = join(dir, "cifar-10-batches-bin");
  await mkdir(nested);
  await writeCifarDataset(nested, 4, 6);
  assert.equal(cifar10.supportsAugmentation, true);
  assert.equal(cifar10.defaultDir, undefined);
  for (const from of [dir, nested]) {
    const data = await cifar10.load({ dir: from });
    assert.deepEqual(data.inputShape, [32, 32, 3]);
    assert.equal(data.numClasses, 10);
    assert.equal(data.train.count, 20);
    assert.equal(data.test.count, 6);
    assert.ok(data.train.images.buffer instanceof SharedArrayBuffer);
    // Record 13 is the second record of data_batch_4.bin.
    assert.equal(data.train.labels[13], fixtureLabel(13));
    const { mean, std } = data.normalisation;
    assert.equal(mean.length, 3);
    const pixel = 100;
    for (let c = 0; c < 3; c++) {
      const expected = (cifarValue(13, c, pixel) / 255 - mean[c]!) / std[c]!;
      assert.ok(Math.abs(data.train.images[13 * 3072 + pixel * 3 + c]! - expected) < 1e-5);
      const channel = data.train.images.filter((_, i) => i % 3 === c);
      const stats = meanAndStd(channel);
      assert.ok(Math.abs(stats.mean) < 1e-4 && Math.abs(stats.std - 1) < 1e-4, `channel ${c}: mean ${stats.mean}, std ${stats.std}`);
    }
  }
  const subset = await cifar10.load({ dir, trainSubset: 6, testSubset: 2 });
  assert.equal(subset.train.count, 6);
  assert.equal(subset.test.count, 2);
  assert.deepEqual([...subset.train.labels], [0, 1, 2, 3, 4, 5].map((n) => fixtureLabel(n)));
});

test("cifar10 without data.dir, or with a missing or broken file, says what is wrong", async (t) => {
  await assert.rejects(cifar10.load({}), (e: unknown) => e instanceof DatasetOptionError && e.field === "data.dir" && /no default directory/.test(e.message));
  const { dir, remove } = await makeTempDir("cifar-bad");
  t.after(remove);
  await writeCifarDataset(dir, 2, 2);
  const batch3 = join(dir, "data_batch_3.bin");
  const bytes = await readFile(batch3);
  await writeFile(batch3, bytes.subarray(0, bytes.length - 1));
  await assert.rejects(cifar10.load({ dir }), (e: unknown) => e instanceof DatasetFileError && e.file === batch3 && /not a whole number/.test(e.reason));
  await rm(join(dir, "test_batch.bin"));
  await assert.rejects(cifar10.load({ dir }), (e: unknown) => e instanceof DatasetFileError && e.file === join(dir, "test_batch.bin") && /^missing/.test(e.reason));
});
