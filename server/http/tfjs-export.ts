/**
 * GET /export/tfjs/:experiment/:cycle/model.json and …/weights.bin — a cycle's averaged model for
 * `tf.loadLayersModel(url)`, made on request from the stored weights (no TF.js copy is stored;
 * model.json names `weights.bin` beside it, so the loader finds the second route by itself).
 * The same read authorisation and JSON errors as the other exports.
 */
import type { Express, Request, Response } from "express";
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { loadCycleWeights } from "../exports/cycle-weights.js";
import { NotFoundError } from "../services/errors.js";
import { requireUuid } from "../services/validation.js";
import { exportRoute, integerParameter, type ExportOptions } from "./exports.js";

export interface TfjsExportOptions extends ExportOptions {
  store: ArtifactStore;
}

interface ModelFiles {
  modelJson: string;
  weightsBin: Uint8Array;
}

/** The last few models made: a loader asks for model.json, then weights.bin of the same cycle. */
const RECENT_MODELS = 4;

export function tfjsModelPath(experimentId: string, cycle: number, file: "model.json" | "weights.bin"): string {
  return `/export/tfjs/${experimentId}/${cycle}/${file}`;
}

export function mountTfjsExport(app: Express, options: TfjsExportOptions): void {
  const recent = new Map<string, Promise<ModelFiles>>();
  const filesOf = (experimentId: string, cycle: number): Promise<ModelFiles> => {
    const key = `${experimentId}/${cycle}`;
    let files = recent.get(key);
    if (!files) {
      files = makeModel(options, experimentId, cycle);
      recent.set(key, files);
      files.catch(() => recent.delete(key));
      if (recent.size > RECENT_MODELS) recent.delete(recent.keys().next().value!);
    }
    return files;
  };
  for (const file of ["model.json", "weights.bin"] as const) {
    app.get(
      `/export/tfjs/:experiment/:cycle/${file}`,
      exportRoute(options, "exporting a TF.js model", async (req: Request, res: Response) => {
        const experimentId = requireUuid(String(req.params.experiment), "experiment");
        const cycle = integerParameter(String(req.params.cycle), "cycle");
        const files = await filesOf(experimentId, cycle);
        const body = file === "model.json" ? Buffer.from(files.modelJson, "utf8") : Buffer.from(files.weightsBin);
        res.status(200);
        res.setHeader("Content-Type", file === "model.json" ? "application/json" : "application/octet-stream");
        res.setHeader("Content-Length", String(body.length));
        res.end(body);
      }),
    );
  }
}

async function makeModel(options: TfjsExportOptions, experimentId: string, cycle: number): Promise<ModelFiles> {
  const weights = await loadCycleWeights(options.dataSource.manager, options.store, experimentId, cycle);
  const rows: Array<{ config: ExperimentConfig }> = await options.dataSource.query(`SELECT config FROM experiments WHERE id = $1`, [experimentId]);
  if (rows.length === 0) throw new NotFoundError(`no experiment with id ${experimentId}`);
  // The engine (and TF.js) load only when a model is first asked for.
  const { tfjsModelFiles } = await import("../../worker/formats/tfjs-on-request.js");
  return tfjsModelFiles(rows[0]!.config, weights.tensors.map((t) => t.values));
}
