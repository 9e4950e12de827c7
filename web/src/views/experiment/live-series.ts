import type uPlot from "uplot";

/**
 * Aligned uPlot columns for one metric key, one series per particle, on the experiment-wide
 * global step. Points arriving in step order are appended to the columns in place; an older step
 * (history replay of another particle) inserts at its place.
 */
export class LiveSeries {
  readonly x: number[] = [];
  readonly series: Array<Array<number | null>>;
  private readonly indexOfStep = new Map<number, number>();

  constructor(readonly seriesCount: number) {
    this.series = Array.from({ length: seriesCount }, () => []);
  }

  get data(): uPlot.AlignedData {
    return [this.x, ...this.series] as uPlot.AlignedData;
  }

  get pointCount(): number {
    return this.series.reduce((sum, column) => sum + column.filter((v) => v !== null).length, 0);
  }

  add(step: number, seriesIndex: number, value: number): void {
    if (seriesIndex < 0 || seriesIndex >= this.seriesCount) return;
    let index = this.indexOfStep.get(step);
    if (index === undefined) {
      const last = this.x.length - 1;
      if (last < 0 || this.x[last]! < step) {
        index = this.x.length;
        this.x.push(step);
        for (const column of this.series) column.push(null);
      } else {
        index = lowerBound(this.x, step);
        this.x.splice(index, 0, step);
        for (const column of this.series) column.splice(index, 0, null);
        for (const [s, i] of this.indexOfStep) if (i >= index) this.indexOfStep.set(s, i + 1);
      }
      this.indexOfStep.set(step, index);
    }
    this.series[seriesIndex]![index] = value;
  }
}

function lowerBound(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
