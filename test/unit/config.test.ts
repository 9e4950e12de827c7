import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CONFIG_LIMITS,
  configHash,
  cycleCount,
  experimentRoute,
  parseExperimentConfig,
  requiredBackend,
  requireExperimentConfig,
  swaSnapshotEpochs,
  InvalidConfigError,
} from "../../schema/config.js";

const minimal = { name: "t", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp" } };
const MINIMAL_HASH_BEFORE_EXECUTION = "0988cd0a8349efb31fcbc4904a2124929b1f0ac84bf5c88c81962c9631c87a4c";

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

/** The problems of a config built from `minimal` with `override` merged into it, as "path: message". */
function problemsOf(override: Record<string, unknown>): string[] {
  const config: Record<string, unknown> = { ...minimal };
  for (const [key, value] of Object.entries(override)) {
    const base = config[key];
    config[key] = base && typeof base === "object" && value && typeof value === "object" ? { ...base, ...value } : value;
  }
  const result = parseExperimentConfig(config);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

test("every number must be finite: Infinity (JSON's and GraphQL's 1e999) and NaN are refused at their field", () => {
  const infinity = JSON.parse("1e999") as number;
  assert.equal(infinity, Infinity);
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ training: { lr: infinity } }, "training.lr"],
    [{ training: { weightDecay: infinity } }, "training.weightDecay"],
    [{ training: { momentum: -infinity } }, "training.momentum"],
    [{ training: { epochs: infinity } }, "training.epochs"],
    [{ swa: { lr: infinity } }, "swa.lr"],
    [{ pruning: { rate: Number.NaN } }, "pruning.rate"],
    [{ seed: Number.NaN }, "seed"],
    [{ data: { name: "synthetic", trainSubset: infinity } }, "data.trainSubset"],
  ];
  for (const [override, path] of cases) {
    const problems = problemsOf(override);
    assert.ok(problems.includes(`${path}: must be a finite number`), `${JSON.stringify(override)}: ${problems.join("; ")}`);
  }
});

test("every field has an upper bound, and integers must be whole", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ training: { epochs: CONFIG_LIMITS.epochs + 1 } }, "training.epochs"],
    [{ training: { rewindEpochs: CONFIG_LIMITS.epochs + 1 } }, "training.rewindEpochs"],
    [{ training: { warmupEpochs: 2 ** 53 } }, "training.warmupEpochs"],
    [{ training: { batchSize: CONFIG_LIMITS.batchSize + 1 } }, "training.batchSize"],
    [{ training: { lr: CONFIG_LIMITS.lr * 2 } }, "training.lr"],
    [{ training: { weightDecay: 2 } }, "training.weightDecay"],
    [{ training: { bnRecalibrationExamples: CONFIG_LIMITS.examples + 1 } }, "training.bnRecalibrationExamples"],
    [{ training: { stepMilestones: Array.from({ length: CONFIG_LIMITS.listItems + 1 }, (_, i) => (i + 1) / 1000) } }, "training.stepMilestones"],
    [{ swa: { lr: 1e6 } }, "swa.lr"],
    [{ swa: { everyEpochs: 1e9 } }, "swa.everyEpochs"],
    [{ data: { name: "synthetic", trainSubset: 1e12 } }, "data.trainSubset"],
    [{ data: { name: "synthetic", testSubset: 1e12 } }, "data.testSubset"],
    [{ data: { name: "synthetic", dir: "x".repeat(5000) } }, "data.dir"],
    [{ method: { name: "swamp", particles: CONFIG_LIMITS.particles + 1 } }, "method.particles"],
    [{ pruning: { cycles: CONFIG_LIMITS.cycles + 1 } }, "pruning.cycles"],
    [{ pruning: { exclude: Array.from({ length: CONFIG_LIMITS.listItems + 1 }, () => "fc1") } }, "pruning.exclude"],
    [{ tags: Array.from({ length: CONFIG_LIMITS.tags + 1 }, (_, i) => `t${i}`) }, "tags"],
    [{ seed: 2 ** 31 }, "seed"],
    [{ training: { rewindEpochs: 1.5 } }, "training.rewindEpochs"],
    [{ data: { name: "synthetic", testSubset: -3 } }, "data.testSubset"],
  ];
  for (const [override, path] of cases) {
    const problems = problemsOf(override);
    assert.ok(problems.some((p) => p.startsWith(`${path}: `)), `${JSON.stringify(override).slice(0, 80)}: ${problems.join("; ")}`);
  }
  // The limits themselves are accepted.
  assert.deepEqual(problemsOf({ training: { epochs: CONFIG_LIMITS.epochs, rewindEpochs: CONFIG_LIMITS.epochs, lr: CONFIG_LIMITS.lr, weightDecay: CONFIG_LIMITS.weightDecay } }), []);
});

