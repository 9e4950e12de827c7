/**
 * Weight averaging: the running stochastic weight average a particle keeps over its snapshots,
 * and the uniform average of several particles' results. Sums are kept in float64 so the
 * average of many float32 snapshots does not drift with their order.
 */
import type { WeightValues } from "./weights.js";

export class RunningAverage {
  private sums: Float64Array[] | undefined;
  private snapshots = 0;

  get count(): number {
    return this.snapshots;
  }

  add(values: WeightValues): void {
    if (!this.sums) this.sums = values.map((v) => new Float64Array(v.length));
    if (values.length !== this.sums.length) throw new Error(`snapshot has ${values.length} tensors, average has ${this.sums.length}`);
    values.forEach((v, i) => {
      const sum = this.sums![i]!;
      if (v.length !== sum.length) throw new Error(`snapshot tensor ${i} has ${v.length} values, average has ${sum.length}`);
      for (let j = 0; j < v.length; j++) sum[j]! += v[j]!;
    });
    this.snapshots++;
  }

  average(): WeightValues {
    if (!this.sums || this.snapshots === 0) throw new Error("no snapshot has been averaged yet");
    return this.sums.map((sum) => {
      const out = new Float32Array(sum.length);
      for (let j = 0; j < sum.length; j++) out[j] = sum[j]! / this.snapshots;
      return out;
    });
  }
}

export function uniformAverage(models: WeightValues[]): WeightValues {
  if (models.length === 0) throw new Error("cannot average zero models");
  if (models.length === 1) return models[0]!.map((v) => Float32Array.from(v));
  const average = new RunningAverage();
  for (const model of models) average.add(model);
  return average.average();
}
