/** Fashion-MNIST (Xiao et al. 2017): 60,000 + 10,000 grey 28×28 images of 10 clothing classes. */
import type { DatasetDefinition } from "./dataset.js";
import { loadIdxImageDataset, type IdxImageDatasetSpec } from "./idx-image-dataset.js";

/** Where Debian's dataset-fashion-mnist package installs the four gzipped IDX files. */
export const FASHION_MNIST_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

const spec: IdxImageDatasetSpec = { name: "fashion-mnist", defaultDir: FASHION_MNIST_DEFAULT_DIR, height: 28, width: 28, numClasses: 10 };

export const fashionMnist: DatasetDefinition = {
  name: "fashion-mnist",
  defaultDir: FASHION_MNIST_DEFAULT_DIR,
  supportsAugmentation: false,
  load: (options) => loadIdxImageDataset(spec, options),
};
