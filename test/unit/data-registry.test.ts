import { test } from "node:test";
import assert from "node:assert/strict";
import { DATASET_NAMES } from "../../schema/config.js";
import { channelStatistics, normaliseBytes } from "../../worker/data/normalise.js";
import { DATASETS, getDataset } from "../../worker/data/registry.js";
import { meanAndStd } from "../fixtures/data-fixtures.js";

test("every configurable data set name has a definition of that name", () => {
  assert.deepEqual(Object.keys(DATASETS).sort(), [...DATASET_NAMES].sort());
  for (const name of DATASET_NAMES) assert.equal(getDataset(name).name, name);
  assert.equal(getDataset("fashion-mnist").defaultDir, "/usr/share/datasets/fashion-mnist");
  assert.equal(getDataset("mnist").defaultDir, "/usr/share/datasets/mnist");
  assert.equal(getDataset("synthetic").defaultDir, undefined);
});

test("an unknown data set name is refused with the list of known ones", () => {
  assert.throws(() => getDataset("imagenet"), /unknown data set "imagenet"; known data sets: fashion-mnist, mnist, cifar10, synthetic/);
  assert.throws(() => getDataset("toString"), /unknown data set "toString"/);
});

test("per-channel statistics and normalisation match a direct computation", () => {
  const channels = 3;
  const pixels = Uint8Array.from({ length: 3 * 1001 }, (_, i) => (i * 37 + (i % 3) * 50) % 256);
  const stats = channelStatistics(pixels, channels);
  for (let c = 0; c < channels; c++) {
    const values = Array.from(pixels.filter((_, i) => i % channels === c), (v) => v / 255);
    const direct = meanAndStd(values);
    assert.ok(Math.abs(stats.mean[c]! - direct.mean) < 1e-12);
    assert.ok(Math.abs(stats.std[c]! - direct.std) < 1e-12);
  }
  const normalised = normaliseBytes(pixels, stats);
  assert.ok(normalised.buffer instanceof SharedArrayBuffer);
  assert.ok(Math.abs(normalised[4]! - (pixels[4]! / 255 - stats.mean[1]!) / stats.std[1]!) < 1e-6);
  const grey = channelStatistics(Uint8Array.from([0, 1, 2, 3, 4, 5, 6]), 1);
  assert.ok(Math.abs(grey.mean[0]! - 3 / 255) < 1e-12);
  assert.ok(Math.abs(grey.std[0]! - 2 / 255) < 1e-12);
  // A constant channel maps to zero instead of dividing by zero.
  const constant = Uint8Array.from([9, 9, 9, 9]);
  assert.deepEqual([...normaliseBytes(constant, channelStatistics(constant, 1))], [0, 0, 0, 0]);
});
