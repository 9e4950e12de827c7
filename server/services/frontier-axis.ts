/**
 * What a frontier can be plotted against: sparsity, or what the model costs to run (from the
 * cycles' inference profiles, stored as frontier columns by rebuildFrontier).
 */
import type { FrontierColumns } from "../entities/experiment-frontier.js";

export const FRONTIER_AXES = ["sparsity", "latency", "throughput", "bytes", "flops"] as const;
export type FrontierAxis = (typeof FRONTIER_AXES)[number];

const INFERENCE_COLUMNS = ["latencyMs", "throughput", "sparseBytes", "sparseFlops"] as const;

const AXIS_COLUMNS: Record<FrontierAxis, "sparsity" | (typeof INFERENCE_COLUMNS)[number]> = {
  sparsity: "sparsity",
  latency: "latencyMs",
  throughput: "throughput",
  bytes: "sparseBytes",
  flops: "sparseFlops",
};

/** A stored frontier with every inference column, null-filled where it was stored without them. */
export function withInferenceColumns(plot: FrontierColumns): Required<FrontierColumns> {
  const filled = { ...plot } as Required<FrontierColumns>;
  for (const column of INFERENCE_COLUMNS) if (!Array.isArray(filled[column])) filled[column] = plot.cycle.map(() => null);
  return filled;
}

/** The axis's value at each cycle of the frontier (null where the cycle has no profile). */
export function axisValues(plot: FrontierColumns, axis: FrontierAxis): Array<number | null> {
  return withInferenceColumns(plot)[AXIS_COLUMNS[axis]];
}
