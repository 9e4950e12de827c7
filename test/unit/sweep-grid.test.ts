import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { requireExperimentConfig } from "../../schema/config.js";
import { configPathProblem, expandSweep, knownConfigPaths, MAX_SWEEP_SIZE, type SweepPoint } from "../../schema/sweep-grid.js";

const base = { name: "ignored", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "imp" }, pruning: { cycles: 1 }, tags: ["base"] };

test("the cross product expands in a fixed order, the first grid key varying slowest, sub-objects replacing whole sections", () => {
  const result = expandSweep("cmp", base, { method: [{ name: "imp" }, { name: "swamp", particles: 2 }], seed: [0, 1, 2] }, ["sweep-tag"]);
  assert.ok(result.ok, JSON.stringify(result));
  if (!result.ok) return;
  assert.deepEqual(
    result.points.map((p) => [p.index, p.config.name, p.config.method.name, p.config.method.particles, p.config.seed]),
    [
      [0, "cmp-0", "imp", 1, 0],
      [1, "cmp-1", "imp", 1, 1],
      [2, "cmp-2", "imp", 1, 2],
      [3, "cmp-3", "swamp", 2, 0],
      [4, "cmp-4", "swamp", 2, 1],
      [5, "cmp-5", "swamp", 2, 2],
    ],
  );
  assert.deepEqual(result.points[4]!.assignment, { method: { name: "swamp", particles: 2 }, seed: 1 });
  assert.deepEqual(result.points[0]!.config.tags, ["base", "sweep-tag"]);
  assert.equal(result.points[0]!.config.pruning.cycles, 1, "the base's other fields are kept");
  const again = expandSweep("cmp", base, { method: [{ name: "imp" }, { name: "swamp", particles: 2 }], seed: [0, 1, 2] }, ["sweep-tag"]);
  assert.deepEqual(again, result, "deterministic");
});

test("a dotted path sets one field, after a whole sub-object given for its parent", () => {
  const result = expandSweep("dot", base, { "method.particles": [2, 3], method: [{ name: "swamp" }] });
  assert.ok(result.ok, JSON.stringify(result));
  if (!result.ok) return;
  assert.deepEqual(result.points.map((p) => [p.config.method.name, p.config.method.particles]), [["swamp", 2], ["swamp", 3]]);
  const lr = expandSweep("lr", base, { "training.lr": [0.1, 0.05] });
  assert.ok(lr.ok);
  if (lr.ok) assert.deepEqual(lr.points.map((p) => p.config.training.lr), [0.1, 0.05]);
});

test("grid problems name the grid key: unknown paths, bad shapes, empty and non-list values, reserved keys, size", () => {
  const result = expandSweep("bad", base, { "training.nope": [1], "a..b": [1], seed: [], "method.name": "imp", name: ["x"] });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const byPath = new Map(result.problems.map((p) => [p.path, p.message]));
  assert.match(byPath.get("grid.training.nope")!, /not a config path/);
  assert.match(byPath.get("grid.a..b")!, /dotted names/);
  assert.match(byPath.get("grid.seed")!, /at least one value/);
  assert.match(byPath.get("grid.method.name")!, /list of values/);
  assert.match(byPath.get("grid.name")!, /set by the sweep/);
  const big = expandSweep("big", base, { seed: Array.from({ length: 101 }, (_, i) => i), "training.lr": Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1)) });
  assert.equal(big.ok, false);
  if (!big.ok) assert.match(big.problems[0]!.message, new RegExp(`1010 experiments; at most ${MAX_SWEEP_SIZE}`));
  const name = expandSweep("bad name", base, { seed: [0] });
  assert.equal(name.ok, false);
  if (!name.ok) assert.equal(name.problems[0]!.path, "name");
});

test("an invalid point's problems name the point, its grid values and the field path", () => {
  const result = expandSweep("pts", base, { method: [{ name: "imp", particles: 4 }, { name: "swamp", particles: 4 }], "training.lr": [0.1, -1] });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const paths = result.problems.map((p) => p.path);
  assert.deepEqual(new Set(paths), new Set(["points.0.method.particles", "points.1.method.particles", "points.1.training.lr", "points.3.training.lr", "points.3.swa.lr"]));
  assert.match(result.problems[0]!.message, /imp trains exactly 1 particle \(at grid point 0 \{"method":\{"name":"imp","particles":4\},"training.lr":0.1\}\)/);
});

test("config paths: known paths come from the config schema; shapes are checked", () => {
  const known = knownConfigPaths();
  for (const path of ["seed", "method", "method.name", "method.particles", "training.lr", "data.trainSubset", "swa.everyEpochs"]) assert.ok(known.has(path), path);
  assert.equal(known.has("training.nope"), false);
  assert.equal(configPathProblem("method.name"), null);
  assert.notEqual(configPathProblem("method'; drop table"), null);
  assert.notEqual(configPathProblem("a.b.c.d.e.f.g.h.i"), null);
});

test("configs/fmnist-lenet-fast-grid.json crosses the fast protocol's base into the README's 3 methods × 3 seeds", () => {
  const root = resolve(__dirname, "../../..");
  const fast = JSON.parse(readFileSync(join(root, "configs/fmnist-lenet-swamp-fast.json"), "utf8"));
  const grid = JSON.parse(readFileSync(join(root, "configs/fmnist-lenet-fast-grid.json"), "utf8"));
  const result = expandSweep("fmnist-lenet-fast", fast, grid);
  assert.ok(result.ok, JSON.stringify(result));
  if (!result.ok) return;
  assert.deepEqual(result.points.map((p) => `${p.config.method.name}/${p.config.method.particles}/${p.config.seed}`), ["imp/1/0", "imp/1/1", "imp/1/2", "imp-swa/1/0", "imp-swa/1/1", "imp-swa/1/2", "swamp/4/0", "swamp/4/1", "swamp/4/2"]);
  for (const method of ["imp", "imp-swa"]) {
    const own = JSON.parse(readFileSync(join(root, `configs/fmnist-lenet-${method}-fast.json`), "utf8"));
    const point: SweepPoint = result.points.find((p) => p.config.method.name === method && p.config.seed === 0)!;
    assert.deepEqual({ ...point.config, name: own.name }, requireExperimentConfig(own), `${method}: the same run as configs/fmnist-lenet-${method}-fast.json`);
  }
});
