/**
 * Runs one fleet task: fetches its inputs from the artifact store (verified by sha256), runs the
 * same task handler `swamp run` uses on a task thread, and stores its outputs, so a fleet run gives
 * the same masks and accuracies as `swamp run`. Which inputs and outputs are artifacts, and what
 * they hold, the kind's descriptor says (protocol/task-kinds/), so no kind is named here; the input
 * and output artifacts are shaped as `swamp run` shapes them (worker/run/task-io.ts).
 */
import type { ArtifactRef, TaskMessage, TaskResultInput } from "../../schema/fleet-messages.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { TaskProgress } from "../engine/context.js";
import { unpackMask } from "../../schema/mask-bits.js";
import { denseMask, type Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { weightsHeader } from "../../schema/weights-file.js";
import { MASK_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
import { loadStoredWeights } from "../../transport/stored-weights.js";
import { encodeArtifact, handlerInput, outputArtifacts } from "../run/task-io.js";
import { descriptorOf, placeOf } from "../../protocol/task-kinds.js";
import type { ArtifactContent } from "../../protocol/task-kind.js";
import type { TaskInput } from "../tasks/types.js";
import type { ThreadPool } from "../run/thread-pool.js";

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
  const descriptor = descriptorOf(task.kind);
  const place = placeOf(task.kind, task);
  const callbacks = { onMetrics: execution.onMetrics, onProgress: execution.onProgress };

  const { input, maskBits } = await handlerInput(task, descriptor, (content, ref) => fetchArtifact(artifacts, content, ref, layout));
  const output = (await pool.run(input as unknown as TaskInput, callbacks)) as unknown as Record<string, unknown>;

  const outputs: Record<string, ArtifactRef | null> = {};
  const outputNames = Object.keys(descriptor.outputArtifacts ?? {});
  for (const name of outputNames) outputs[name] = null;
  for (const { name, content, value } of outputArtifacts(descriptor, output)) {
    outputs[name] = await artifacts.put(encodeArtifact(content, value, layout, maskBits), { format: content === "mask" ? MASK_FORMAT : WEIGHTS_FORMAT });
  }
  // No TF.js copy is stored: the server makes one from the stored weights when it is downloaded.
  const notNumbers = new Set<string>(["kind", ...descriptor.coordinates, ...outputNames]);
  const numbers = Object.fromEntries(Object.entries(output).filter(([key]) => !notNumbers.has(key)));
  return {
    taskId: task.taskId,
    experimentId: task.experimentId,
    workerId: execution.workerId,
    attempt: execution.attempt,
    outcome: "succeeded",
    kind: task.kind,
    ...place,
    finishedAt: Date.now(),
    outputs,
    numbers,
  } as TaskResultInput;
}

async function fetchArtifact(artifacts: ArtifactStore, content: ArtifactContent, ref: ArtifactRef | null, layout: WeightLayout): Promise<WeightValues | Mask | null> {
  if (content === "mask") return getMask(artifacts, ref, layout);
  return ref === null ? null : getWeights(artifacts, ref, layout);
}

async function getWeights(artifacts: ArtifactStore, ref: ArtifactRef, layout: WeightLayout): Promise<WeightValues> {
  const { values, entries } = await loadStoredWeights(artifacts, ref);
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
