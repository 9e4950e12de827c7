import assert from "node:assert/strict";
import { test } from "node:test";
import "@tensorflow/tfjs-backend-cpu";
import { DATASET_NAMES, MODEL_NAMES } from "../../schema/config.js";
import { cycleEmptied, DATASET_INPUTS, keptAfterPruning, prunableLayers } from "../../schema/prunable-layers.js";
import { CIFAR10_CHANNELS, CIFAR10_CLASSES, CIFAR10_SIDE } from "../../worker/data/cifar10.js";
import { SYNTHETIC_DEFAULTS } from "../../worker/data/synthetic.js";
import { prunableWeightIndices } from "../../worker/models/inspect.js";
import { MODELS } from "../../worker/models/registry.js";

test("the table of data set inputs matches what the data sets load", () => {
  assert.deepEqual(DATASET_INPUTS.cifar10, { inputShape: [CIFAR10_SIDE, CIFAR10_SIDE, CIFAR10_CHANNELS], numClasses: CIFAR10_CLASSES });
  assert.deepEqual(DATASET_INPUTS.synthetic, { inputShape: [SYNTHETIC_DEFAULTS.height, SYNTHETIC_DEFAULTS.width, SYNTHETIC_DEFAULTS.channels], numClasses: SYNTHETIC_DEFAULTS.numClasses });
  assert.deepEqual(DATASET_INPUTS.mnist, { inputShape: [28, 28, 1], numClasses: 10 });
  assert.deepEqual(DATASET_INPUTS["fashion-mnist"], DATASET_INPUTS.mnist);
});

test("prunable layer counts computed without TF.js equal those of every built model on every data set's input", () => {
  for (const modelName of MODEL_NAMES) {
    const definition = MODELS[modelName];
    for (const datasetName of DATASET_NAMES) {
      const input = DATASET_INPUTS[datasetName];
      for (const batchNorm of [false, true]) {
        const model = definition.build({ inputShape: [...input.inputShape], numClasses: input.numClasses, batchNorm });
        const built = prunableWeightIndices(model, definition).map((w) => ({ name: w.layer, size: w.shape.reduce((a, b) => a * b, 1) }));
        model.dispose();
        assert.deepEqual(prunableLayers(modelName, input), built, `${modelName} on ${datasetName}, batchNorm ${batchNorm}`);
      }
    }
  }
});

test("a pruning keeps round(alive·(1−rate)); a schedule empties a group only when that reaches 0", () => {
  assert.equal(keptAfterPruning(1000, 0.2), 800);
  assert.equal(keptAfterPruning(3, 0.9), 0);
  assert.equal(keptAfterPruning(1, 0.5), 1);
  // lenet-300-100 on 28×28: 266200 → 26620 → 2662 → 266 → 27 → 3 → 0.
  assert.equal(cycleEmptied(266_200, 0.9, 10), 6);
  assert.equal(cycleEmptied(266_200, 0.9, 5), null);
  // At rate ≤ 0.5 a single weight always survives.
  assert.equal(cycleEmptied(1, 0.5, 200), null);
  assert.equal(cycleEmptied(10, 0.2, 200), null);
});
