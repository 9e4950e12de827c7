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
import { decodeWeights, encodeWeights, weightsHeader } from "../../schema/weights-file.js";
import { MASK_FORMAT, TFJS_MODEL_FORMAT, TFJS_WEIGHTS_FORMAT, WEIGHTS_FORMAT } from "../../schema/artifact-formats.js";
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
  for (const [name, value] of Object.entries(task.inputs as Record<string, unknown>)) {
    const content = descriptor.inputArtifacts?.[name];
    input[name] = content === undefined ? value : await fetchArtifacts(artifacts, content, value as ArtifactRef | ArtifactRef[] | null, layout);
  }
  const output = (await pool.run(input as unknown as TaskInput, callbacks)) as unknown as Record<string, unknown>;

  const outputs: Record<string, ArtifactRef | null> = {};
  const outputArtifacts = descriptor.outputArtifacts ?? {};
  for (const [name, content] of Object.entries(outputArtifacts)) {
    const value = output[name];
    outputs[name] = value === undefined ? null : await storeArtifact(artifacts, content, value as WeightValues | Mask, layout);
  }
  if (descriptor.exportsModel) {
    // What `swamp run` writes to cycle-NNN/model/, so fleet runs load into TF.js the same way.
    const model = await pool.exportModel(output.weights as WeightValues);
    outputs.tfjsModel = await artifacts.put(Buffer.from(model.modelJson, "utf8"), { format: TFJS_MODEL_FORMAT });
    outputs.tfjsWeights = await artifacts.put(model.weightsBin, { format: TFJS_WEIGHTS_FORMAT });
  }
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

async function storeArtifact(artifacts: ArtifactStore, content: ArtifactContent, value: WeightValues | Mask, layout: WeightLayout): Promise<ArtifactRef> {
  if (content === "mask") return artifacts.put(packMask(value as Mask), { format: MASK_FORMAT });
  return artifacts.put(encodeWeights(value as WeightValues, weightsHeader(layout)), { format: WEIGHTS_FORMAT });
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
