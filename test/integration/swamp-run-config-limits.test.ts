import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeIdxDataset } from "../fixtures/data-fixtures.js";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";
import { RunLayout } from "../../worker/run/run-layout.js";

const tiny = {
  name: "limits",
  seed: 1,
  data: { name: "synthetic", trainSubset: 128, testSubset: 64 },
  model: { name: "lenet-300-100" },
  method: { name: "imp" },
  pruning: { rate: 0.2, cycles: 0 },
  training: { epochs: 1, rewindEpochs: 0, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 64 },
};

test("swamp run reads data.dir from any local path: SWAMP_DATA_ROOTS binds only the server", async () => {
  const dataDir = tempDir("outside-roots");
  await writeIdxDataset(dataDir, { trainCount: 128, testCount: 64, gzip: false });
  const roots = tempDir("roots");
  const config = { ...tiny, data: { name: "mnist", dir: dataDir, trainSubset: 128, testSubset: 64 } };
  const result = await runSwamp(["run", "--config", writeConfig(config), "--out", join(tempDir("run"), "out"), "--json"], { SWAMP_DATA_ROOTS: roots });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(jsonLines(result.stdout).length, 1);
});

test("swamp run refuses a config file whose number is 1e999 (JSON's Infinity), naming the field", async () => {
  const file = join(tempDir("infinite"), "config.json");
  writeFileSync(file, JSON.stringify(tiny).replace('"lr":0.05', '"lr":1e999'));
  const result = await runSwamp(["run", "--config", file, "--out", join(tempDir("run"), "out")]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /training\.lr: must be a finite number/);
});

test("swamp run refuses a schedule that empties the network before the last cycle", async () => {
  const result = await runSwamp(["run", "--config", writeConfig({ ...tiny, pruning: { rate: 0.9, cycles: 10 } }), "--out", join(tempDir("run"), "out")]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /pruning\.cycles: global pruning at rate 0\.9 leaves every pruned layer with no weights at cycle 6/);
});

test("swamp run stops with the cycle and layer when global pruning empties one layer before the network", async () => {
  // Global pruning at 0.9 keeps 26620, 2662, 266… of lenet's weights; fc1's small initial weights all go by cycle 3.
  const config = { ...tiny, name: "emptied-layer", pruning: { rate: 0.9, cycles: 5 } };
  const result = await runSwamp(["run", "--config", writeConfig(config), "--out", join(tempDir("run"), "out"), "--json", "--workers", "1"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /pruning after cycle 2 leaves layer fc1 with none of its 235200 weights, so cycle 3 cannot train/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  assert.deepEqual(jsonLines(result.stdout).map((line) => line.cycle), [0, 1]);
});

test("swamp run computes on the backend execution.backend requires, whatever SWAMP_BACKEND says", async () => {
  const out = join(tempDir("run"), "out");
  const result = await runSwamp(["run", "--config", writeConfig({ ...tiny, execution: { backend: "cpu" } }), "--out", out, "--json"], { SWAMP_BACKEND: "wasm" });
  assert.equal(result.code, 0, result.stderr);
  const info = JSON.parse(readFileSync(new RunLayout(out).runInfo, "utf8")) as { backend: { name: string } };
  assert.equal(info.backend.name, "cpu");
});
