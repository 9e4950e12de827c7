/**
 * The training loop of one particle (or of the dense pre-training): seeded batch orders,
 * softmax cross-entropy, and the masked SGD update after every step. Masked training of a chain
 * of Dense layers runs each step as one native call instead (native-kernels/sparse-mlp-training.ts,
 * where the native kernels are loaded), to the same values within float rounding.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DatasetSplit } from "../data/dataset.js";
import type { EngineContext, StopSignal } from "./context.js";
import type { Mask } from "./mask.js";
import type { ModelSession } from "./model-session.js";
import { meanSoftmaxCrossEntropy } from "./loss.js";
import type { Random } from "./rng.js";
import { sparseMlpTrainerFor } from "./native-kernels/sparse-mlp-training.js";
import { MaskedSgd } from "./sgd.js";

export interface TrainingRun {
  session: ModelSession;
  data: DatasetSplit;
  inputShape: [number, number, number];
  epochs: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  /** Learning rate at a point of training, in (fractional) epochs since the run began. */
  learningRate: (epochProgress: number) => number;
  /** Draws each epoch's batch order. */
  order: Random;
  mask?: Mask;
  /** Changes a batch of images in place (augmentation). */
  augment?: (images: Float32Array, count: number) => void;
  /** Called after every step with the step's loss. */
  onStep?: (step: StepReport) => void;
  /** Called at the end of each epoch (1-based), e.g. to take an SWA snapshot. */
  onEpochEnd?: (epoch: number, meanLoss: number) => void;
  signal?: StopSignal;
}

export interface StepReport {
  step: number;
  epochProgress: number;
  loss: number;
  learningRate: number;
  examples: number;
  /** The optimiser, for inspecting its state (e.g. that pruned momentum stays zero). */
  optimizer: StepOptimizer;
  /** Which step ran: TF.js's (with whatever kernels the backend has) or the fused sparse MLP step. */
  path: TrainingStepPath;
}

export type TrainingStepPath = "tfjs" | "sparse-mlp";

/** What a step report shows of the optimiser's state. */
export interface StepOptimizer {
  /** The momentum of every trainable variable, in trainable order. */
  velocityValues(): Float32Array[];
}

export class TrainingAborted extends Error {
  constructor() {
    super("training was stopped");
    this.name = "TrainingAborted";
  }
}

/** The parts of a training run that come from the experiment: its model, data and optimiser settings. */
export function experimentTrainingRun(context: EngineContext, epochs: number): Pick<TrainingRun, "session" | "data" | "inputShape" | "epochs" | "batchSize" | "momentum" | "weightDecay" | "signal"> {
  const { config, dataset, session } = context;
  return {
    session,
    data: dataset.train,
    inputShape: dataset.inputShape,
    epochs,
    batchSize: config.training.batchSize,
    momentum: config.training.momentum,
    weightDecay: config.training.weightDecay,
    signal: context.signal,
  };
}

export function train(run: TrainingRun): void {
  const { session, data, batchSize, inputShape } = run;
  const example = inputShape[0] * inputShape[1] * inputShape[2];
  const variables = session.trainableVariables();
  const settings = { momentum: run.momentum, weightDecay: run.weightDecay };
  const fused = run.mask ? sparseMlpTrainerFor(session, run.mask, settings) : undefined;
  const trainer = typeof fused === "string" ? undefined : fused;
  const optimizer = trainer ? undefined : new MaskedSgd(variables, maskTensorsByTrainableIndex(session, run.mask), settings);
  const path: TrainingStepPath = trainer ? "sparse-mlp" : "tfjs";
  const batchImages = new Float32Array(batchSize * example);
  const batchLabels = new Int32Array(batchSize);
  const stepsPerEpoch = Math.ceil(data.count / batchSize);
  let step = 0;
  try {
    for (let epoch = 0; epoch < run.epochs; epoch++) {
      const order = run.order.permutation(data.count);
      let lossSum = 0;
      for (let batch = 0; batch < stepsPerEpoch; batch++) {
        if (run.signal?.aborted) throw new TrainingAborted();
        const start = batch * batchSize;
        const count = Math.min(batchSize, data.count - start);
        // The fused step reads the examples where they lie, unless augmentation must change a copy.
        const copyImages = !trainer || run.augment !== undefined;
        for (let k = 0; k < count; k++) {
          const index = order[start + k]!;
          if (copyImages) batchImages.set(data.images.subarray(index * example, (index + 1) * example), k * example);
          batchLabels[k] = data.labels[index]!;
        }
        run.augment?.(batchImages, count);
        const learningRate = run.learningRate(epoch + batch / stepsPerEpoch);
        const loss = trainer
          ? copyImages
            ? trainer.step(batchImages, null, batchLabels, count, learningRate)
            : trainer.step(data.images, order.subarray(start, start + count), batchLabels, count, learningRate)
          : tf.tidy(() => {
              const x = tf.tensor(batchImages.subarray(0, count * example), [count, ...inputShape], "float32");
              const labels = tf.tensor1d(batchLabels.subarray(0, count), "int32");
              const { value, grads } = tf.variableGrads(() => meanSoftmaxCrossEntropy(labels, session.model.apply(x, { training: true }) as tf.Tensor2D), variables);
              optimizer!.step(variables.map((v) => grads[v.name]!), learningRate);
              return value.dataSync()[0]!;
            });
        lossSum += loss * count;
        step++;
        run.onStep?.({ step, epochProgress: epoch + (batch + 1) / stepsPerEpoch, loss, learningRate, examples: count, optimizer: (trainer ?? optimizer)!, path });
      }
      run.onEpochEnd?.(epoch + 1, lossSum / data.count);
    }
  } finally {
    optimizer?.dispose();
    trainer?.dispose();
  }
}

/** The mask of each trainable variable as a tensor, or undefined where it is not prunable. */
export function maskTensorsByTrainableIndex(session: ModelSession, mask: Mask | undefined): Array<tf.Tensor | undefined> {
  return session.trainablePositions.map((position) => {
    if (!mask) return undefined;
    const prunableIndex = session.layout.prunable.indexOf(position);
    if (prunableIndex < 0) return undefined;
    return tf.tensor(Float32Array.from(mask[prunableIndex]!), session.layout.entries[position]!.shape, "float32");
  });
}
