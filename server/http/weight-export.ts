/**
 * GET /export/weights.npz, /export/weights.safetensors, /export/masks.npz, /export/masks.safetensors
 * ?experiment=ID&cycle=K[&dense=1] — a cycle's averaged model, converted on the fly from the stored
 * artifacts, with the same read authorisation as GraphQL queries.
 *
 * Weights: one float32 array per weight tensor, named as the model names it (`fc1/kernel`,
 * `fc1/bias`, …), in TF.js layout (Dense kernels [in, out], Conv2D kernels [h, w, in, out]), pruned
 * entries exactly 0. By default the file is the sparse model: beside each prunable kernel its mask
 * as a boolean array `<name>.mask` (true = the weight survives), so a surviving weight that happens
 * to be 0 is told apart from a pruned one. `dense=1` leaves the masks out: the plain dense copy.
 * Masks: one boolean array per prunable kernel, named as the kernel.
 */
import type { Request, RequestHandler, Response } from "express";
import type { ArtifactContentStore } from "../artifacts/artifact-content-store.js";
import { loadCycleWeights, type CycleWeights } from "../exports/cycle-weights.js";
import { boolTensor, float32Tensor, type NamedTensor } from "../exports/named-tensor.js";
import { encodeNpz } from "../exports/npz-file.js";
import { encodeSafetensors } from "../exports/safetensors-file.js";
import { InvalidInputError, NotFoundError } from "../services/errors.js";
import { checkReadAccess, type ReadAccessOptions } from "./read-access.js";

export interface WeightExportOptions extends ReadAccessOptions {
  store: ArtifactContentStore;
  log: (line: string) => void;
}

export type WeightExportContent = "weights" | "masks";
export type WeightExportFormat = "npz" | "safetensors";

export const WEIGHT_EXPORT_ROUTES: ReadonlyArray<{ path: string; content: WeightExportContent; format: WeightExportFormat }> = [
  { path: "/export/weights.npz", content: "weights", format: "npz" },
  { path: "/export/weights.safetensors", content: "weights", format: "safetensors" },
  { path: "/export/masks.npz", content: "masks", format: "npz" },
  { path: "/export/masks.safetensors", content: "masks", format: "safetensors" },
];

export function weightExportHandler(options: WeightExportOptions, content: WeightExportContent, format: WeightExportFormat): RequestHandler {
  return async (req: Request, res: Response) => {
    const fail = (status: number, message: string, field?: string) => {
      res.status(status).json({ error: field === undefined ? { message } : { message, field } });
    };
    try {
      const access = await checkReadAccess(req, options, "exporting weights");
      if (!access.allowed) return fail(access.status, access.reason);
      const experiment = singleParameter(req, "experiment", true)!;
      const cycle = integerParameter(singleParameter(req, "cycle", true)!, "cycle");
      const dense = booleanParameter(singleParameter(req, "dense", false), "dense");
      if (content === "masks" && dense) throw InvalidInputError.single("dense", "applies to weights only");
      const weights = await loadCycleWeights(options.dataSource.manager, options.store, experiment, cycle);
      const tensors = content === "weights" ? weightTensors(weights, dense) : maskTensors(weights);
      const body =
        format === "npz"
          ? encodeNpz(tensors)
          : encodeSafetensors(tensors, { format: "swamp", content, experiment: weights.experimentId, cycle: String(cycle), sparsity: String(weights.sparsity), layout: "tfjs" });
      res.status(200);
      res.setHeader("Content-Type", "application/octet-stream");
      res.setHeader("Content-Disposition", `attachment; filename="${weights.experimentId}-cycle-${cycle}-${content}.${format}"`);
      res.setHeader("Content-Length", String(body.length));
      res.end(body);
    } catch (error) {
      if (error instanceof InvalidInputError) return fail(400, error.message, error.problems[0]?.path);
      if (error instanceof NotFoundError) return fail(404, error.message);
      options.log(`export ${req.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fail(500, "internal server error");
    }
  };
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

function singleParameter(req: Request, name: string, required: boolean): string | undefined {
  const value = req.query[name];
  if (value === undefined || value === "") {
    if (required) throw InvalidInputError.single(name, "is required");
    return undefined;
  }
  if (typeof value !== "string") throw InvalidInputError.single(name, "must be given once");
  return value;
}

function integerParameter(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) throw InvalidInputError.single(name, `must be a non-negative integer, got "${value.slice(0, 40)}"`);
  return Number(value);
}

function booleanParameter(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw InvalidInputError.single(name, `must be 1 or 0 (true or false), got "${value.slice(0, 40)}"`);
}
