/** The seeded per-batch augmentation a config asks for, or none. */
import { augmentBatch } from "../data/augment.js";
import type { EngineContext } from "./context.js";
import { Random, type SeedPath } from "./rng.js";

export function augmenterFor(context: EngineContext, path: SeedPath): ((images: Float32Array, count: number) => void) | undefined {
  if (!context.config.data.augment) return undefined;
  const random = Random.derive(context.config.seed, path);
  const next = () => random.next();
  return (images, count) => augmentBatch(images, count, context.dataset.inputShape, next);
}
