/**
 * After a small Fashion-MNIST run: `swamp profile` gives the run's own profile (sizes, work and
 * sparse layers; times are measurements), `swamp export` writes the three deployment formats,
 * the standalone loader (examples/sparse-loader/, run as its own process) reproduces the cycle's
 * test accuracy from the compact sparse file, and the TF.js export does too.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import { promisify } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { INFERENCE_TIMING_FIELDS } from "../../schema/inference-profile.js";
import { getDataset } from "../../worker/data/registry.js";
import { decodeSparse } from "../../worker/formats/sparse-file.js";
import { RunLayout } from "../../worker/run/run-layout.js";
import { readRunModel } from "../../worker/run/run-models.js";
import { jsonLines, runSwamp, tempDir, writeConfig } from "../helpers/cli.js";

const LOADER = resolve(__dirname, "../../../examples/sparse-loader/load-sparse.mjs");
const TEST_IMAGES = 500;
/** Two images of 500 may flip between summation orders on near-ties. */
const ACCURACY_SLACK = 2 / TEST_IMAGES;

const config = {
  name: "export-test",
  seed: 2,
  data: { name: "fashion-mnist", trainSubset: 2000, testSubset: TEST_IMAGES },
  model: { name: "lenet-300-100" },
  method: { name: "imp", particles: 1 },
  pruning: { rate: 0.6, cycles: 2 },
  training: { epochs: 1, rewindEpochs: 1, batchSize: 64, lr: 0.05 },
};

let runDir: string;
let cycles: Array<Record<string, unknown>>;

before(async () => {
  runDir = join(tempDir("export"), "run");
  const result = await runSwamp(["run", "--config", writeConfig(config), "--out", runDir, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  cycles = jsonLines(result.stdout);
  assert.equal(cycles.length, 3);
});

function withoutTimings(profile: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...profile };
  for (const field of INFERENCE_TIMING_FIELDS) delete rest[field];
  return rest;
}

test("swamp profile measures a stored cycle as the run did", async () => {
  const result = await runSwamp(["profile", runDir, "--cycle", "2", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const [line, ...more] = jsonLines(result.stdout);
  assert.equal(more.length, 0);
  assert.equal(line!.cycle, 2);
  assert.equal(line!.accuracy, cycles[2]!.accuracy);
  assert.deepEqual(withoutTimings(line!.inference as Record<string, unknown>), withoutTimings(cycles[2]!.inference as Record<string, unknown>));
  const all = await runSwamp(["profile", runDir, "--json"]);
  assert.deepEqual(jsonLines(all.stdout).map((l) => l.cycle), [0, 1, 2]);
  const missing = await runSwamp(["profile", runDir, "--cycle", "5"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cycle 5 .* has not finished/);
});

test("the standalone loader reproduces the cycle's accuracy from the exported sparse file", async () => {
  const out = join(tempDir("swsp"), "deploy");
  const exported = await runSwamp(["export", runDir, "--cycle", "2", "--format", "swsp", "--out", out]);
  assert.equal(exported.code, 0, exported.stderr);
  // The file the profile measured, holding the stored averaged model bit for bit.
  const deployed = readFileSync(join(out, "model.swsp"));
  assert.equal(deployed.length, (cycles[2]!.inference as { sparseBytes: number }).sparseBytes);
  const stored = await readRunModel(new RunLayout(runDir), 2, "average");
  const decoded = decodeSparse(deployed).values;
  assert.equal(decoded.length, stored.values.length);
  for (const [i, values] of decoded.entries()) assert.ok(Buffer.from(values.buffer, values.byteOffset, values.byteLength).equals(Buffer.from(stored.values[i]!.buffer, stored.values[i]!.byteOffset, stored.values[i]!.byteLength)), `tensor ${i}`);
  const { stdout } = await promisify(execFile)(process.execPath, [LOADER, out]);
  const measured = JSON.parse(stdout) as { examples: number; accuracy: number; expectedAccuracy: number };
  assert.equal(measured.examples, TEST_IMAGES);
  assert.equal(measured.expectedAccuracy, cycles[2]!.accuracy);
  assert.ok(Math.abs(measured.accuracy - (cycles[2]!.accuracy as number)) <= ACCURACY_SLACK, `loader ${measured.accuracy}, run ${cycles[2]!.accuracy}`);
});

test("the TF.js export loads with tf.loadLayersModel and reproduces the cycle's accuracy", async () => {
  const out = join(tempDir("tfjs"), "model");
  const exported = await runSwamp(["export", runDir, "--cycle", "1", "--format", "tfjs", "--out", out]);
  assert.equal(exported.code, 0, exported.stderr);
  await tf.setBackend("cpu");
  const modelJson = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
  const weights = readFileSync(join(out, "weights.bin"));
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }));
  const data = await getDataset("fashion-mnist").load({ trainSubset: config.data.trainSubset, testSubset: TEST_IMAGES });
  const predicted = Array.from(tf.tidy(() => tf.argMax(model.predict(tf.tensor(data.test.images, [TEST_IMAGES, 28, 28, 1])) as tf.Tensor, 1).dataSync()));
  const correct = predicted.filter((label, i) => label === data.test.labels[i]).length;
  assert.ok(Math.abs(correct / TEST_IMAGES - (cycles[1]!.accuracy as number)) <= ACCURACY_SLACK, `tfjs ${correct / TEST_IMAGES}, run ${cycles[1]!.accuracy}`);
  const kernel = Array.from(model.getLayer("fc1").getWeights()[0]!.dataSync());
  const zeros = kernel.filter((v) => v === 0).length;
  assert.ok(Math.abs(zeros / kernel.length - 0.6) < 0.05, `fc1 is about 60% pruned (${zeros / kernel.length})`);
});

test("the npz export holds every tensor and each pruned tensor's mask; bad flags are refused", async () => {
  const out = join(tempDir("npz"), "model.npz");
  const exported = await runSwamp(["export", runDir, "--cycle", "2", "--format", "npz", "--out", out]);
  assert.equal(exported.code, 0, exported.stderr);
  const zip = readFileSync(out).toString("latin1");
  for (const name of ["fc1/kernel.npy", "fc1/kernel.mask.npy", "fc1/bias.npy", "fc3/kernel.mask.npy"]) assert.ok(zip.includes(name), name);
  assert.ok(!zip.includes("fc1/bias.mask.npy"), "biases are never pruned, so carry no mask");
  const badFormat = await runSwamp(["export", runDir, "--cycle", "2", "--format", "onnx"]);
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /--format must be one of swsp, tfjs, npz, got "onnx"/);
  const noCycle = await runSwamp(["export", runDir, "--format", "npz"]);
  assert.equal(noCycle.code, 2);
  assert.match(noCycle.stderr, /--cycle must be a whole number/);
  const notARun = await runSwamp(["export", tempDir("empty"), "--cycle", "0", "--format", "swsp"]);
  assert.equal(notARun.code, 2);
  assert.match(notARun.stderr, /not a swamp run directory/);
});
