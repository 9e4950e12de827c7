/**
 * GET /export/analysis/<id>.json (the whole analysis: kind, input, seed, status, timings, result)
 * and /export/analysis/<id>.csv (its result as a table, one layout per kind), with the read
 * authorisation and JSON errors of the other exports (exports.ts).
 */
import type { Express, Request, Response } from "express";
import type { AnalysisResult } from "../../schema/analyses.js";
import type { AnalysisRow } from "../entities/analysis.js";
import { requireAnalysis } from "../services/analyses.js";
import { InvalidInputError, StateConflictError } from "../services/errors.js";
import { csvLine } from "./csv.js";
import { exportRoute, type ExportOptions } from "./exports.js";

export function mountAnalysisExport(app: Express, options: ExportOptions): void {
  app.get("/export/analysis/:file", exportRoute(options, "exporting an analysis", (req, res) => sendAnalysis(options, req, res)));
}

async function sendAnalysis(options: ExportOptions, req: Request, res: Response): Promise<void> {
  const match = /^([1-9][0-9]{0,9})\.(csv|json)$/.exec(String(req.params.file ?? ""));
  if (!match) throw InvalidInputError.single("id", "must be <analysis id>.csv or <analysis id>.json");
  const row = await requireAnalysis(options.dataSource.manager, match[1]!);
  const format = match[2] as "csv" | "json";
  if (format === "csv" && (row.status !== "succeeded" || !row.result)) {
    res.status(409).json({ error: { message: `analysis ${row.id} is ${row.status}: only a succeeded analysis has a result table`, field: "id" } });
    return;
  }
  res.setHeader("Content-Type", format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8");
  res.setHeader("Content-Disposition", `attachment; filename="analysis-${row.id}-${row.kind}.${format}"`);
  if (format === "json") {
    res.end(JSON.stringify(analysisDocument(row)));
    return;
  }
  res.end(analysisCsv(row).map(csvLine).join(""));
}

export function analysisDocument(row: AnalysisRow): Record<string, unknown> {
  const { id, experimentId, experimentIds, kind, input, seed, status, progress, result, error, owner, workerId, createdAt, startedAt, completedAt, seconds } = row;
  return { id: String(id), experimentId, experimentIds, kind, input, seed, status, progress, error, owner, workerId, createdAt, startedAt, completedAt, seconds, result };
}

/** The result as rows, header first. */
export function analysisCsv(row: AnalysisRow): unknown[][] {
  const result = row.result as unknown;
  switch (row.kind) {
    case "interpolate": {
      const { pairs } = result as AnalysisResult<"interpolate">;
      const rows: unknown[][] = [["a", "b", "mask", "alpha", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "barrier", "test_barrier"]];
      for (const pair of pairs) {
        pair.alphas.forEach((alpha, i) => rows.push([pair.a, pair.b, pair.mask, alpha, pair.trainLoss[i], pair.trainAccuracy[i], pair.testLoss[i], pair.testAccuracy[i], pair.barrier, pair.testBarrier]));
      }
      return rows;
    }
    case "plane": {
      const plane = result as AnalysisResult<"plane">;
      const rows: unknown[][] = [["x", "y", "train_loss", "test_accuracy"]];
      plane.ys.forEach((y, j) => plane.xs.forEach((x, i) => rows.push([x, y, plane.trainLoss[j]![i], plane.testAccuracy[j]![i]])));
      return rows;
    }
    case "flatness": {
      const flatness = result as AnalysisResult<"flatness">;
      const columns = ["model", "trace", "traceStdErr", "probes", "topEigenvalue", "powerIterations", "sharpness", "sharpnessStdErr", "rho", "loss", "weights", "examples", "hessianVectorProducts", "step"] as const;
      return [columns.map(snakeCase), columns.map((column) => flatness[column])];
    }
    case "ensemble": {
      const ensemble = result as AnalysisResult<"ensemble">;
      const rows: unknown[][] = [["model", "accuracy", "loss"]];
      ensemble.members.forEach((member, i) => rows.push([member, ensemble.memberAccuracies[i], ensemble.memberLosses[i]]));
      rows.push(["(ensemble of predicted probabilities)", ensemble.accuracy, ensemble.loss]);
      if (ensemble.averagedWeightsAccuracy !== null) rows.push(["(averaged weights)", ensemble.averagedWeightsAccuracy, ensemble.averagedWeightsLoss]);
      return rows;
    }
    case "mask-overlap": {
      const overlap = result as AnalysisResult<"mask-overlap">;
      const rows: unknown[][] = [["layer", "jaccard", "hamming", "alive_a", "alive_b", "intersection", "union", "total"]];
      for (const layer of [...overlap.layers, { ...overlap, layer: "(all)" }]) rows.push([layer.layer, layer.jaccard, layer.hamming, layer.aliveA, layer.aliveB, layer.intersection, layer.union, layer.total]);
      return rows;
    }
    default:
      throw new StateConflictError(`analysis ${row.id} has an unknown kind ${JSON.stringify(row.kind)}`);
  }
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
