/**
 * Runs one fleet task: fetches its inputs from the artifact store (verified by sha256), runs the
 * same task handler `swamp run` uses on a task thread, and stores its outputs, so a fleet run gives
 * the same masks and accuracies as `swamp run`. Which inputs and outputs are artifacts, and what
 * they hold, the kind's descriptor says (protocol/task-kinds/), so no kind is named here.
 */
import type { ArtifactRef, TaskMessage, TaskResultInput } from "../../schema/fleet-messages.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { TaskProgress } from "../engine/context.js";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import { denseMask, type Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { weightsHeader } from "../../schema/weights-file.js";
import { MASK_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
import { loadStoredWeights } from "../../transport/stored-weights.js";
import { encodeRunModel } from "../run/run-models.js";
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

/** Task fields every kind has; the handler gets the others (its coordinates, flags like `final`) and the resolved inputs. */
const ENVELOPE_FIELDS = new Set(["version", "taskId", "experimentId", "config", "configHash", "inputs"]);

export async function executeTask(execution: TaskExecution): Promise<TaskResultInput> {
  const { task, pool, artifacts } = execution;
  const layout = pool.layout;
  const descriptor = descriptorOf(task.kind);
  const place = placeOf(task.kind, task);
  const callbacks = { onMetrics: execution.onMetrics, onProgress: execution.onProgress };

  const input: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(task)) if (!ENVELOPE_FIELDS.has(field)) input[field] = value;
  // Weights the task outputs are stored under the mask it was given (a stored mask: the cycle is pruned), as `swamp run` writes them.
  let storedMaskBits: Uint8Array | null = null;
  for (const [name, value] of Object.entries(("inputs" in task ? task.inputs : {}) as Record<string, unknown>)) {
    const content = descriptor.inputArtifacts?.[name];
    input[name] = content === undefined ? value : await fetchArtifacts(artifacts, content, value as ArtifactRef | ArtifactRef[] | null, layout);
    if (content === "mask" && value !== null && storedMaskBits === null) storedMaskBits = packMask(input[name] as Mask);
  }
  const output = (await pool.run(input as unknown as TaskInput, callbacks)) as unknown as Record<string, unknown>;

  const outputs: Record<string, ArtifactRef | null> = {};
  const outputArtifacts = descriptor.outputArtifacts ?? {};
  for (const [name, content] of Object.entries(outputArtifacts)) {
    const value = output[name];
    outputs[name] = value === undefined ? null : await storeArtifact(artifacts, content, value as WeightValues | Mask, layout, storedMaskBits);
  }
  // No TF.js copy is stored: the server makes one from the stored weights when it is downloaded.
  const notNumbers = new Set<string>(["kind", ...descriptor.coordinates, ...Object.keys(outputArtifacts)]);
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

async function fetchArtifacts(artifacts: ArtifactStore, content: ArtifactContent, refs: ArtifactRef | ArtifactRef[] | null, layout: WeightLayout): Promise<unknown> {
  if (Array.isArray(refs)) return Promise.all(refs.map((ref) => fetchArtifact(artifacts, content, ref, layout)));
  return fetchArtifact(artifacts, content, refs, layout);
}

async function fetchArtifact(artifacts: ArtifactStore, content: ArtifactContent, ref: ArtifactRef | null, layout: WeightLayout): Promise<WeightValues | Mask | null> {
  if (content === "mask") return getMask(artifacts, ref, layout);
  return ref === null ? null : getWeights(artifacts, ref, layout);
}

async function storeArtifact(artifacts: ArtifactStore, content: ArtifactContent, value: WeightValues | Mask, layout: WeightLayout, maskBits: Uint8Array | null): Promise<ArtifactRef> {
  if (content === "mask") return artifacts.put(packMask(value as Mask), { format: MASK_FORMAT });
  return artifacts.put(encodeRunModel(value as WeightValues, layout, maskBits), { format: WEIGHTS_FORMAT });
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
