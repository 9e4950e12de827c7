/**
 * A pruned multilayer perceptron's whole training step as one native call (sparse-mlp-training.ts
 * over native/src/sparse_mlp_train.c): LeNet-300-100 trained by train() through it against the
 * dense TF.js step (sparse kernels off) over several steps, from every weight kept to empty
 * layers, every layer on the sparse loops and as the step chooses (denser layers on BLAS GEMMs),
 * with a last batch that fills no register: every step's loss, the final weights and momentum;
 * pruned weights and momentum exactly zero, also from weights not zero under the mask; each
 * instruction set's loops; the same seed repeating bit for bit; the examples read in place or from a copy alike; a tensor sharing a
 * variable's storage left alone; the cases it leaves to TF.js and the plans the addon refuses.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { loadNative, type NativeAddon } from "../../worker/engine/native-kernels/addon.js";
import { planSparseMlpTraining, sparseMlpTrainerFor } from "../../worker/engine/native-kernels/sparse-mlp-training.js";
import { withSparseThreshold } from "../../worker/engine/native-kernels/sparse-routing.js";
import { applyMask, type Mask } from "../../worker/engine/mask.js";
import { Random } from "../../worker/engine/rng.js";
import { train, type TrainingRun, type TrainingStepPath } from "../../worker/engine/train.js";
import type { WeightLayout, WeightValues } from "../../worker/engine/weights.js";
import type { EngineContext } from "../../worker/engine/context.js";
import { engineContext, smallConfig, useDefaultBackend } from "../helpers/engine-fixture.js";

let native: NativeAddon;
let context: EngineContext;

before(async () => {
  await useDefaultBackend();
  const loaded = loadNative();
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.reason);
  native = loaded.native.addon;
  context = await engineContext(smallConfig());
});

function randomMask(layout: WeightLayout, keep: number[], random: Random): Mask {
  return layout.prunable.map((position, i) => Uint8Array.from({ length: layout.entries[position]!.size }, () => (random.next() < keep[i]! ? 1 : 0)));
}

/** Seeded initial weights under the mask, with random biases (zero at initialisation) so their handling shows. */
function startingWeights(seed: number, mask: Mask): WeightValues {
  const { session } = context;
  const random = Random.derive(seed, ["biases"]);
  const weights = session.initialWeights(seed);
  session.layout.entries.forEach((entry, position) => {
    if (entry.role === "bias") weights[position] = Float32Array.from(weights[position]!, () => (random.next() - 0.5) * 0.2);
  });
  applyMask(weights, mask, session.layout);
  return weights;
}

interface Trained {
  weights: WeightValues;
  velocities: Float32Array[];
  losses: number[];
  epochLosses: number[];
  paths: Set<TrainingStepPath>;
}

/**
 * Two epochs of 384 examples in batches of 100 (the last one 84) with momentum, weight decay and a
 * falling learning rate; `sparseBelow` 0 is the dense TF.js step, 2 forces the fused step with
 * every layer on its sparse loops, undefined is the fused step as it chooses (denser layers on GEMMs).
 */
function trainFrom(weights: WeightValues, mask: Mask | undefined, sparseBelow: number | undefined, extra: Partial<TrainingRun> = {}): Trained {
  const { session, dataset } = context;
  session.writeWeights(weights);
  const losses: number[] = [];
  const epochLosses: number[] = [];
  const paths = new Set<TrainingStepPath>();
  let velocities: Float32Array[] = [];
  const run = () =>
    train({
      session,
      data: dataset.train,
      inputShape: dataset.inputShape,
      epochs: 2,
      batchSize: 100,
      momentum: 0.9,
      weightDecay: 1e-3,
      learningRate: (progress) => 0.05 * (1 - progress / 4),
      order: Random.derive(5, ["order"]),
      mask,
      onStep: (step) => {
        losses.push(step.loss);
        paths.add(step.path);
        velocities = step.optimizer.velocityValues().map((v) => Float32Array.from(v));
      },
      onEpochEnd: (_epoch, loss) => epochLosses.push(loss),
      ...extra,
    });
  if (sparseBelow === undefined) run();
  else withSparseThreshold(sparseBelow, run);
  return { weights: session.readWeights(), velocities, losses, epochLosses, paths };
}

