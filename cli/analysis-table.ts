/** The readable form of each analysis result that `swamp analyze` prints without --json. */
import type { AnalysisKind, AnalysisResult } from "../schema/analyses.js";

const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const FORMATTERS: { [K in AnalysisKind]: (result: AnalysisResult<K>) => string } = {
  interpolate: (result) =>
    result.pairs
      .map((pair) =>
        [
          `${pair.a}  →  ${pair.b}  (mask: ${pair.mask})`,
          `barrier ${pair.barrier.toFixed(4)} (train loss), ${pair.testBarrier.toFixed(4)} (test loss)`,
          table(
            ["alpha", "train loss", "train acc", "test loss", "test acc"],
            pair.alphas.map((alpha, i) => [alpha.toFixed(3), pair.trainLoss[i]!.toFixed(4), percent(pair.trainAccuracy[i]!), pair.testLoss[i]!.toFixed(4), percent(pair.testAccuracy[i]!)]),
          ),
        ].join("\n"),
      )
      .join("\n\n"),
  plane: (result) => {
    const losses = result.trainLoss.flat();
    const accuracies = result.testAccuracy.flat();
    return [
      `plane through ${result.basis.models.join(", ")}`,
      table(
        ["model", "x", "y"],
        result.basis.models.map((label, i) => [label, result.points[i]![0].toFixed(4), result.points[i]![1].toFixed(4)]),
      ),
      `grid ${result.xs.length}×${result.ys.length}: x ${result.xs[0]!.toFixed(3)}…${result.xs[result.xs.length - 1]!.toFixed(3)}, y ${result.ys[0]!.toFixed(3)}…${result.ys[result.ys.length - 1]!.toFixed(3)}`,
      `train loss ${Math.min(...losses).toFixed(4)}…${Math.max(...losses).toFixed(4)} (${result.trainExamples} images); test accuracy ${percent(Math.min(...accuracies))}…${percent(Math.max(...accuracies))} (${result.testExamples} images)`,
      "(--json gives the full grids)",
    ].join("\n");
  },
  flatness: (result) =>
    [
      `model            ${result.model}`,
      `loss             ${result.loss.toFixed(5)} on ${result.examples} training images, ${result.weights} surviving weights`,
      `Hessian trace    ${result.trace.toPrecision(6)} ± ${result.traceStdErr.toPrecision(3)} (Hutchinson, ${result.probes} probes)`,
      `top eigenvalue   ${result.topEigenvalue.toPrecision(6)} (${result.powerIterations} power iterations)`,
      `sharpness        ${result.sharpness.toPrecision(6)} ± ${result.sharpnessStdErr.toPrecision(3)} (rho ${result.rho})`,
      `Hessian-vector products by ${result.hessianVectorProducts} (step ${result.step} of the weight norm)`,
    ].join("\n"),
  ensemble: (result) =>
    [
      table(
        ["member", "test acc", "test loss"],
        result.members.map((label, i) => [label, percent(result.memberAccuracies[i]!), result.memberLosses[i]!.toFixed(4)]),
      ),
      `ensemble (mean probabilities)  ${percent(result.accuracy)}  loss ${result.loss.toFixed(4)}`,
      result.averagedWeightsAccuracy === null
        ? "averaged weights: the members' masks differ"
        : `averaged weights              ${percent(result.averagedWeightsAccuracy)}  loss ${result.averagedWeightsLoss!.toFixed(4)}`,
    ].join("\n"),
  "mask-overlap": (result) =>
    [
      `${result.a}  vs  ${result.b}`,
      table(
        ["layer", "jaccard", "hamming", "alive A", "alive B", "both", "total"],
        [...result.layers, { layer: "all", ...result }].map((l) => [l.layer, l.jaccard.toFixed(4), String(l.hamming), String(l.aliveA), String(l.aliveB), String(l.intersection), String(l.total)]),
      ),
    ].join("\n"),
};

export function formatAnalysis<K extends AnalysisKind>(kind: K, result: AnalysisResult<K>): string {
  return (FORMATTERS[kind] as (result: AnalysisResult<K>) => string)(result);
}
