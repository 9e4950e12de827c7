/**
 * The frontier view's x-axes: remaining weights, or what the model costs to run (the cycles'
 * inference profiles, with the faster of the dense and sparse kernels; GraphQL's FrontierAxis).
 */
export type AxisName = "sparsity" | "latency" | "throughput" | "bytes" | "flops";

export interface FrontierAxis {
  name: AxisName;
  /** The GraphQL FrontierAxis value. */
  graphql: string;
  /** In the axis picker. */
  choice: string;
  /** Under the chart. */
  label: string;
  /** The table's column heading. */
  column: string;
  /** The value plotted, from the row's x (sparsity for the sparsity axis): null leaves the point out. */
  plotted: (x: number | null) => number | null;
  format: (x: number | null) => string;
  /** Remaining weights fall to the right, as pruning papers plot them; costs rise to the right. */
  direction: 1 | -1;
}

const compact = (value: number, unit: string) => {
  const prefixes: Array<[number, string]> = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  const [scale, prefix] = prefixes.find(([s]) => value >= s) ?? [1, ""];
  return `${+(value / scale).toPrecision(3)} ${prefix}${unit}`;
};
const orDash = (format: (x: number) => string) => (x: number | null) => (x === null ? "–" : format(x));

export const FRONTIER_AXES: FrontierAxis[] = [
  {
    name: "sparsity", graphql: "SPARSITY", choice: "remaining weights", label: "remaining weights (%, log scale)", column: "Remaining",
    plotted: (x) => (x === null ? null : (1 - x) * 100), format: orDash((x) => `${+((1 - x) * 100).toPrecision(3)}%`), direction: -1,
  },
  {
    name: "latency", graphql: "LATENCY", choice: "latency (batch 1)", label: "latency, batch 1 (ms, log scale)", column: "Latency",
    plotted: (x) => x, format: orDash((x) => `${+x.toPrecision(3)} ms`), direction: 1,
  },
  {
    name: "throughput", graphql: "THROUGHPUT", choice: "throughput (batch 256)", label: "throughput, batch 256, one thread (examples/s, log scale)", column: "Throughput",
    plotted: (x) => x, format: orDash((x) => `${compact(x, "")}/s`), direction: 1,
  },
  {
    name: "bytes", graphql: "BYTES", choice: "model size (sparse file)", label: "compact sparse file (bytes, log scale)", column: "Size",
    plotted: (x) => x, format: orDash((x) => compact(x, "B")), direction: 1,
  },
  {
    name: "flops", graphql: "FLOPS", choice: "FLOPs per example", label: "FLOPs per example over the kept weights (log scale)", column: "FLOPs",
    plotted: (x) => x, format: orDash((x) => compact(x, "FLOP")), direction: 1,
  },
];

export function frontierAxis(name: string | null): FrontierAxis {
  return FRONTIER_AXES.find((axis) => axis.name === name) ?? FRONTIER_AXES[0]!;
}
