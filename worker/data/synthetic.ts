/**
 * `synthetic`: a seeded, generated stand-in for MNIST, for tests and smoke runs. 28×28×1 images
 * (the MNIST geometry, so every model in the registry accepts them) of 10 classes: each class has
 * a prototype made of three Gaussian blobs, and each image is its class prototype plus independent
 * Gaussian pixel noise (σ = 0.7 of the pixel range, clipped), quantised to bytes like a real data
 * set. The classes are separable (the nearest class mean classifies the test images correctly), but
 * the noise makes an MLP work for it: LeNet-300-100 (SGD, lr 0.05, momentum 0.9, batch 64) reached
 * 89% test accuracy after one epoch and 98–99% after four or five.
 *
 * The set is fixed (it does not depend on the experiment seed), like any real data set. It is
 * generated on demand, so trainSubset/testSubset choose how many images there are (default 2,000 and
 * 500, at most 100,000 each), and image i is the same whatever the count.
 */
import { STANDARD_TRAIN_EXAMPLES } from "../../schema/metrics.js";
import { DatasetOptionError, type DatasetDefinition, type DatasetLoadOptions, type LoadedDataset } from "./dataset.js";
import { toLoadedDataset, type ByteImageSplit } from "./byte-images.js";
import { gaussian, mulberry32 } from "./prng.js";

export interface SyntheticOptions {
  trainCount: number;
  testCount: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** Standard deviation of the pixel noise, in units of the [0, 1] pixel range. */
  noise: number;
  seed: number;
}

export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = {
  trainCount: STANDARD_TRAIN_EXAMPLES.synthetic,
  testCount: 500,
  height: 28,
  width: 28,
  channels: 1,
  numClasses: 10,
  noise: 0.7,
  seed: 20_230_524,
};

export const SYNTHETIC_MAX_COUNT = 100_000;
const BLOBS_PER_PROTOTYPE = 3;

/** Class prototypes: numClasses × height × width × channels values in [0, 1]. */
export function syntheticPrototypes(options: SyntheticOptions): Float64Array {
  const { height, width, channels, numClasses } = options;
  const uniform = mulberry32(options.seed);
  const prototypes = new Float64Array(numClasses * height * width * channels);
  for (let k = 0; k < numClasses; k++) {
    for (let c = 0; c < channels; c++) {
      for (let b = 0; b < BLOBS_PER_PROTOTYPE; b++) {
        const cy = (0.15 + 0.7 * uniform()) * height;
        const cx = (0.15 + 0.7 * uniform()) * width;
        const sigma = (0.08 + 0.12 * uniform()) * Math.min(height, width);
        const amplitude = 0.4 + 0.6 * uniform();
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const i = ((k * height + y) * width + x) * channels + c;
            const d2 = (y - cy) ** 2 + (x - cx) ** 2;
            prototypes[i] = Math.min(1, prototypes[i]! + amplitude * Math.exp(-d2 / (2 * sigma * sigma)));
          }
        }
      }
    }
  }
  return prototypes;
}

/** `count` images drawn from one stream; each image consumes the same number of draws. */
function generateSplit(options: SyntheticOptions, prototypes: Float64Array, count: number, streamSeed: number): ByteImageSplit {
  const imageSize = options.height * options.width * options.channels;
  const uniform = mulberry32(streamSeed);
  const normal = gaussian(uniform);
  const pixels = new Uint8Array(count * imageSize);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = Math.floor(uniform() * options.numClasses);
    labels[n] = label;
    const prototype = label * imageSize;
    for (let p = 0; p < imageSize; p++) {
      const value = prototypes[prototype + p]! + options.noise * normal();
      pixels[n * imageSize + p] = Math.round(255 * Math.min(1, Math.max(0, value)));
    }
  }
  return { pixels, labels, count };
}

/** The raw (unnormalised) splits; the train and test streams are derived from the seed. */
export function generateSyntheticSplits(options: SyntheticOptions): { train: ByteImageSplit; test: ByteImageSplit } {
  const prototypes = syntheticPrototypes(options);
  return {
    train: generateSplit(options, prototypes, options.trainCount, (options.seed ^ 0x5bd1e995) >>> 0),
    test: generateSplit(options, prototypes, options.testCount, (options.seed ^ 0x27d4eb2f) >>> 0),
  };
}

/** A LoadedDataset with any geometry; the registry's `synthetic` uses SYNTHETIC_DEFAULTS. */
export function createSyntheticDataset(overrides: Partial<SyntheticOptions> = {}): LoadedDataset {
  const options = { ...SYNTHETIC_DEFAULTS, ...overrides };
  const { train, test } = generateSyntheticSplits(options);
  return toLoadedDataset(
    { name: "synthetic", inputShape: [options.height, options.width, options.channels], numClasses: options.numClasses, train, test },
    {},
  );
}

function requestedCount(field: string, requested: number | undefined, fallback: number): number {
  if (requested === undefined) return fallback;
  if (!Number.isInteger(requested) || requested < 1 || requested > SYNTHETIC_MAX_COUNT) {
    throw new DatasetOptionError(field, `synthetic generates between 1 and ${SYNTHETIC_MAX_COUNT} examples (got ${requested})`);
  }
  return requested;
}

async function load(options: DatasetLoadOptions): Promise<LoadedDataset> {
  if (options.dir !== undefined) throw new DatasetOptionError("data.dir", "synthetic is generated and reads no files: leave data.dir out");
  return createSyntheticDataset({
    trainCount: requestedCount("data.trainSubset", options.trainSubset, SYNTHETIC_DEFAULTS.trainCount),
    testCount: requestedCount("data.testSubset", options.testSubset, SYNTHETIC_DEFAULTS.testCount),
  });
}

export const synthetic: DatasetDefinition = {
  name: "synthetic",
  supportsAugmentation: false,
  load,
};
