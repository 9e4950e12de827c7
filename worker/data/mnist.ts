/** MNIST (LeCun et al. 1998): 60,000 + 10,000 grey 28×28 handwritten digits. */
import type { DatasetDefinition } from "./dataset.js";
import { loadIdxImageDataset, type IdxImageDatasetSpec } from "./idx-image-dataset.js";

export const MNIST_DEFAULT_DIR = "/usr/share/datasets/mnist";

const spec: IdxImageDatasetSpec = { name: "mnist", defaultDir: MNIST_DEFAULT_DIR, height: 28, width: 28, numClasses: 10 };

export const mnist: DatasetDefinition = {
  name: "mnist",
  defaultDir: MNIST_DEFAULT_DIR,
  supportsAugmentation: false,
  load: (options) => loadIdxImageDataset(spec, options),
};
