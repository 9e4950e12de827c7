import { packFloats, packIntegers } from "../../schema/packed-columns.js";
import type { MetricColumnSeries } from "./metric-window.js";

/** The packed fields of `MetricColumns`, each computed from its plain column (schema/packed-columns.ts). */
export const PACKED_COLUMNS = {
  packedSteps: (series: MetricColumnSeries) => packIntegers(series.steps, "steps"),
  packedGlobalSteps: (series: MetricColumnSeries) => packIntegers(series.globalSteps, "globalSteps"),
  packedEpochs: (series: MetricColumnSeries) => packFloats(series.epochs),
  packedValues: (series: MetricColumnSeries) => packFloats(series.values),
  packedTimes: (series: MetricColumnSeries) => packIntegers(series.times, "times"),
} as const;

export type PackedColumnField = keyof typeof PACKED_COLUMNS;

export function isPackedColumnField(field: string): field is PackedColumnField {
  return Object.hasOwn(PACKED_COLUMNS, field);
}

/** Series are shared by every subscriber of a window: each packed column is computed once per series. */
const packedBySeries = new WeakMap<MetricColumnSeries, Map<PackedColumnField, string>>();

export function packedColumn(series: MetricColumnSeries, field: PackedColumnField): string {
  let packed = packedBySeries.get(series);
  if (!packed) packedBySeries.set(series, (packed = new Map()));
  let text = packed.get(field);
  if (text === undefined) packed.set(field, (text = PACKED_COLUMNS[field](series)));
  return text;
}
