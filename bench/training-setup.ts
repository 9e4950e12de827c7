/**
 * What the benches that train share: a model session with seeded initial weights under a seeded
 * random mask, seeded random data, and the engine's SGD settings they all train with.
 */
import { requireExperimentConfig } from "../schema/config.js";
import { applyMask, type Mask } from "../worker/engine/mask.js";
import { ModelSession } from "../worker/engine/model-session.js";
import { Random } from "../worker/engine/rng.js";

/** SGD with momentum 0.9 and weight decay 1e-4 at a constant learning rate, as train() takes it. */
export const BENCH_SGD = { momentum: 0.9, weightDecay: 1e-4, learningRate: () => 0.01 };

/**
 * Each prunable weight kept with its layer's probability (one fraction for all layers, or one per
 * prunable layer in layout order); undefined when every layer keeps all.
 */
export function randomMask(session: ModelSession, kept: number | readonly number[]): Mask | undefined {
  const prunable = session.layout.prunable;
  const byLayer = typeof kept === "number" ? prunable.map(() => kept) : kept;
  if (byLayer.length !== prunable.length) throw new Error(`kept: ${byLayer.length} fractions for ${prunable.length} prunable layers`);
  if (byLayer.every((k) => k >= 1)) return undefined;
  const random = Random.derive(0, ["bench-native-mask"]);
  return prunable.map((position, layer) => Uint8Array.from({ length: session.layout.entries[position]!.size }, () => (random.next() < byLayer[layer]! ? 1 : 0)));
}

/** A session of the model (10 classes) holding its seed-0 initial weights, masked when `kept` says so. */
export function maskedBenchSession(name: string, model: string, batchNorm: boolean, batchSize: number, inputShape: [number, number, number], kept?: number | readonly number[]): { session: ModelSession; mask: Mask | undefined } {
  const config = requireExperimentConfig({ name, data: { name: "synthetic" }, model: { name: model, batchNorm }, method: { name: "imp" }, training: { batchSize } });
  const session = ModelSession.build(config, inputShape, 10);
  const weights = session.initialWeights(0);
  const mask = kept !== undefined ? randomMask(session, kept) : undefined;
  if (mask) applyMask(weights, mask, session.layout);
  session.writeWeights(weights);
  return { session, mask };
}

/** `count` seeded random examples (normal pixels, uniform labels over 10 classes). */
export function randomExamples(count: number, inputShape: [number, number, number], label: string): { images: Float32Array; labels: Int32Array; count: number } {
  const random = Random.derive(0, [label]);
  const size = inputShape[0] * inputShape[1] * inputShape[2];
  const images = Float32Array.from({ length: count * size }, () => random.nextNormal());
  const labels = Int32Array.from({ length: count }, () => random.nextInt(10));
  return { images, labels, count };
}
