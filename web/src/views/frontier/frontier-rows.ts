/** One plotted point of the frontier view: what the chart shows, the data table lists and the CSV holds. */
export interface FrontierRow {
  series: string;
  cycle: number;
  sparsity: number;
  /** Of the averaged model; the group's mean for groups. */
  accuracy: number;
  /** Sample std over the group's experiments; null for single experiments or n = 1. */
  accuracyStd: number | null;
  n: number;
  bestParticle: number | null;
  /** On the x-axis shown (sparsity for remaining weights; the group's mean for groups); null where not profiled. */
  x: number | null;
}

export interface PlotColumns {
  cycle: number[];
  sparsity: number[];
  accuracy: number[];
  particleAccuracies: Array<Array<number | null>>;
  /** The x-axis asked for, by cycle. */
  x: Array<number | null>;
}

export function experimentRows(series: string, plot: PlotColumns): FrontierRow[] {
  return plot.cycle.map((cycle, i) => {
    const particles = (plot.particleAccuracies[i] ?? []).filter((a): a is number => a !== null);
    return { series, cycle, sparsity: plot.sparsity[i]!, accuracy: plot.accuracy[i]!, accuracyStd: null, n: 1, bestParticle: particles.length ? Math.max(...particles) : null, x: plot.x[i] ?? null };
  });
}

const CSV_COLUMNS = ["series", "cycle", "sparsity", "remaining_weights", "accuracy", "accuracy_std", "n", "best_particle"];

function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** With `axis` (other than sparsity) its values come as one more column of that name. */
export function rowsToCsv(rows: FrontierRow[], axis?: string): string {
  const extra = axis && axis !== "sparsity" ? [axis] : [];
  const lines = [[...CSV_COLUMNS, ...extra].join(",")];
  for (const r of rows) lines.push([r.series, r.cycle, r.sparsity, 1 - r.sparsity, r.accuracy, r.accuracyStd, r.n, r.bestParticle, ...(extra.length ? [r.x] : [])].map(csvField).join(","));
  return `${lines.join("\n")}\n`;
}
