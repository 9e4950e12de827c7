/**
 * The model registry: adding a model is one file exporting a ModelDefinition plus one line here.
 * Keyed by the config's MODEL_NAMES, so the compiler insists every name has a definition.
 */
import { MODEL_NAMES, type ModelName } from "../../schema/config.js";
import type { ModelDefinition } from "./model.js";
import { conv2, conv4, conv6 } from "./conv-n.js";
import { lenet300100 } from "./lenet-300-100.js";
import { lenet5 } from "./lenet-5.js";
import { resnet20 } from "./resnet-20.js";

export const MODELS: Record<ModelName, ModelDefinition> = {
  "lenet-300-100": lenet300100,
  "lenet-5": lenet5,
  "conv-2": conv2,
  "conv-4": conv4,
  "conv-6": conv6,
  "resnet-20": resnet20,
};

export function getModel(name: string): ModelDefinition {
  if (!Object.prototype.hasOwnProperty.call(MODELS, name)) {
    throw new Error(`unknown model ${JSON.stringify(name)}; known models: ${MODEL_NAMES.join(", ")}`);
  }
  return MODELS[name as ModelName];
}
