/**
 * The inference profiler (worker/profile/inference-profile.ts) on a pruned LeNet-300-100: its
 * counts and sizes against the mask and the sparse file, the sparse kernels used for every pruned
 * layer and for none of an unpruned model, and the model left as it was (masks detached).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { inferenceProfileSchema } from "../../schema/inference-profile.js";
import { backendInfo } from "../../worker/engine/backend.js";
import { evaluate } from "../../worker/engine/evaluate.js";
import { aliveCount, applyMask, denseMask, totalCount, type Mask } from "../../worker/engine/mask.js";
import { pruneByMagnitude } from "../../worker/engine/prune.js";
import type { EngineContext } from "../../worker/engine/context.js";
import { encodeSparse } from "../../worker/formats/sparse-file.js";
import { hasSparseKernels, profileInference, type ProfileEffort } from "../../worker/profile/inference-profile.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

const QUICK: ProfileEffort = { warmupRuns: 1, latencyRuns: 5, latencyMillis: 0, maxLatencyRuns: 5, throughputBatches: 2, throughputMillis: 0, maxThroughputBatches: 2 };
/** lenet-300-100's biases: never pruned. */
const BIASES = 300 + 100 + 10;

let context: EngineContext;

before(async () => {
  await useDefaultBackend();
  context = await engineContext(smallConfig());
});

function profile(mask: Mask) {
  const { session, dataset } = context;
  const weights = session.initialWeights(5);
  applyMask(weights, mask, session.layout);
  return {
    weights,
    profile: profileInference({ session, weights, mask, backend: backendInfo()!, examples: dataset.test.images, inputShape: dataset.inputShape, configHash: "test", cycle: 3, effort: QUICK }),
  };
}

test("a pruned model's profile counts its kept weights, sparse file and work, and runs its pruned layers sparse", () => {
  const { session } = context;
  let mask = denseMask(session.layout);
  for (let cycle = 0; cycle < 10; cycle++) mask = pruneByMagnitude(session.initialWeights(5), mask, session.layout, { rate: 0.2, scope: "global", exclude: [] });
  const alive = aliveCount(mask);
  const { weights, profile: result } = profile(mask);
  inferenceProfileSchema.parse(result);
  assert.equal(result.parameters, alive + BIASES);
  assert.equal(result.denseBytes, 4 * (totalCount(mask) + BIASES));
  assert.equal(result.sparseBytes, encodeSparse(weights, mask, session.layout, { configHash: "test", cycle: 3 }).length);
  assert.ok(result.sparseBytes < result.denseBytes / 4, `${result.sparseBytes} bytes at ${alive} kept weights`);
  assert.equal(result.denseFlops, 2 * totalCount(mask));
  assert.equal(result.sparseFlops, 2 * alive);
  assert.equal(result.latencyRuns, 5);
  assert.equal(result.throughputBatch, 256);
  for (const figure of [result.latencyMs, result.latencyP95Ms, result.throughput]) assert.ok(figure.dense > 0 && figure.sparse > 0);
  assert.ok(result.latencyP95Ms.dense >= result.latencyMs.dense && result.latencyMaxMs.dense >= result.latencyP95Ms.dense);
  assert.equal(result.backend, backendInfo()!.name);
  if (hasSparseKernels(backendInfo()!)) {
    assert.deepEqual(result.sparseLayers, ["fc1", "fc2", "fc3"]);
    assert.ok(result.kernels.includes("native-sparse"));
    // A chain of Dense layers runs its sparse pass as one native call (sparse-mlp.ts).
    assert.ok(result.kernels.includes("native-sparse-mlp"));
  }
});

test("an unpruned model runs no sparse kernel: its sparse figures are its dense ones", () => {
  const { profile: result } = profile(denseMask(context.session.layout));
  assert.deepEqual(result.sparseLayers, []);
  assert.ok(!result.kernels.includes("native-sparse"));
  assert.ok(!result.kernels.includes("native-sparse-mlp"));
  assert.deepEqual(result.latencyMs.sparse, result.latencyMs.dense);
  assert.deepEqual(result.throughput.sparse, result.throughput.dense);
  assert.equal(result.sparseFlops, result.denseFlops);
});

test("profiling leaves the model's later evaluations as they were", () => {
  const { session, dataset } = context;
  let mask = denseMask(session.layout);
  for (let cycle = 0; cycle < 3; cycle++) mask = pruneByMagnitude(session.initialWeights(5), mask, session.layout, { rate: 0.3, scope: "global", exclude: [] });
  const { weights } = profile(mask);
  session.writeWeights(weights);
  const before = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses);
  profile(mask);
  session.writeWeights(weights);
  const after = evaluate(session, dataset.test, dataset.inputShape, dataset.numClasses);
  assert.deepEqual(after, before);
});

test("a pruned Conv-n's sparse pass runs as one native call", async () => {
  const conv = await engineContext(smallConfig({ model: { name: "conv-2", batchNorm: true } }));
  const { session, dataset } = conv;
  let mask = denseMask(session.layout);
  for (let cycle = 0; cycle < 5; cycle++) mask = pruneByMagnitude(session.initialWeights(5), mask, session.layout, { rate: 0.5, scope: "layerwise", exclude: [] });
  const weights = session.initialWeights(5);
  applyMask(weights, mask, session.layout);
  const result = profileInference({ session, weights, mask, backend: backendInfo()!, examples: dataset.test.images, inputShape: dataset.inputShape, configHash: "test", cycle: 5, effort: QUICK });
  inferenceProfileSchema.parse(result);
  if (hasSparseKernels(backendInfo()!)) assert.ok(result.kernels.includes("native-sparse-convnet"), result.kernels.join(", "));
  assert.ok(!result.kernels.includes("native-sparse-mlp"));
  assert.ok(result.throughput.sparse > 0 && result.latencyMs.sparse > 0);
  session.dispose();
});
