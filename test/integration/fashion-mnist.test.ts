import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";

test("Fashion-MNIST, 5,000 training images, one cycle: at least 80% test accuracy", async () => {
  assert.ok(existsSync("/usr/share/datasets/fashion-mnist"), "the dataset-fashion-mnist package is installed (.ci/run installs it)");
  const config = writeConfig({
    name: "fmnist-5k",
    seed: 0,
    data: { name: "fashion-mnist", trainSubset: 5000 },
    model: { name: "lenet-300-100" },
    method: { name: "imp" },
    pruning: { cycles: 0 },
    training: { epochs: 4, rewindEpochs: 1 },
  });
  const result = await runSwamp(["run", "--config", config, "--out", join(tempDir("fmnist"), "run"), "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const [cycle] = jsonLines(result.stdout);
  assert.ok((cycle!.accuracy as number) >= 0.8, `accuracy ${cycle!.accuracy} on the 10,000 test images`);
});
