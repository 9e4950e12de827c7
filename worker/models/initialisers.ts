/**
 * The seeded weight initialisations `model.init` names, independent of tf's own initialisers and
 * of the backend. Both give zero BatchNorm shifts and means and unit scales and variances.
 *
 * - kaiming-normal (open_lth's; the default): kernels N(0, 2/fan_in), zero biases.
 * - torch-default (PyTorch's nn.Linear and nn.Conv2d reset_parameters): kernels from
 *   kaiming_uniform_(a=√5), i.e. U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1+a²)), so
 *   b = 1/√fan_in; biases U(−1/√fan_in, 1/√fan_in) with the fan_in of the layer's kernel.
 */
import type { ModelInit } from "../../schema/config.js";
import type { Random } from "../engine/rng.js";
import type { WeightEntry } from "../engine/weights.js";

export const DEFAULT_MODEL_INIT: ModelInit = "kaiming-normal";

/** Inputs feeding each output of a kernel: all dimensions but the last (Dense [in, out], Conv2D [h, w, in, out]). */
export function fanIn(kernel: Pick<WeightEntry, "size" | "shape">): number {
  return kernel.size / kernel.shape[kernel.shape.length - 1]!;
}

/** Every entry's initial values, drawing from `random` in layout order. */
export function initialise(init: ModelInit, entries: readonly WeightEntry[], random: Random): Float32Array[] {
  const kernelOf = (layer: string) => entries.find((e) => e.layer === layer && e.role === "kernel");
  return entries.map((entry) => {
    const values = new Float32Array(entry.size);
    switch (entry.role) {
      case "kernel": {
        const fan = fanIn(entry);
        if (init === "kaiming-normal") {
          const std = Math.sqrt(2 / fan);
          for (let j = 0; j < values.length; j++) values[j] = random.nextNormal() * std;
        } else {
          fillUniform(values, 1 / Math.sqrt(fan), random);
        }
        break;
      }
      case "bias": {
        const kernel = kernelOf(entry.layer);
        if (init === "torch-default" && kernel) fillUniform(values, 1 / Math.sqrt(fanIn(kernel)), random);
        break;
      }
      case "gamma":
      case "moving-variance":
        values.fill(1);
        break;
      default:
        break;
    }
    return values;
  });
}

function fillUniform(values: Float32Array, bound: number, random: Random): void {
  for (let j = 0; j < values.length; j++) values[j] = (2 * random.next() - 1) * bound;
}