/** max |a − b| over max(|b|, 1e-3) across all arrays, with no value NaN. */
function relativeError(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number {
  let diff = 0;
  let scale = 1e-3;
  expected.forEach((values, i) => {
    for (let j = 0; j < values.length; j++) {
      assert.ok(Number.isFinite(actual[i]![j]!), `value ${i}/${j} is ${actual[i]![j]}`);
      diff = Math.max(diff, Math.abs(actual[i]![j]! - values[j]!));
      scale = Math.max(scale, Math.abs(values[j]!));
    }
  });
  return diff / scale;
}

function assertTrainedAlike(fused: Trained, reference: Trained, label: string): void {
  assert.deepEqual([...reference.paths], ["tfjs"], `${label}: the reference ran TF.js's step`);
  assert.deepEqual([...fused.paths], ["sparse-mlp"], `${label}: the fused step ran`);
  assert.equal(fused.losses.length, 8);
  fused.losses.forEach((loss, i) => assert.ok(Math.abs(loss - reference.losses[i]!) <= 2e-6 * Math.max(1, Math.abs(reference.losses[i]!)), `${label}: step ${i + 1}'s loss ${loss} against ${reference.losses[i]}`));
  fused.epochLosses.forEach((loss, i) => assert.ok(Math.abs(loss - reference.epochLosses[i]!) <= 2e-6 * Math.max(1, Math.abs(reference.epochLosses[i]!)), `${label}: epoch ${i + 1}'s loss`));
  const weightError = relativeError(fused.weights, reference.weights);
  assert.ok(weightError < 1e-5, `${label}: weights' relative error ${weightError}`);
  const velocityError = relativeError(fused.velocities, reference.velocities);
  assert.ok(velocityError < 1e-5, `${label}: momentum's relative error ${velocityError}`);
}

function assertPrunedStayZero(trained: Trained, mask: Mask, label: string): void {
  const { session } = context;
  session.layout.prunable.forEach((position, i) => {
    const velocity = trained.velocities[session.trainablePositions.indexOf(position)]!;
    mask[i]!.forEach((bit, j) => {
      if (bit === 0) {
        assert.ok(trained.weights[position]![j] === 0, `${label}: pruned weight ${j} of ${position} is ${trained.weights[position]![j]}`);
        assert.ok(velocity[j] === 0, `${label}: pruned momentum ${j} of ${position} is ${velocity[j]}`);
      }
    });
  });
}

test("LeNet-300-100 trains by the fused step as by TF.js's dense step, from every weight kept to empty layers", () => {
  const random = Random.derive(21, ["fused-masks"]);
  const cases: Array<{ label: string; keep: number[] }> = [
    { label: "nothing pruned", keep: [1, 1, 1] },
    { label: "half", keep: [0.5, 0.5, 0.5] },
    // The first layer on GEMMs, the second on the sparse loops, the last unpruned.
    { label: "mixed", keep: [0.5, 0.1, 1] },
    { label: "95% sparse", keep: [0.05, 0.05, 0.05] },
    { label: "99% sparse", keep: [0.01, 0.01, 0.01] },
    // Most outputs of every layer keep no weight at all.
    { label: "99.9% sparse", keep: [0.001, 0.003, 0.05] },
    { label: "first layer empty", keep: [0, 0.2, 0.5] },
    { label: "every layer empty", keep: [0, 0, 0] },
  ];
  for (const { label, keep } of cases) {
    const mask = randomMask(context.session.layout, keep, random);
    const weights = startingWeights(31, mask);
    const reference = trainFrom(weights, mask, 0);
    for (const [fused, how] of [[trainFrom(weights, mask, 2), "sparse loops"], [trainFrom(weights, mask, undefined), "as chosen"]] as const) {
      assertTrainedAlike(fused, reference, `${label}, ${how}`);
      assertPrunedStayZero(fused, mask, `${label}, ${how}`);
      if (keep.some((k) => k > 0)) assert.ok(fused.velocities.some((v) => v.some((x) => x !== 0)), `${label}: kept weights get momentum`);
    }
  }
});

test("weights under the mask that are not zero at the start become zero, as with MaskedSgd", () => {
  const { session } = context;
  const mask = randomMask(session.layout, [0.05, 0.1, 0.5], Random.derive(27, ["fused-masks"]));
  const unmasked = session.initialWeights(37);
  const fused = trainFrom(unmasked, mask, 2);
  assertTrainedAlike(fused, trainFrom(unmasked, mask, 0), "unmasked start");
  assertPrunedStayZero(fused, mask, "unmasked start");
});

test("every instruction set's loops train to the same values", () => {
  const mask = randomMask(context.session.layout, [0.05, 0.1, 0.5], Random.derive(22, ["fused-masks"]));
  const weights = startingWeights(32, mask);
  const reference = trainFrom(weights, mask, 0);
  for (const setting of ["SWAMP_NATIVE_AVX512", "SWAMP_NATIVE_AVX2"]) {
    process.env[setting] = "0";
    try {
      assertTrainedAlike(trainFrom(weights, mask, 2), reference, `${setting}=0`);
      // The last layer on GEMMs, with its bias and update loops.
      assertTrainedAlike(trainFrom(weights, mask, undefined), reference, `${setting}=0, as chosen`);
    } finally {
      delete process.env[setting];
    }
  }
});

test("the same seed trains to the same bits, reading the examples in place or from a copy", () => {
  const mask = randomMask(context.session.layout, [0.5, 0.1, 0.5], Random.derive(23, ["fused-masks"]));
  const weights = startingWeights(33, mask);
  const first = trainFrom(weights, mask, undefined);
  const second = trainFrom(weights, mask, undefined);
  // An augmentation that changes nothing makes the loop copy each batch before the step.
  const copied = trainFrom(weights, mask, undefined, { augment: () => {} });
  for (const other of [second, copied]) {
    assert.deepEqual(other.losses, first.losses);
    assert.deepEqual(other.weights, first.weights);
    assert.deepEqual(other.velocities, first.velocities);
  }
});

test("a tensor sharing a variable's storage keeps its values while the fused step trains", () => {
  const { session } = context;
  const mask = randomMask(session.layout, [0.05, 0.05, 0.05], Random.derive(24, ["fused-masks"]));
  const kernelPosition = session.layout.prunable[0]!;
  let shared: tf.Tensor | undefined;
  let sharedValues: Float32Array | undefined;
  const trained = trainFrom(startingWeights(34, mask), mask, 2, {
    onStep: (step) => {
      if (step.step !== 2) return;
      // tf.clone shares the data: the next steps must write elsewhere.
      shared = tf.clone(session.variableAt(kernelPosition));
      sharedValues = Float32Array.from(shared.dataSync() as Float32Array);
    },
  });
  assert.ok(shared && sharedValues);
  assert.deepEqual(shared.dataSync(), sharedValues);
  assert.notDeepEqual(trained.weights[kernelPosition], sharedValues, "training went on after the clone");
  shared.dispose();
});

test("TF.js's step runs where the fused one does not apply, and says why", async () => {
  const { session } = context;
  const mask = randomMask(session.layout, [0.01, 0.01, 0.01], Random.derive(25, ["fused-masks"]));
  const weights = startingWeights(35, mask);
  const settings = { momentum: 0.9, weightDecay: 0 };
  assert.deepEqual([...trainFrom(weights, undefined, 2).paths], ["tfjs"], "no mask");
  const previous = process.env.SWAMP_SPARSE_BELOW;
  process.env.SWAMP_SPARSE_BELOW = "0";
  try {
    assert.match(String(sparseMlpTrainerFor(session, mask, settings)), /kept, too many/);
  } finally {
    if (previous === undefined) delete process.env.SWAMP_SPARSE_BELOW;
    else process.env.SWAMP_SPARSE_BELOW = previous;
  }
  process.env.SWAMP_NATIVE = "0";
  try {
    assert.match(String(sparseMlpTrainerFor(session, mask, settings)), /native kernels not loaded: disabled by SWAMP_NATIVE=0/);
  } finally {
    delete process.env.SWAMP_NATIVE;
  }
  // By default (the measured crossover) masked training is fused, pruned or not; a threshold can say otherwise.
  assert.equal(typeof sparseMlpTrainerFor(session, mask, settings), "object");
  const unpruned = session.layout.prunable.map((position) => new Uint8Array(session.layout.entries[position]!.size).fill(1));
  assert.equal(typeof sparseMlpTrainerFor(session, unpruned, settings), "object");
  assert.match(String(withSparseThreshold(0.5, () => sparseMlpTrainerFor(session, unpruned, settings))), /100\.0% of the weights are kept/);

  const conv = await engineContext(smallConfig({ model: { name: "conv-2" } }));
  const convMask = conv.session.layout.prunable.map((position) => new Uint8Array(conv.session.layout.entries[position]!.size));
  assert.match(String(planSparseMlpTraining(conv.session, convMask)), /Conv2D|not Dense/);
  conv.session.dispose();

  await tf.setBackend("cpu");
  try {
    assert.match(String(sparseMlpTrainerFor(session, mask, settings)), /backend is cpu/);
  } finally {
    await tf.setBackend("wasm");
  }
});

test("the addon refuses a plan, offsets, rows or labels that do not fit", () => {
  const { session } = context;
  const mask = randomMask(session.layout, [0.01, 0.1, 0.5], Random.derive(26, ["fused-masks"]));
  const plan = planSparseMlpTraining(session, mask);
  assert.ok(typeof plan !== "string", String(plan));
  const heap = new Float32Array(plan.layers.reduce((n, l) => n + l.inputs * l.outputs + l.outputs, 0));
  const offsets = new Int32Array(2 * plan.layers.length);
  let at = 0;
  plan.layers.forEach((layer, l) => {
    offsets[2 * l] = at;
    offsets[2 * l + 1] = at + layer.inputs * layer.outputs;
    at += layer.inputs * layer.outputs + layer.outputs;
  });
  const velocities = new Float32Array(plan.layers.reduce((n, l) => n + l.keptAt.length + l.outputs, 0));
  const x = new Float32Array(4 * 784);
  const labels = Int32Array.from([0, 1, 2, 3]);
  const step = (changes: { indices?: Int32Array; offsets?: Int32Array; velocities?: Float32Array; rows?: Int32Array | null; labels?: Int32Array; count?: number }) =>
    native.sparseMlpTrainStep(plan.structure, changes.indices ?? plan.indices, heap, changes.offsets ?? offsets, changes.velocities ?? velocities, x, 0, changes.rows ?? null, changes.labels ?? labels, changes.count ?? 4, 0.1, 0.9, 0);
  assert.ok(Number.isFinite(step({})), "the good call runs");
  assert.ok(Number.isFinite(step({ rows: Int32Array.from([3, 0, 3, 1]) })), "rows in any order and repeated");
  const badColumn = Int32Array.from(plan.indices);
  badColumn[301] = 100_000;
  assert.throws(() => step({ indices: badColumn }), /plan: indices hold a row whose columns/);
  assert.throws(() => step({ offsets: Int32Array.from(offsets, (o, i) => (i === 0 ? heap.length - 10 : o)) }), /plan: offsets place a kernel outside the heap/);
  assert.throws(() => step({ velocities: velocities.subarray(1) }), /plan: velocities are shorter/);
  assert.throws(() => step({ rows: Int32Array.from([0, 1, 2, 4]) }), /x is too short/);
  assert.throws(() => step({ rows: Int32Array.from([0, -1, 2, 3]) }), /rows hold a negative row/);
  assert.throws(() => step({ labels: Int32Array.from([0, 1, 10, 3]) }), /labels hold a label outside/);
  assert.throws(() => step({ count: 5 }), /count is out of range/);
  assert.deepEqual(plan.layers.map((l) => l.dense), [false, false, true], "the half-kept last layer runs on GEMMs");
  const denseFirst = Int32Array.from(plan.structure);
  denseFirst[3 + 4] = 1;
  assert.ok(denseFirst[1]! < 784, "the sparse first layer gathers fewer columns than the input has");
  assert.throws(() => native.sparseMlpTrainStep(denseFirst, plan.indices, heap, offsets, velocities, x, 0, null, labels, 4, 0.1, 0.9, 0), /dense first layer that does not gather every input column/);
});
