/**
 * CIFAR-10 (Krizhevsky 2009), "binary version": data_batch_1.bin … data_batch_5.bin and
 * test_batch.bin, each a sequence of 3073-byte records (1 label byte, then 1024 red, 1024 green and
 * 1024 blue bytes, rows top to bottom). There is no default directory; the user points data.dir at
 * the folder, or at its parent holding `cifar-10-batches-bin/` as the official archive unpacks.
 * Images are converted to channels last (NHWC) to match the other data sets and tfjs.
 */
import { join } from "node:path";
import { stat } from "node:fs/promises";
import { DatasetFileError, DatasetOptionError, type DatasetDefinition, type DatasetLoadOptions, type LoadedDataset } from "./dataset.js";
import { toLoadedDataset, type ByteImageSplit } from "./byte-images.js";
import { allInOrder, findFile, readMaybeGzipped, requireDirectory } from "./data-files.js";

export const CIFAR10_SIDE = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_CLASSES = 10;
const PIXELS = CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_RECORD_BYTES = 1 + PIXELS * CIFAR10_CHANNELS;

export const CIFAR10_TRAIN_FILES = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] as const;
export const CIFAR10_TEST_FILES = ["test_batch.bin"] as const;
/** The folder the official cifar-10-binary.tar.gz unpacks to. */
const ARCHIVE_FOLDER = "cifar-10-batches-bin";

/** Parses one batch file's bytes into NHWC pixels and labels. */
export function parseCifarBatch(bytes: Uint8Array, file: string): ByteImageSplit {
  if (bytes.length === 0) throw new DatasetFileError(file, "is empty");
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DatasetFileError(
      file,
      `truncated or not a CIFAR-10 binary batch: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records`,
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const pixels = new Uint8Array(count * PIXELS * CIFAR10_CHANNELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const record = n * CIFAR10_RECORD_BYTES;
    const label = bytes[record]!;
    if (label >= CIFAR10_CLASSES) {
      throw new DatasetFileError(file, `label ${label} of record ${n} is outside [0, ${CIFAR10_CLASSES})`);
    }
    labels[n] = label;
    const out = n * PIXELS * CIFAR10_CHANNELS;
    for (let c = 0; c < CIFAR10_CHANNELS; c++) {
      const plane = record + 1 + c * PIXELS;
      for (let p = 0; p < PIXELS; p++) pixels[out + p * CIFAR10_CHANNELS + c] = bytes[plane + p]!;
    }
  }
  return { pixels, labels, count };
}

async function resolveDirectory(options: DatasetLoadOptions): Promise<string> {
  if (options.dir === undefined) {
    throw new DatasetOptionError(
      "data.dir",
      "cifar10 has no default directory: set it to the folder holding data_batch_1.bin … data_batch_5.bin and test_batch.bin (the CIFAR-10 binary version)",
    );
  }
  await requireDirectory(options.dir, "from data.dir");
  const nested = join(options.dir, ARCHIVE_FOLDER);
  const direct = await stat(join(options.dir, CIFAR10_TRAIN_FILES[0])).catch(() => undefined);
  if (direct === undefined && (await stat(join(nested, CIFAR10_TRAIN_FILES[0])).catch(() => undefined)) !== undefined) return nested;
  return options.dir;
}

function findBatches(dir: string, names: readonly string[]): Promise<string[]> {
  return allInOrder(names.map((name) => findFile(dir, [name])));
}

async function readBatches(paths: readonly string[]): Promise<ByteImageSplit> {
  const batches = await allInOrder(paths.map(async (path) => parseCifarBatch(await readMaybeGzipped(path), path)));
  return concatenate(batches);
}

function concatenate(batches: ByteImageSplit[]): ByteImageSplit {
  if (batches.length === 1) return batches[0]!;
  const count = batches.reduce((sum, b) => sum + b.count, 0);
  const pixels = new Uint8Array(batches.reduce((sum, b) => sum + b.pixels.length, 0));
  const labels = new Uint8Array(count);
  let pixelOffset = 0;
  let labelOffset = 0;
  for (const batch of batches) {
    pixels.set(batch.pixels, pixelOffset);
    labels.set(batch.labels, labelOffset);
    pixelOffset += batch.pixels.length;
    labelOffset += batch.count;
  }
  return { pixels, labels, count };
}

async function load(options: DatasetLoadOptions): Promise<LoadedDataset> {
  const dir = await resolveDirectory(options);
  // Every file is found before any is read, so a missing file is reported before a broken one.
  const [trainPaths, testPaths] = await allInOrder([findBatches(dir, CIFAR10_TRAIN_FILES), findBatches(dir, CIFAR10_TEST_FILES)]);
  const [train, test] = await allInOrder([readBatches(trainPaths), readBatches(testPaths)]);
  return toLoadedDataset(
    { name: "cifar10", inputShape: [CIFAR10_SIDE, CIFAR10_SIDE, CIFAR10_CHANNELS], numClasses: CIFAR10_CLASSES, train, test },
    options,
  );
}

export const cifar10: DatasetDefinition = {
  name: "cifar10",
  supportsAugmentation: true,
  load,
};
