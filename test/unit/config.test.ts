import assert from "node:assert/strict";
import { test } from "node:test";
import { configHash, cycleCount, parseExperimentConfig, requireExperimentConfig, swaSnapshotEpochs, InvalidConfigError } from "../../schema/config.js";

const minimal = { name: "t", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp" } };

test("defaults fill what a config leaves out", () => {
  const config = requireExperimentConfig(minimal);
  assert.equal(config.method.particles, 4);
  assert.equal(config.pruning.rate, 0.2);
  assert.equal(config.pruning.cycles, 25);
  assert.equal(config.training.batchSize, 128);
  assert.equal(config.swa.lr, 0.05);
  assert.equal(cycleCount(config), 26);
  assert.equal(requireExperimentConfig({ ...minimal, method: { name: "imp" } }).method.particles, 1);
});

test("the hash ignores key order, spelled-out defaults, name and tags", () => {
  const a = requireExperimentConfig(minimal);
  const b = requireExperimentConfig({ method: { name: "swamp", particles: 4 }, model: { name: "lenet-300-100" }, data: { name: "synthetic" }, name: "other", tags: ["x"], pruning: { rate: 0.2 } });
  assert.equal(configHash(a), configHash(b));
  assert.match(configHash(a), /^[0-9a-f]{64}$/);
  const c = requireExperimentConfig({ ...minimal, seed: 1 });
  assert.notEqual(configHash(a), configHash(c));
});

test("an invalid config lists every problem with its field path", () => {
  const result = parseExperimentConfig({
    name: "bad name!",
    data: { name: "imagenet" },
    model: {},
    method: { name: "imp", particles: 3 },
    training: { lr: -1, batchSize: 1.5 },
    extra: true,
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const paths = result.problems.map((p) => p.path);
  for (const expected of ["name", "data.name", "model.name", "training.lr", "training.batchSize", "(root)"]) {
    assert.ok(paths.includes(expected), `expected a problem at ${expected}, got ${paths.join(", ")}`);
  }
  assert.match(result.problems.find((p) => p.path === "data.name")!.message, /must be one of "fashion-mnist"/);
  assert.match(result.problems.find((p) => p.path === "model.name")!.message, /is required/);
  assert.match(result.problems.find((p) => p.path === "(root)")!.message, /extra/);
});

test("cross-field rules name the field", () => {
  const result = parseExperimentConfig({ ...minimal, method: { name: "imp", particles: 2 }, data: { name: "synthetic", trainSubset: 10 } });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.problems.map((p) => p.path).sort(), ["data.trainSubset", "method.particles"]);
  assert.throws(() => requireExperimentConfig({}), InvalidConfigError);
});

test("SWA snapshots fall at the end of each epoch of the last quarter", () => {
  assert.deepEqual(swaSnapshotEpochs(requireExperimentConfig({ ...minimal, training: { epochs: 5 } })), [4, 5]);
  assert.deepEqual(swaSnapshotEpochs(requireExperimentConfig({ ...minimal, training: { epochs: 10 } })), [8, 9, 10]);
  assert.deepEqual(swaSnapshotEpochs(requireExperimentConfig({ ...minimal, training: { epochs: 10 }, swa: { everyEpochs: 2 } })), [8, 10]);
  assert.deepEqual(swaSnapshotEpochs(requireExperimentConfig({ ...minimal, method: { name: "imp" } })), []);
});
