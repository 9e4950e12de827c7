/** Valid fleet messages to start from; tests change one field to make them wrong. */
import { requireExperimentConfig, type ExperimentConfig } from "../../../schema/config.js";
import {
  createTaskMessage,
  FLEET_MESSAGE_VERSION,
  taskIdFor,
  type AggregateCycleTask,
  type ArtifactRef,
  type MetricBatch,
  type TaskFailure,
  type TaskMessage,
  type TrainParticleSuccess,
  type TrainParticleTask,
  type WorkerHeartbeat,
} from "../../../schema/fleet-messages.js";

export const testConfig: ExperimentConfig = requireExperimentConfig({
  name: "transport-test",
  data: { name: "synthetic" },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 2 },
  pruning: { cycles: 2 },
});

export function ref(fill: string, size = 10): ArtifactRef {
  return { sha256: fill.repeat(64).slice(0, 64), size };
}

export function pretrainTask(experimentId: string): TaskMessage {
  return createTaskMessage({ kind: "pretrain", experimentId, config: testConfig, inputs: {} });
}

export function trainParticleTask(experimentId: string, cycle = 0, particle = 0): TrainParticleTask {
  return <TrainParticleTask>createTaskMessage({
    kind: "train-particle",
    experimentId,
    config: testConfig,
    cycle,
    particle,
    inputs: { rewindWeights: ref("a"), mask: cycle === 0 ? null : ref("b") },
  });
}

export function aggregateTask(experimentId: string, cycle = 0): AggregateCycleTask {
  return <AggregateCycleTask>createTaskMessage({
    kind: "aggregate-cycle",
    experimentId,
    config: testConfig,
    cycle,
    final: cycle === testConfig.pruning.cycles,
    inputs: { particleWeights: [ref("c"), ref("d")], mask: cycle === 0 ? null : ref("b") },
  });
}

export function particleResult(experimentId: string, cycle = 0, particle = 0, attempt = 1): TrainParticleSuccess {
  return {
    version: FLEET_MESSAGE_VERSION,
    outcome: "succeeded",
    kind: "train-particle",
    taskId: taskIdFor({ experimentId, kind: "train-particle", cycle, particle }),
    experimentId,
    workerId: "worker-1",
    attempt,
    finishedAt: 1_700_000_000_000,
    cycle,
    particle,
    outputs: { weights: ref("e", 1234) },
    numbers: { orderSeed: 12345, accuracy: 0.875, loss: 0.42, epochLosses: [0.9, 0.6, 0.42], swaSnapshots: 2, seconds: 3.5, examplesPerSecond: 1800 },
  };
}

export function failureResult(experimentId: string): TaskFailure {
  return {
    version: FLEET_MESSAGE_VERSION,
    outcome: "failed",
    kind: "pretrain",
    taskId: taskIdFor({ experimentId, kind: "pretrain" }),
    experimentId,
    workerId: "worker-2",
    attempt: 2,
    finishedAt: 1_700_000_000_000,
    error: "corrupt artifact sha256:abc",
  };
}

export function metricBatch(experimentId: string, sequence = 0, particle: number | undefined = 1): MetricBatch {
  return {
    version: FLEET_MESSAGE_VERSION,
    experimentId,
    taskId: taskIdFor({ experimentId, kind: "train-particle", cycle: 1, particle }),
    workerId: "worker-1",
    attempt: 1,
    cycle: 1,
    particle,
    sequence,
    points: [
      { cycle: 1, particle, key: "train/loss", step: 10 * sequence, epoch: sequence / 10, value: 0.5 - sequence / 100, time: 1_700_000_000_000 + sequence },
    ],
  };
}

export function heartbeat(workerId = "worker-1"): WorkerHeartbeat {
  return {
    version: FLEET_MESSAGE_VERSION,
    workerId,
    host: "box-1",
    backend: "wasm",
    device: "cpu (2 cores)",
    slots: 2,
    busy: 1,
    runningTaskIds: ["exp:pretrain"],
    stopping: false,
    time: 1_700_000_000_000,
  };
}
