/** Checks shared by every model builder, so a bad shape fails with a sentence, not deep in tfjs. */
import type { ModelBuildOptions } from "./model.js";

/** Refuses non-integer or non-positive dimensions, fewer than 2 classes, or inputs smaller than `minSide`. */
export function checkBuildOptions(model: string, options: ModelBuildOptions, minSide = 1): void {
  const [height, width, channels] = options.inputShape;
  for (const [field, value] of [["height", height], ["width", width], ["channels", channels]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${model}: input ${field} must be a positive integer (got ${value})`);
  }
  if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
    throw new Error(`${model}: numClasses must be an integer of at least 2 (got ${options.numClasses})`);
  }
  if (height < minSide || width < minSide) {
    throw new Error(`${model}: needs inputs of at least ${minSide}×${minSide} (got ${height}×${width})`);
  }
}