test("a schedule that empties a pruned layer or the whole network before the last cycle is refused at pruning.cycles", () => {
  const lenet = { model: { name: "lenet-300-100" }, method: { name: "imp" } };
  // Global: 266200 weights, 10% kept per cycle, none left at cycle 6.
  assert.deepEqual(problemsOf({ ...lenet, pruning: { rate: 0.9, cycles: 10 } }), [
    "pruning.cycles: global pruning at rate 0.9 leaves every pruned layer with no weights at cycle 6; use at most 5 cycles or a lower pruning.rate",
  ]);
  assert.deepEqual(problemsOf({ ...lenet, pruning: { rate: 0.9, cycles: 5 } }), []);
  // Layerwise: fc3's 1000 weights go first (100, 10, 1, 0).
  assert.deepEqual(problemsOf({ ...lenet, pruning: { rate: 0.9, cycles: 5, scope: "layerwise" } }), [
    "pruning.cycles: layerwise pruning at rate 0.9 leaves layer fc3 (1000 weights) with no weights at cycle 4; use at most 3 cycles or a lower pruning.rate",
  ]);
  // Leaving fc3 dense, fc2 (30000 weights) is the first to go, at cycle 5.
  assert.match(problemsOf({ ...lenet, pruning: { rate: 0.9, cycles: 5, scope: "layerwise", exclude: ["fc3"] } }).join(), /layer fc2 \(30000 weights\) with no weights at cycle 5/);
  // The largest rate and cycles a README protocol uses stay valid; rate ≤ 0.5 never empties anything.
  assert.deepEqual(problemsOf({ ...lenet, pruning: { rate: 0.5, cycles: CONFIG_LIMITS.cycles, scope: "layerwise" } }), []);
  assert.deepEqual(problemsOf({ model: { name: "resnet-20" }, pruning: { rate: 0.2, cycles: 25 } }), []);
});

test("pruning.exclude names only the model's prunable layers", () => {
  assert.deepEqual(problemsOf({ pruning: { exclude: ["fc3", "conv1"] } }), ['pruning.exclude.1: lenet-300-100 has no prunable layer named "conv1" (it has fc1, fc2, fc3)']);
});

test("a cycle count far over its bound is reported at once, not simulated", () => {
  assert.deepEqual(problemsOf({ pruning: { rate: 0.2, cycles: 2 ** 40 } }), ["pruning.cycles: Number must be less than or equal to 200"]);
  assert.deepEqual(problemsOf({ pruning: { rate: 0.2, cycles: 1e300 } }), ["pruning.cycles: Number must be less than or equal to 200"]);
});

test("execution.backend: absent fills nothing and keeps the hash; any value keeps it too; a bad value names the field", () => {
  const plain = requireExperimentConfig(minimal);
  assert.equal("execution" in plain, false, "no default is filled in");
  // The hash of this config before the option existed (computed at the base commit).
  assert.equal(configHash(plain), MINIMAL_HASH_BEFORE_EXECUTION);
  for (const backend of ["any", "wasm", "cpu", "tensorflow", "tensorflow-gpu"]) {
    const pinned = requireExperimentConfig({ ...minimal, execution: { backend } });
    assert.deepEqual(pinned.execution, { backend });
    assert.equal(configHash(pinned), configHash(plain), `execution.backend ${backend} chooses where the run computes, not what`);
  }
  assert.equal(requiredBackend(plain), "any");
  assert.equal(requiredBackend(requireExperimentConfig({ ...minimal, execution: {} })), "any");
  assert.equal(requiredBackend(requireExperimentConfig({ ...minimal, execution: { backend: "wasm" } })), "wasm");
  const bad = parseExperimentConfig({ ...minimal, execution: { backend: "gpu" } });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems, [{ path: "execution.backend", message: 'must be one of "any", "tensorflow-gpu", "tensorflow", "wasm", "cpu"' }]);
  const extra = parseExperimentConfig({ ...minimal, execution: { backend: "cpu", gpus: 2 } });
  assert.ok(!extra.ok);
  assert.equal(extra.problems[0]!.path, "execution");
  assert.match(extra.problems[0]!.message, /gpus/);
});

test("an experiment's route: the backend it is pinned to, else the one it requires, else any", () => {
  const plain = requireExperimentConfig(minimal);
  const wasm = requireExperimentConfig({ ...minimal, execution: { backend: "wasm" } });
  assert.equal(experimentRoute(plain, null), "any");
  assert.equal(experimentRoute(plain, "cpu"), "cpu");
  assert.equal(experimentRoute(wasm, null), "wasm");
  assert.equal(experimentRoute(wasm, "wasm"), "wasm");
  assert.equal(experimentRoute(plain, "abacus"), "any", "an unknown stored name routes nowhere special");
});
