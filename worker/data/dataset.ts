/**
 * What a data set gives the engine. Images are stored normalised, channels last (NHWC flattened),
 * in Float32Arrays backed by SharedArrayBuffers so worker threads can read them without copies.
 */
import type { DatasetName } from "../../schema/config.js";

export interface DatasetSplit {
  /** count × height × width × channels values, normalised by the training images' statistics. */
  images: Float32Array;
  /** count class indices in [0, numClasses). */
  labels: Int32Array;
  count: number;
}

export interface LoadedDataset {
  name: DatasetName;
  /** [height, width, channels] */
  inputShape: [number, number, number];
  numClasses: number;
  train: DatasetSplit;
  test: DatasetSplit;
  /** Per-channel statistics of the training images used, applied to both splits. */
  normalisation: { mean: number[]; std: number[] };
}

export interface DatasetLoadOptions {
  /** Directory of the data set's files; the definition's default when absent. */
  dir?: string;
  trainSubset?: number;
  testSubset?: number;
}

export interface DatasetDefinition {
  name: DatasetName;
  /** Where the files are looked for when the config gives no `data.dir`; absent for generated sets. */
  defaultDir?: string;
  /** Whether random crop + flip makes sense for it (natural images). */
  supportsAugmentation: boolean;
  load(options: DatasetLoadOptions): Promise<LoadedDataset>;
}

/** A missing or malformed data file: names the file and what was wrong. */
export class DatasetFileError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = "DatasetFileError";
  }
}

/** A data option that cannot be honoured (e.g. a subset larger than the data set): names the config field. */
export class DatasetOptionError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "DatasetOptionError";
  }
}
