/**
 * The averaged sparse model in TF.js's standard layers-model layout (`model.json` + one weights
 * file), loadable with `tf.loadLayersModel`. Saving to `file://` needs tfjs-node, so the artifacts
 * are captured in memory and the caller writes them.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ModelSession } from "../engine/model-session.js";
import type { WeightValues } from "../engine/weights.js";

export const TFJS_WEIGHTS_FILE = "weights.bin";

export interface TfjsModelFiles {
  modelJson: string;
  weightsBin: Uint8Array;
}

export async function exportLayersModel(session: ModelSession, weights: WeightValues): Promise<TfjsModelFiles> {
  session.writeWeights(weights);
  let captured: tf.io.ModelArtifacts | undefined;
  await session.model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!captured?.weightSpecs || !captured.weightData) throw new Error("model export produced no weights");
  const chunks = Array.isArray(captured.weightData) ? captured.weightData : [captured.weightData];
  const weightsBin = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
  const modelJson = JSON.stringify({
    format: captured.format ?? "layers-model",
    generatedBy: captured.generatedBy,
    convertedBy: captured.convertedBy ?? null,
    modelTopology: captured.modelTopology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: captured.weightSpecs }],
  });
  return { modelJson, weightsBin };
}
