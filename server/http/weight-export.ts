/**
 * GET /export/weights.npz, /export/weights.safetensors, /export/masks.npz, /export/masks.safetensors
 * ?experiment=ID&cycle=K[&dense=1] — a cycle's averaged model, converted on the fly from the stored
 * artifacts, with the read authorisation and JSON errors of the other exports.
 *
 * Weights: one float32 array per weight tensor, named as the model names it (`fc1/kernel`,
 * `fc1/bias`, …), in TF.js layout (Dense kernels [in, out], Conv2D kernels [h, w, in, out]), pruned
 * entries exactly 0. By default the file is the sparse model: beside each prunable kernel its mask
 * as a boolean array `<name>.mask` (true = the weight survives), so a surviving weight that happens
 * to be 0 is told apart from a pruned one. `dense=1` leaves the masks out: the plain dense copy.
 * Masks: one boolean array per prunable kernel, named as the kernel.
 */
import type { Express, Request, Response } from "express";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import { loadCycleWeights, type CycleWeights } from "../exports/cycle-weights.js";
import { boolTensor, float32Tensor, type NamedTensor } from "../exports/named-tensor.js";
import { encodeNpz } from "../exports/npz-file.js";
import { encodeSafetensors } from "../exports/safetensors-file.js";
import { InvalidInputError } from "../services/errors.js";
import { exportRoute, integerParameter, queryValue, type ExportOptions } from "./exports.js";

export interface WeightExportOptions extends ExportOptions {
  store: ArtifactStore;
}

type Content = "weights" | "masks";
type TensorFormat = "npz" | "safetensors";

export function mountWeightExports(app: Express, options: WeightExportOptions): void {
  for (const content of ["weights", "masks"] as const) {
    for (const format of ["npz", "safetensors"] as const) {
      app.get(`/export/${content}.${format}`, exportRoute(options, `exporting ${content}`, (req, res) => sendTensors(options, req, res, content, format)));
    }
  }
}

async function sendTensors(options: WeightExportOptions, req: Request, res: Response, content: Content, format: TensorFormat): Promise<void> {
  const experiment = queryValue(req, "experiment");
  if (experiment === undefined) throw InvalidInputError.single("experiment", "is required (an experiment id)");
  const cycleText = queryValue(req, "cycle");
  if (cycleText === undefined) throw InvalidInputError.single("cycle", "is required (a cycle index)");
  const dense = booleanParameter(queryValue(req, "dense"), "dense");
  if (content === "masks" && dense) throw InvalidInputError.single("dense", "applies to weights only");
  const weights = await loadCycleWeights(options.dataSource.manager, options.store, experiment, integerParameter(cycleText, "cycle"));
  const tensors = content === "weights" ? weightTensors(weights, dense) : maskTensors(weights);
  const metadata = { format: "swamp", content, experiment: weights.experimentId, cycle: String(weights.cycle), sparsity: String(weights.sparsity), layout: "tfjs" };
  const body = format === "npz" ? encodeNpz(tensors) : encodeSafetensors(tensors, metadata);
  res.status(200);
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Disposition", `attachment; filename="${weights.experimentId}-cycle-${weights.cycle}-${content}.${format}"`);
  res.setHeader("Content-Length", String(body.length));
  res.end(body);
}

function weightTensors(weights: CycleWeights, dense: boolean): NamedTensor[] {
  return weights.tensors.flatMap((tensor) => {
    const values = float32Tensor(tensor.name, tensor.shape, tensor.values);
    return tensor.keep && !dense ? [values, boolTensor(`${tensor.name}.mask`, tensor.shape, tensor.keep)] : [values];
  });
}

function maskTensors(weights: CycleWeights): NamedTensor[] {
  return weights.tensors.flatMap((tensor) => (tensor.keep ? [boolTensor(tensor.name, tensor.shape, tensor.keep)] : []));
}

function booleanParameter(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw InvalidInputError.single(name, `must be 1 or 0 (true or false), got "${value.slice(0, 40)}"`);
}
