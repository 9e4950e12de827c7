/**
 * Reading the models an analysis input selects: a source's particle or averaged model of a cycle,
 * with its mask unpacked for this model's layout and its label for results, and the mask two
 * models are compared under.
 */
import { parseModelSelector, type MaskChoice, type ModelSelector } from "../../schema/analyses.js";
import { unpackMask } from "../../schema/mask-bits.js";
import { applyMask, masksEqual, type Mask } from "../engine/mask.js";
import type { ModelSession } from "../engine/model-session.js";
import { checkWeightsMatchLayout, cloneWeights, type WeightValues } from "../engine/weights.js";
import type { StoredModels } from "./stored-models.js";

export interface SelectedModel {
  label: string;
  weights: WeightValues;
  mask: Mask;
}

export function modelLabel(source: StoredModels, cycle: number, selector: ModelSelector): string {
  return `${source.label} cycle ${cycle} ${selector}`;
}

export async function readMask(session: ModelSession, source: StoredModels, cycle: number): Promise<Mask> {
  const sizes = session.layout.prunable.map((p) => session.layout.entries[p]!.size);
  try {
    return unpackMask(await source.maskBits(cycle), sizes);
  } catch (error) {
    throw new Error(`${source.label} cycle ${cycle}: ${(error as Error).message}`);
  }
}

export async function selectModel(session: ModelSession, source: StoredModels, cycle: number, selector: ModelSelector): Promise<SelectedModel> {
  const parsed = parseModelSelector(selector);
  const label = modelLabel(source, cycle, selector);
  const weights = parsed.kind === "average" ? await source.average(cycle) : await source.particle(cycle, parsed.particle);
  checkWeightsMatchLayout(weights, session.layout, label);
  return { label, weights, mask: await readMask(session, source, cycle) };
}

export class MaskMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MaskMismatchError";
  }
}

/** The mask two models are compared under (see MASK_CHOICES); `same` throws when they differ. */
export function combineMasks(a: SelectedModel, b: SelectedModel, choice: MaskChoice): Mask {
  if (choice === "same") {
    if (!masksEqual(a.mask, b.mask)) throw new MaskMismatchError(`${a.label} and ${b.label} have different masks; choose mask "union" or "intersection"`);
    return a.mask;
  }
  return a.mask.map((layer, i) => {
    const other = b.mask[i]!;
    const out = new Uint8Array(layer.length);
    for (let j = 0; j < layer.length; j++) out[j] = choice === "union" ? layer[j]! | other[j]! : layer[j]! & other[j]!;
    return out;
  });
}

/** The model under another mask: a copy with the pruned weights zeroed, and whether that changed it. */
export function underMask(model: SelectedModel, mask: Mask, session: ModelSession): { weights: WeightValues; changed: boolean } {
  if (masksEqual(model.mask, mask)) return { weights: model.weights, changed: false };
  const weights = cloneWeights(model.weights);
  applyMask(weights, mask, session.layout);
  return { weights, changed: true };
}
