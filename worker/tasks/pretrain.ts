/** Seeded initialisation and dense training up to the rewind point θ_T0. */
import { METRIC_KEYS } from "../../schema/metrics.js";
import type { EngineContext } from "../engine/context.js";
import { Random } from "../engine/rng.js";
import { pretrainLearningRate } from "../engine/schedule.js";
import { experimentTrainingRun, train } from "../engine/train.js";
import { augmenterFor } from "../engine/augmentation.js";
import type { WeightValues } from "../engine/weights.js";

export interface PretrainInput {
  kind: "pretrain";
}

export interface PretrainOutput {
  kind: "pretrain";
  /** The rewind point θ_T0 (the seeded initialisation when rewindEpochs is 0). */
  weights: WeightValues;
  seconds: number;
}

export function pretrain(context: EngineContext, _input: PretrainInput): PretrainOutput {
  const started = performance.now();
  const { config, dataset, session } = context;
  session.writeWeights(session.initialWeights(config.seed, config.model.init));
  const epochs = config.training.rewindEpochs;
  if (epochs > 0) {
    const lr = pretrainLearningRate(config);
    let examples = 0;
    train({
      ...experimentTrainingRun(context, epochs),
      learningRate: () => lr,
      order: Random.derive(config.seed, ["pretrain-order"]),
      augment: augmenterFor(context, ["pretrain-augment"]),
      onStep: (step) => {
        examples += step.examples;
        context.onProgress?.({ epoch: Math.ceil(step.epochProgress), epochs, examples, totalExamples: epochs * dataset.train.count, loss: step.loss });
      },
      onEpochEnd: (epoch, loss) => context.emitMetric?.({ cycle: 0, key: METRIC_KEYS.pretrainLoss, step: epoch, epoch, value: loss, time: Date.now() }),
    });
  }
  return { kind: "pretrain", weights: session.readWeights(), seconds: (performance.now() - started) / 1000 };
}
