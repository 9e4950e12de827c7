/** The final cycle → sparsity → accuracy table of `swamp run`. */
import type { CycleSummary } from "../worker/run/summaries.js";

export function formatResultsTable(cycles: CycleSummary[]): string {
  const percent = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
  const header = ["cycle", "sparsity", "accuracy", "loss", "best particle", "particles", "seconds"];
  const rows = cycles.map((c) => [
    String(c.cycle),
    percent(c.sparsity, 1),
    percent(c.accuracy),
    c.loss.toFixed(4),
    percent(Math.max(...c.particleAccuracies)),
    c.particleAccuracies.map((a) => percent(a)).join(" "),
    c.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 || i === 5 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
