import assert from "node:assert/strict";
import { test } from "node:test";
import { RunningAverage, uniformAverage } from "../../worker/engine/average.js";
import { Random } from "../../worker/engine/rng.js";

test("the SWA average equals the arithmetic mean of its snapshots", () => {
  const random = Random.derive(1, ["avg"]);
  const snapshots = Array.from({ length: 5 }, () => [Float32Array.from({ length: 40 }, () => random.nextNormal()), Float32Array.from({ length: 7 }, () => random.nextNormal())]);
  const average = new RunningAverage();
  snapshots.forEach((s) => average.add(s));
  assert.equal(average.count, 5);
  const result = average.average();
  for (let t = 0; t < 2; t++) {
    for (let j = 0; j < result[t]!.length; j++) {
      const mean = snapshots.reduce((sum, s) => sum + s[t]![j]!, 0) / 5;
      assert.equal(result[t]![j], Math.fround(mean));
    }
  }
});

test("averaging N copies of one model returns it exactly", () => {
  const random = Random.derive(2, ["avg"]);
  const model = [Float32Array.from({ length: 1000 }, () => random.nextNormal() * 10)];
  for (const n of [1, 2, 3, 4, 7]) {
    const result = uniformAverage(Array.from({ length: n }, () => model));
    assert.deepEqual(result[0], model[0]);
  }
});

test("averaging refuses mismatched or missing models", () => {
  assert.throws(() => uniformAverage([]), /zero models/);
  assert.throws(() => uniformAverage([[new Float32Array(3)], [new Float32Array(4)]]), /tensor 0 has 4 values/);
  assert.throws(() => new RunningAverage().average(), /no snapshot/);
});
