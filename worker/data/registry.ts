/**
 * The data set registry: adding a data set is one file exporting a DatasetDefinition plus one line
 * here. Keyed by the config's DATASET_NAMES, so the compiler insists every name has a definition.
 */
import { DATASET_NAMES, type DatasetName } from "../../schema/config.js";
import type { DatasetDefinition } from "./dataset.js";
import { cifar10 } from "./cifar10.js";
import { fashionMnist } from "./fashion-mnist.js";
import { mnist } from "./mnist.js";
import { synthetic } from "./synthetic.js";

export const DATASETS: Record<DatasetName, DatasetDefinition> = {
  "fashion-mnist": fashionMnist,
  mnist,
  cifar10,
  synthetic,
};

export function getDataset(name: string): DatasetDefinition {
  if (!Object.prototype.hasOwnProperty.call(DATASETS, name)) {
    throw new Error(`unknown data set ${JSON.stringify(name)}; known data sets: ${DATASET_NAMES.join(", ")}`);
  }
  return DATASETS[name as DatasetName];
}
