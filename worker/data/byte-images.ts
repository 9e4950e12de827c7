/**
 * The step every image data set shares: 8-bit NHWC pixels and labels in, a normalised
 * LoadedDataset on shared memory out. Subsets are taken first, so the statistics are those of the
 * training images actually used.
 */
import type { DatasetName } from "../../schema/config.js";
import { DatasetOptionError, type DatasetLoadOptions, type DatasetSplit, type LoadedDataset } from "./dataset.js";
import { channelStatistics, normaliseBytes, type ChannelStatistics } from "./normalise.js";
import { sharedInt32Array } from "./shared-arrays.js";

/** Raw images as read from files: count × height × width × channels bytes, and count labels. */
export interface ByteImageSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface ByteImageDataset {
  name: DatasetName;
  inputShape: [number, number, number];
  numClasses: number;
  train: ByteImageSplit;
  test: ByteImageSplit;
}

/** How many of `available` examples a subset option asks for; refuses more than there are. */
export function subsetCount(field: string, requested: number | undefined, available: number, dataset: string): number {
  if (requested === undefined) return available;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new DatasetOptionError(field, `must be a positive integer (got ${requested})`);
  }
  if (requested > available) {
    throw new DatasetOptionError(field, `asks for ${requested} examples but ${dataset} has only ${available}`);
  }
  return requested;
}

/** The first `count` examples, without copying. */
export function firstExamples(split: ByteImageSplit, count: number, imageSize: number): ByteImageSplit {
  return { pixels: split.pixels.subarray(0, count * imageSize), labels: split.labels.subarray(0, count), count };
}

/** Applies trainSubset/testSubset, computes the training statistics and normalises both splits. */
export function toLoadedDataset(raw: ByteImageDataset, options: Pick<DatasetLoadOptions, "trainSubset" | "testSubset">): LoadedDataset {
  const [height, width, channels] = raw.inputShape;
  const imageSize = height * width * channels;
  const train = firstExamples(raw.train, subsetCount("data.trainSubset", options.trainSubset, raw.train.count, raw.name), imageSize);
  const test = firstExamples(raw.test, subsetCount("data.testSubset", options.testSubset, raw.test.count, raw.name), imageSize);
  const normalisation = channelStatistics(train.pixels, channels);
  return {
    name: raw.name,
    inputShape: [height, width, channels],
    numClasses: raw.numClasses,
    train: normaliseSplit(train, normalisation),
    test: normaliseSplit(test, normalisation),
    normalisation,
  };
}

function normaliseSplit(split: ByteImageSplit, statistics: ChannelStatistics): DatasetSplit {
  const labels = sharedInt32Array(split.count);
  labels.set(split.labels);
  return { images: normaliseBytes(split.pixels, statistics), labels, count: split.count };
}
