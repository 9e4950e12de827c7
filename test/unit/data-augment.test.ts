import { test } from "node:test";
import assert from "node:assert/strict";
import { augmentBatch } from "../../worker/data/augment.js";
import { mulberry32 } from "../../worker/data/prng.js";

const SHAPE: [number, number, number] = [6, 5, 2];
const SIZE = 6 * 5 * 2;

function batch(count: number): Float32Array {
  return Float32Array.from({ length: count * SIZE }, (_, i) => i + 1);
}

/** A generator that replays fixed draws. */
function replay(draws: number[]): () => number {
  let i = 0;
  return () => draws[i++ % draws.length]!;
}

test("augmentation is deterministic for a seed, keeps shapes and changes images", () => {
  const a = batch(8);
  const b = batch(8);
  augmentBatch(a, 8, SHAPE, mulberry32(42));
  augmentBatch(b, 8, SHAPE, mulberry32(42));
  assert.deepEqual(a, b);
  assert.equal(a.length, 8 * SIZE);
  assert.notDeepEqual(a, batch(8));
  const c = batch(8);
  augmentBatch(c, 8, SHAPE, mulberry32(43));
  assert.notDeepEqual(c, a);
});

test("centre crop without flip is the identity; flip mirrors columns and keeps channels together", () => {
  // floor(0.5 × 9) − 4 = 0: no shift. 0.9 ≥ 0.5: no flip; 0.1 < 0.5: flip.
  const same = batch(1);
  augmentBatch(same, 1, SHAPE, replay([0.5, 0.5, 0.9]));
  assert.deepEqual(same, batch(1));
  const flipped = batch(1);
  augmentBatch(flipped, 1, SHAPE, replay([0.5, 0.5, 0.1]));
  const original = batch(1);
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 5; x++) {
      for (let c = 0; c < 2; c++) assert.equal(flipped[(y * 5 + x) * 2 + c], original[(y * 5 + (4 - x)) * 2 + c]);
    }
  }
});

test("a shifted crop moves pixels and pads with zeros or the given values", () => {
  // floor(0.0 × 9) − 4 = −4 rows; floor(0.99 × 9) − 4 = +4 columns.
  const image = batch(1);
  augmentBatch(image, 1, SHAPE, replay([0, 0.99, 0.9]));
  const original = batch(1);
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 5; x++) {
      const sy = y - 4;
      const sx = x + 4;
      for (let c = 0; c < 2; c++) {
        const expected = sy >= 0 && sx < 5 ? original[(sy * 5 + sx) * 2 + c] : 0;
        assert.equal(image[(y * 5 + x) * 2 + c], expected, `y ${y} x ${x} c ${c}`);
      }
    }
  }
  const padded = batch(1);
  augmentBatch(padded, 1, SHAPE, replay([0, 0.99, 0.9]), [-1, -2]);
  assert.equal(padded[0], -1);
  assert.equal(padded[1], -2);
});

test("only the first `count` images are touched and each consumes three draws", () => {
  const images = batch(3);
  let draws = 0;
  const rng = mulberry32(7);
  augmentBatch(images, 2, SHAPE, () => (draws++, rng()));
  assert.equal(draws, 6);
  assert.deepEqual(images.subarray(2 * SIZE), batch(3).subarray(2 * SIZE));
  assert.throws(() => augmentBatch(images, 4, SHAPE, rng), RangeError);
  assert.throws(() => augmentBatch(images, 1, SHAPE, rng, [0]), /padValues has 1 entries for 2 channels/);
});
