/**
 * A model's weights as plain arrays, by position in `model.weights` order (trainable first, then
 * BatchNorm moving statistics). Positions, not tf's generated names, identify weights, because
 * those names carry a process-wide counter.
 */
export interface WeightEntry {
  /** The weight's name without tf's uniqueness suffix, e.g. `fc1/kernel`. */
  name: string;
  /** The explicit name of the layer that owns it. */
  layer: string;
  shape: number[];
  size: number;
  trainable: boolean;
  /** Dense and Conv2D kernels, unless the model or the config leaves the layer dense. */
  prunable: boolean;
  role: "kernel" | "bias" | "gamma" | "beta" | "moving-mean" | "moving-variance" | "other";
}

export interface WeightLayout {
  entries: WeightEntry[];
  /** Positions of the prunable entries, ascending. */
  prunable: number[];
}

/** Values for every entry of a layout, in layout order. */
export type WeightValues = Float32Array[];

export function cloneWeights(values: WeightValues): WeightValues {
  return values.map((v) => Float32Array.from(v));
}

export function checkWeightsMatchLayout(values: WeightValues, layout: WeightLayout, what: string): void {
  if (values.length !== layout.entries.length) {
    throw new Error(`${what}: expected ${layout.entries.length} weight tensors, got ${values.length}`);
  }
  values.forEach((v, i) => {
    const entry = layout.entries[i]!;
    if (v.length !== entry.size) throw new Error(`${what}: weight ${i} (${entry.name}) has ${v.length} values, expected ${entry.size}`);
  });
}
