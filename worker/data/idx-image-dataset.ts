/**
 * Loading an MNIST-layout data set: four IDX files (gzipped or not) in one directory, grey images of
 * a fixed size, labels in [0, numClasses). Shared by `mnist` and `fashion-mnist`.
 */
import type { DatasetName } from "../../schema/config.js";
import { DatasetFileError, type DatasetLoadOptions, type LoadedDataset } from "./dataset.js";
import { toLoadedDataset, type ByteImageSplit } from "./byte-images.js";
import { allInOrder, findFile, requireDirectory } from "./data-files.js";
import { readIdxFile } from "./idx.js";

export interface IdxImageDatasetSpec {
  name: DatasetName;
  defaultDir: string;
  height: number;
  width: number;
  numClasses: number;
}

/** The standard file names, without `.gz`. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** Accepted spellings: the standard name, gzipped or not, and the `train-images.idx3-ubyte` variant some mirrors use. */
function candidates(name: string): string[] {
  const dotted = name.replace(/-(idx\d)/, ".$1");
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

export async function loadIdxImageDataset(spec: IdxImageDatasetSpec, options: DatasetLoadOptions): Promise<LoadedDataset> {
  const dir = options.dir ?? spec.defaultDir;
  await requireDirectory(dir, options.dir === undefined ? `the default directory of ${spec.name}; set data.dir to where its IDX files are` : "from data.dir");
  // Every file is found before any is read, so a missing file is reported before a broken one.
  const [trainImages, trainLabels, testImages, testLabels] = await allInOrder(
    [IDX_FILES.trainImages, IDX_FILES.trainLabels, IDX_FILES.testImages, IDX_FILES.testLabels].map((name) => findFile(dir, candidates(name))),
  );
  const [train, test] = await allInOrder([loadSplit(spec, trainImages!, trainLabels!), loadSplit(spec, testImages!, testLabels!)]);
  return toLoadedDataset({ name: spec.name, inputShape: [spec.height, spec.width, 1], numClasses: spec.numClasses, train, test }, options);
}

async function loadSplit(spec: IdxImageDatasetSpec, imagesPath: string, labelsPath: string): Promise<ByteImageSplit> {
  const [images, labels] = await allInOrder([readIdxFile(imagesPath, 3), readIdxFile(labelsPath, 1)]);
  const [count, height, width] = images.dims as [number, number, number];
  if (height !== spec.height || width !== spec.width) {
    throw new DatasetFileError(imagesPath, `images are ${height}×${width}, expected ${spec.height}×${spec.width} for ${spec.name}`);
  }
  if (count === 0) throw new DatasetFileError(imagesPath, "holds no images");
  const labelCount = labels.dims[0]!;
  if (labelCount !== count) {
    throw new DatasetFileError(labelsPath, `count mismatch: ${labelCount} labels but ${imagesPath} holds ${count} images`);
  }
  for (let i = 0; i < labelCount; i++) {
    if (labels.data[i]! >= spec.numClasses) {
      throw new DatasetFileError(labelsPath, `label ${labels.data[i]} at index ${i} is outside [0, ${spec.numClasses})`);
    }
  }
  return { pixels: images.data, labels: labels.data, count };
}
