import assert from "node:assert/strict";
import { test } from "node:test";
import { configHash, parseExperimentConfig, requireExperimentConfig } from "../../schema/config.js";
import { ModelSession } from "../../worker/engine/model-session.js";
import { Random } from "../../worker/engine/rng.js";
import { fanIn } from "../../worker/models/initialisers.js";
import { useDefaultBackend } from "../helpers/engine-fixture.js";

const config = (init?: string) => requireExperimentConfig({ name: "init", data: { name: "fashion-mnist" }, model: { name: "lenet-5", ...(init ? { init } : {}) }, method: { name: "swamp" } });

test("model.init: absent is filled with nothing (config hashes unchanged), a bad value names the field", () => {
  assert.equal("init" in config().model, false);
  assert.notEqual(configHash(config("torch-default")), configHash(config()));
  assert.notEqual(configHash(config("kaiming-normal")), configHash(config()), "spelling out the default is another config text, but absent stays the old hash");
  const bad = parseExperimentConfig({ name: "init", data: { name: "fashion-mnist" }, model: { name: "lenet-5", init: "xavier" }, method: { name: "swamp" } });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems, [{ path: "model.init", message: 'must be one of "kaiming-normal", "torch-default"' }]);
});

test("kaiming-normal (the default) is N(0, 2/fan_in) kernels from the init stream in layout order, zero biases", async () => {
  await useDefaultBackend();
  const session = ModelSession.build(config(), [28, 28, 1], 10);
  try {
    const random = Random.derive(11, ["init"]);
    const expected = session.layout.entries.map((entry) => {
      const values = new Float32Array(entry.size);
      if (entry.role === "kernel") for (let j = 0; j < values.length; j++) values[j] = random.nextNormal() * Math.sqrt(2 / fanIn(entry));
      return values;
    });
    assert.deepEqual(session.initialWeights(11), expected);
    assert.deepEqual(session.initialWeights(11, "kaiming-normal"), expected);
  } finally {
    session.dispose();
  }
});

test("torch-default: kernels and biases uniform in ±1/√fan_in of the layer's kernel, seeded", async () => {
  await useDefaultBackend();
  const session = ModelSession.build(config("torch-default"), [28, 28, 1], 10);
  try {
    const weights = session.initialWeights(11, "torch-default");
    assert.deepEqual(session.initialWeights(11, "torch-default"), weights, "same seed, same weights");
    assert.notDeepEqual(session.initialWeights(12, "torch-default"), weights);
    session.layout.entries.forEach((entry, i) => {
      if (entry.role !== "kernel" && entry.role !== "bias") return;
      const kernel = session.layout.entries.find((e) => e.layer === entry.layer && e.role === "kernel")!;
      const bound = 1 / Math.sqrt(fanIn(kernel));
      const values = weights[i]!;
      assert.ok(values.every((v) => Math.abs(v) <= bound), `${entry.name} within ±${bound}`);
      assert.ok(values.some((v) => v !== 0), `${entry.name} is not zero`);
      if (values.length >= 1000) {
        // U(−b, b) has variance b²/3.
        const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
        assert.ok(Math.abs(variance / (bound ** 2 / 3) - 1) < 0.1, `${entry.name} variance ${variance}, expected ${bound ** 2 / 3}`);
      }
    });
  } finally {
    session.dispose();
  }
});
