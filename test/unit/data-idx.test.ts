import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { encodeIdx, parseIdx, readIdxFile } from "../../worker/data/idx.js";
import { mnist } from "../../worker/data/mnist.js";
import { fixtureLabel, idxImages, idxLabels, idxPixel, makeTempDir, meanAndStd, writeIdxDataset } from "../fixtures/data-fixtures.js";

/** Asserts that `promise` rejects with a DatasetFileError about `file` whose reason matches `reason`. */
async function assertFileError(promise: Promise<unknown>, file: string, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DatasetFileError, `expected a DatasetFileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.reason, reason);
    assert.ok(error.message.includes(file), "the message names the file");
    return true;
  });
}

test("parseIdx reads the header and values of an encoded array", () => {
  const data = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
  const parsed = parseIdx(encodeIdx([2, 3, 4], data), "x.idx", 3);
  assert.deepEqual(parsed.dims, [2, 3, 4]);
  assert.deepEqual([...parsed.data], [...data]);
});

test("parseIdx refuses a wrong magic number, a short header, truncated values and trailing bytes, naming the file", () => {
  const good = encodeIdx([2, 2, 2], new Uint8Array(8));
  assert.throws(() => parseIdx(good, "labels.idx", 1), (e: unknown) => e instanceof DatasetFileError && e.file === "labels.idx" && /bad magic number 0x00000803 \(expected 0x00000801/.test(e.reason));
  assert.throws(() => parseIdx(good.subarray(0, 3), "a.idx", 3), /a\.idx: truncated: 3 bytes/);
  assert.throws(() => parseIdx(good.subarray(0, 10), "b.idx", 3), /b\.idx: truncated: 10 bytes, shorter than the 16-byte IDX header/);
  assert.throws(() => parseIdx(good.subarray(0, good.length - 1), "c.idx", 3), /c\.idx: truncated: 23 bytes, expected 24 for 2×2×2 values/);
  const long = new Uint8Array(good.length + 5);
  long.set(good);
  assert.throws(() => parseIdx(long, "d.idx", 3), /d\.idx: 5 unexpected bytes after the 2×2×2 values/);
  const floats = good.slice();
  floats[2] = 0x0d;
  assert.throws(() => parseIdx(floats, "e.idx", 3), /e\.idx: bad magic number 0x00000d03/);
});

test("readIdxFile reads plain and gzipped files alike and reports bad gzip", async (t) => {
  const { dir, remove } = await makeTempDir("idx");
  t.after(remove);
  const bytes = idxLabels(50);
  await writeFile(join(dir, "plain"), bytes);
  await writeFile(join(dir, "zipped.gz"), gzipSync(bytes));
  const plain = await readIdxFile(join(dir, "plain"), 1);
  const zipped = await readIdxFile(join(dir, "zipped.gz"), 1);
  assert.deepEqual([...zipped.data], [...plain.data]);
  assert.equal(plain.data[7], fixtureLabel(7));

  const truncatedGzip = join(dir, "truncated.gz");
  const gz = gzipSync(bytes);
  await writeFile(truncatedGzip, gz.subarray(0, gz.length - 10));
  await assertFileError(readIdxFile(truncatedGzip, 1), truncatedGzip, /^bad gzip: /);

  const notGzip = join(dir, "not-gzip.gz");
  await writeFile(notGzip, bytes);
  await assertFileError(readIdxFile(notGzip, 1), notGzip, /^bad gzip: the file does not start with the gzip signature/);

  const corrupt = join(dir, "corrupt.gz");
  const damaged = Buffer.from(gz);
  damaged.fill(0xff, 12, 40);
  await writeFile(corrupt, damaged);
  await assertFileError(readIdxFile(corrupt, 1), corrupt, /^bad gzip: /);
});

for (const gzip of [false, true]) {
  test(`an MNIST-layout directory (${gzip ? "gzipped" : "plain"}) loads with the right counts, values and labels`, async (t) => {
    const { dir, remove } = await makeTempDir("mnist");
    t.after(remove);
    await writeIdxDataset(dir, { trainCount: 120, testCount: 30, gzip });
    const data = await mnist.load({ dir });
    assert.equal(data.name, "mnist");
    assert.deepEqual(data.inputShape, [28, 28, 1]);
    assert.equal(data.numClasses, 10);
    assert.equal(data.train.count, 120);
    assert.equal(data.test.count, 30);
    assert.equal(data.train.images.length, 120 * 784);
    assert.equal(data.test.images.length, 30 * 784);
    assert.ok(data.train.images.buffer instanceof SharedArrayBuffer);
    assert.ok(data.train.labels.buffer instanceof SharedArrayBuffer);
    assert.ok(data.test.images.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...data.train.labels.subarray(0, 5)], [0, 1, 2, 3, 4].map((n) => fixtureLabel(n)));
    const [mean] = data.normalisation.mean as [number];
    const [std] = data.normalisation.std as [number];
    // Pixel 100 of test image 3, normalised with the training statistics.
    const expected = (idxPixel(3, 100) / 255 - mean) / std;
    assert.ok(Math.abs(data.test.images[3 * 784 + 100]! - expected) < 1e-5);
    const stats = meanAndStd(data.train.images);
    assert.ok(Math.abs(stats.mean) < 1e-4, `mean ${stats.mean}`);
    assert.ok(Math.abs(stats.std - 1) < 1e-4, `std ${stats.std}`);
  });
}

test("the dotted file names some mirrors use are accepted", async (t) => {
  const { dir, remove } = await makeTempDir("mnist-dotted");
  t.after(remove);
  const paths = await writeIdxDataset(dir, { trainCount: 20, testCount: 10, gzip: false });
  await rename(paths.trainImages, join(dir, "train-images.idx3-ubyte"));
  const data = await mnist.load({ dir });
  assert.equal(data.train.count, 20);
});

test("trainSubset and testSubset keep the first images and take statistics from the subset only", async (t) => {
  const { dir, remove } = await makeTempDir("mnist-subset");
  t.after(remove);
  await writeIdxDataset(dir, { trainCount: 100, testCount: 40, gzip: true });
  const full = await mnist.load({ dir });
  const subset = await mnist.load({ dir, trainSubset: 10, testSubset: 5 });
  assert.equal(subset.train.count, 10);
  assert.equal(subset.train.images.length, 10 * 784);
  assert.equal(subset.test.count, 5);
  assert.deepEqual([...subset.train.labels], [...full.train.labels.subarray(0, 10)]);
  let sum = 0;
  for (let n = 0; n < 10; n++) for (let p = 0; p < 784; p++) sum += idxPixel(n, p);
  assert.ok(Math.abs(subset.normalisation.mean[0]! - sum / (10 * 784) / 255) < 1e-12);
  assert.notEqual(subset.normalisation.mean[0], full.normalisation.mean[0]);
  const stats = meanAndStd(subset.train.images);
  assert.ok(Math.abs(stats.mean) < 1e-4 && Math.abs(stats.std - 1) < 1e-4);
  await assert.rejects(mnist.load({ dir, trainSubset: 101 }), (e: unknown) => e instanceof DatasetOptionError && e.field === "data.trainSubset" && /asks for 101 examples but mnist has only 100/.test(e.message));
  await assert.rejects(mnist.load({ dir, testSubset: 41 }), (e: unknown) => e instanceof DatasetOptionError && e.field === "data.testSubset");
});

test("every malformed MNIST-layout directory gets an error naming the file and the problem", async (t) => {
  const { dir: root, remove } = await makeTempDir("mnist-bad");
  t.after(remove);
  let caseNumber = 0;
  async function freshDataset(gzip = false) {
    const dir = join(root, `case-${caseNumber++}`);
    await mkdir(dir);
    return { dir, paths: await writeIdxDataset(dir, { trainCount: 20, testCount: 10, gzip }) };
  }

  await assertFileError(mnist.load({ dir: join(root, "nowhere") }), join(root, "nowhere"), /directory does not exist \(from data\.dir\)/);

  {
    const { dir, paths } = await freshDataset();
    await rm(paths.testLabels);
    await assertFileError(mnist.load({ dir }), paths.testLabels, /^missing \(looked in .* for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte\.gz/);
  }
  {
    const { dir, paths } = await freshDataset();
    const bytes = await readFile(paths.trainImages);
    await writeFile(paths.trainImages, bytes.subarray(0, bytes.length - 100));
    await assertFileError(mnist.load({ dir }), paths.trainImages, /^truncated: /);
  }
  {
    const { dir, paths } = await freshDataset();
    await writeFile(paths.trainLabels, idxImages(20));
    await assertFileError(mnist.load({ dir }), paths.trainLabels, /^bad magic number 0x00000803 \(expected 0x00000801/);
  }
  {
    const { dir, paths } = await freshDataset();
    await writeFile(paths.testLabels, idxLabels(9));
    await assertFileError(mnist.load({ dir }), paths.testLabels, /^count mismatch: 9 labels but .*t10k-images-idx3-ubyte holds 10 images/);
  }
  {
    const { dir, paths } = await freshDataset();
    const labels = idxLabels(20);
    labels[8 + 13] = 10;
    await writeFile(paths.trainLabels, labels);
    await assertFileError(mnist.load({ dir }), paths.trainLabels, /^label 10 at index 13 is outside \[0, 10\)/);
  }
  {
    const { dir, paths } = await freshDataset();
    await writeFile(paths.testImages, idxImages(10, 32, 32));
    await assertFileError(mnist.load({ dir }), paths.testImages, /^images are 32×32, expected 28×28 for mnist/);
  }
  {
    const { dir, paths } = await freshDataset(true);
    const gz = await readFile(paths.trainImages);
    await writeFile(paths.trainImages, gz.subarray(0, gz.length >> 1));
    await assertFileError(mnist.load({ dir }), paths.trainImages, /^bad gzip: /);
  }
});
