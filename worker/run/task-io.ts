/**
 * A task's handler input and its stored outputs, shaped by its descriptor's artifact fields, the
 * same way for the fleet (artifacts in the store, worker/fleet/execute-task.ts) and for `swamp run`
 * (files of the run directory, worker/run/local-run.ts); only where artifacts come from and go to
 * differs, so both store the same bytes for the same task.
 */
import type { ArtifactRef } from "../../schema/fleet-message-fields.js";
import { packMask } from "../../schema/mask-bits.js";
import type { ArtifactContent, TaskKindDescriptor } from "../../protocol/task-kind.js";
import type { Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { encodeRunModel } from "./run-models.js";

/** An artifact decoded: a model's tensors, or a mask. */
export type ArtifactValue = WeightValues | Mask;

/** Decodes an input artifact; a null reference is the dense mask (for a mask) or null. */
export type FetchArtifact = (content: ArtifactContent, ref: ArtifactRef | null) => Promise<ArtifactValue | null>;

/** Task fields every kind has; the handler gets the others (its coordinates, flags like `final`) and the resolved inputs. */
const ENVELOPE_FIELDS = new Set(["version", "taskId", "experimentId", "config", "configHash", "inputs"]);

export interface HandlerInput {
  input: Record<string, unknown>;
  /** The mask the task was given, packed (null: dense): its output weights are stored under it. */
  maskBits: Uint8Array | null;
}

/** The handler's input: the task's own fields, and its inputs with artifact references decoded. */
export async function handlerInput(task: object, descriptor: TaskKindDescriptor, fetch: FetchArtifact): Promise<HandlerInput> {
  const input: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(task)) if (!ENVELOPE_FIELDS.has(field)) input[field] = value;
  let maskBits: Uint8Array | null = null;
  for (const [name, value] of Object.entries(("inputs" in task ? task.inputs : {}) as Record<string, unknown>)) {
    const content = descriptor.inputArtifacts?.[name];
    if (content === undefined) {
      input[name] = value;
      continue;
    }
    const refs = value as ArtifactRef | ArtifactRef[] | null;
    input[name] = Array.isArray(refs) ? await Promise.all(refs.map((ref) => fetch(content, ref))) : await fetch(content, refs);
    if (content === "mask" && value !== null && maskBits === null) maskBits = packMask(input[name] as Mask);
  }
  return { input, maskBits };
}

/** The output artifacts a handler returned, in the descriptor's order (an absent one is left out). */
export function outputArtifacts(descriptor: TaskKindDescriptor, output: Record<string, unknown>): Array<{ name: string; content: ArtifactContent; value: ArtifactValue }> {
  return Object.entries(descriptor.outputArtifacts ?? {})
    .filter(([name]) => output[name] !== undefined)
    .map(([name, content]) => ({ name, content, value: output[name] as ArtifactValue }));
}

/** An output artifact's bytes: a mask packed, weights under the mask the task was given. */
export function encodeArtifact(content: ArtifactContent, value: ArtifactValue, layout: WeightLayout, maskBits: Uint8Array | null): Uint8Array {
  return content === "mask" ? packMask(value as Mask) : encodeRunModel(value as WeightValues, layout, maskBits);
}
