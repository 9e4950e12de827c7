/**
 * Learning rate of a cycle as a function of training progress (in epochs, fractional).
 * With SWA the decay ends at the SWA learning rate at `swa.startFraction` of the cycle and stays
 * there; without it, cosine decays to 0 at the end of the cycle.
 */
import { METHOD_TRAITS, type ExperimentConfig } from "../../schema/config.js";

export function cycleLearningRate(config: ExperimentConfig, epochProgress: number): number {
  const { lr, epochs, warmupEpochs, schedule, stepMilestones, stepGamma } = config.training;
  const swa = METHOD_TRAITS[config.method.name].swa;
  const decayEnd = swa ? config.swa.startFraction * epochs : epochs;
  const floor = swa ? config.swa.lr : 0;
  if (epochProgress < warmupEpochs) return (lr * epochProgress) / warmupEpochs;
  if (swa && epochProgress >= decayEnd) return floor;
  switch (schedule) {
    case "constant":
      return lr;
    case "step": {
      const passed = stepMilestones.filter((m) => epochProgress >= m * epochs).length;
      return Math.max(floor, lr * stepGamma ** passed);
    }
    case "cosine": {
      const span = decayEnd - warmupEpochs;
      const t = span <= 0 ? 1 : Math.min(1, (epochProgress - warmupEpochs) / span);
      return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}

/** Dense training before the rewind point runs at the peak learning rate. */
export function pretrainLearningRate(config: ExperimentConfig): number {
  return config.training.lr;
}
