import assert from "node:assert/strict";
import { test } from "node:test";
import { barrier, lerp } from "../../worker/analyses/interpolate.js";
import { gridAxis, planeBasis } from "../../worker/analyses/plane.js";

test("barrier: the largest rise of the loss above the chord between the ends, 0 for a convex curve", () => {
  const alphas = [0, 0.25, 0.5, 0.75, 1];
  assert.equal(barrier(alphas, [1, 0.8, 0.7, 0.8, 1]), 0);
  assert.equal(barrier(alphas, [1, 1.5, 2.5, 2.5, 2]), 1);
  assert.deepEqual(lerp([Float32Array.from([0, 2])], [Float32Array.from([4, 2])], 0.25), [Float32Array.from([1, 2])]);
});

test("planeBasis: orthonormal u and v, the models' coordinates reproduce them, collinear models span no plane", () => {
  const a = [Float32Array.from([1, 0, 0]), Float32Array.from([2])];
  const b = [Float32Array.from([4, 4, 0]), Float32Array.from([2])];
  const c = [Float32Array.from([1, 0, 3]), Float32Array.from([4])];
  const basis = planeBasis(a, b, c)!;
  const flat = (x: Float64Array[]) => x.flatMap((t) => [...t]);
  const [u, v] = [flat(basis.u), flat(basis.v)];
  const dot = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);
  assert.ok(Math.abs(dot(u, u) - 1) < 1e-12 && Math.abs(dot(v, v) - 1) < 1e-12 && Math.abs(dot(u, v)) < 1e-12);
  assert.deepEqual(basis.b, [5, 0]);
  const at = ([x, y]: [number, number]) => flat(a.map((t) => Float64Array.from(t))).map((o, i) => o + x * u[i]! + y * v[i]!);
  for (const [model, point] of [[b, basis.b], [c, basis.c]] as const) {
    at(point).forEach((value, i) => assert.ok(Math.abs(value - flat(model.map((t) => Float64Array.from(t)))[i]!) < 1e-9));
  }
  assert.equal(planeBasis(a, b, [Float32Array.from([7, 8, 0]), Float32Array.from([2])]), undefined, "c on the line through a and b");
  assert.equal(planeBasis(a, a, c), undefined, "a = b");
});

test("gridAxis: evenly spaced over the span plus the margin on each side", () => {
  assert.deepEqual(gridAxis([0, 2, 1], 5, 0.5), [-1, 0, 1, 2, 3]);
});
