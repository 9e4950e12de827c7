/**
 * Runs one fleet task: fetches its inputs from the artifact store (verified by sha256), runs the
 * same task handler `swamp run` uses on a task thread, and stores its outputs, so a fleet run gives
 * the same masks and accuracies as `swamp run`.
 */
import type { ArtifactRef, TaskMessage, TaskResultInput } from "../../schema/fleet-messages.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { TaskProgress } from "../engine/context.js";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import { denseMask, type Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { decodeWeights, encodeWeights, weightsHeader } from "../../schema/weights-file.js";
import type { ThreadPool } from "../run/thread-pool.js";

export const WEIGHTS_FORMAT = "swamp-weights";
export const MASK_FORMAT = "swamp-mask";
export const TFJS_MODEL_FORMAT = "tfjs-layers-model";
export const TFJS_WEIGHTS_FORMAT = "tfjs-layers-weights";

export interface TaskExecution {
  task: TaskMessage;
  pool: ThreadPool;
  artifacts: ArtifactStore;
  workerId: string;
  attempt: number;
  onMetrics: (points: MetricPoint[]) => void;
  onProgress: (progress: TaskProgress) => void;
}

export async function executeTask(execution: TaskExecution): Promise<TaskResultInput> {
  const { task, pool, artifacts } = execution;
  const layout = pool.layout;
  const callbacks = { onMetrics: execution.onMetrics, onProgress: execution.onProgress };
  const common = { taskId: task.taskId, experimentId: task.experimentId, workerId: execution.workerId, attempt: execution.attempt, outcome: "succeeded" as const };
  switch (task.kind) {
    case "pretrain": {
      const output = await pool.run<"pretrain">({ kind: "pretrain" }, callbacks);
      const weights = await putWeights(artifacts, output.weights, layout);
      return { ...common, kind: "pretrain", finishedAt: Date.now(), outputs: { weights }, numbers: { seconds: output.seconds } };
    }
    case "train-particle": {
      const rewindWeights = await getWeights(artifacts, task.inputs.rewindWeights, layout);
      const mask = await getMask(artifacts, task.inputs.mask, layout);
      const { weights, kind: _kind, cycle, particle, ...numbers } = await pool.run<"train-particle">(
        { kind: "train-particle", cycle: task.cycle, particle: task.particle, rewindWeights, mask },
        callbacks,
      );
      return { ...common, kind: "train-particle", cycle, particle, finishedAt: Date.now(), outputs: { weights: await putWeights(artifacts, weights, layout) }, numbers };
    }
    case "aggregate-cycle": {
      const particleWeights = await Promise.all(task.inputs.particleWeights.map((ref) => getWeights(artifacts, ref, layout)));
      const mask = await getMask(artifacts, task.inputs.mask, layout);
      const output = await pool.run<"aggregate-cycle">({ kind: "aggregate-cycle", cycle: task.cycle, particleWeights, mask, final: task.final }, callbacks);
      const weights = await putWeights(artifacts, output.weights, layout);
      const nextMask = output.nextMask ? await artifacts.put(packMask(output.nextMask), { format: MASK_FORMAT }) : null;
      // What `swamp run` writes to cycle-NNN/model/, so fleet runs load into TF.js the same way.
      const model = await pool.exportModel(output.weights);
      const tfjsModel = await artifacts.put(Buffer.from(model.modelJson, "utf8"), { format: TFJS_MODEL_FORMAT });
      const tfjsWeights = await artifacts.put(model.weightsBin, { format: TFJS_WEIGHTS_FORMAT });
      const { accuracy, loss, sparsity, alive, total, layers, seconds, inference } = output;
      return {
        ...common,
        kind: "aggregate-cycle",
        cycle: task.cycle,
        finishedAt: Date.now(),
        outputs: { weights, nextMask, tfjsModel, tfjsWeights },
        numbers: { accuracy, loss, sparsity, alive, total, layers, seconds, ...(inference ? { inference } : {}) },
      };
    }
  }
}

async function putWeights(artifacts: ArtifactStore, values: WeightValues, layout: WeightLayout): Promise<ArtifactRef> {
  return artifacts.put(encodeWeights(values, weightsHeader(layout)), { format: WEIGHTS_FORMAT });
}

async function getWeights(artifacts: ArtifactStore, ref: ArtifactRef, layout: WeightLayout): Promise<WeightValues> {
  const { values, entries } = decodeWeights(Buffer.from(await artifacts.get(ref)), `artifact sha256:${ref.sha256}`);
  const expected = weightsHeader(layout);
  if (entries.length !== expected.length || entries.some((e, i) => e.shape.join("x") !== expected[i]!.shape.join("x"))) {
    throw new Error(`artifact sha256:${ref.sha256} holds weights of another model`);
  }
  return values;
}

async function getMask(artifacts: ArtifactStore, ref: ArtifactRef | null, layout: WeightLayout): Promise<Mask> {
  if (ref === null) return denseMask(layout);
  const sizes = layout.prunable.map((p) => layout.entries[p]!.size);
  return unpackMask(await artifacts.get(ref), sizes);
}
