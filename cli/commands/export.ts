/**
 * `swamp export`: a finished cycle's averaged model as a user ships it, read from the run's
 * compact sparse file (worker/run/stored-model.ts):
 *   swsp  OUT/model.swsp (the compact file as stored) + OUT/deploy.json (layers, input
 *         normalisation, the test accuracy), what examples/sparse-loader/ runs
 *   tfjs  OUT/model.json + OUT/weights.bin for tf.loadLayersModel
 *   npz   OUT (a file): every tensor by name, pruned values 0, and `<name>.mask` for pruned ones
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { boolTensor, float32Tensor } from "../../server/exports/named-tensor.js";
import { encodeNpz } from "../../server/exports/npz-file.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import {
  DEPLOYED_MODEL_FILE, DEPLOYMENT_FORMAT, DEPLOYMENT_MANIFEST_FILE, DEPLOYMENT_VERSION, deployedLayers, type DeploymentManifest,
} from "../../worker/deploy/deployment-manifest.js";
import { exportLayersModel, TFJS_WEIGHTS_FILE } from "../../worker/formats/tfjs-model.js";
import { readStoredModel, sparseFileOf, StoredModelError, storedMask, type StoredModel } from "../../worker/run/stored-model.js";
import { parseCommandLine } from "../command-line.js";
import { runModelContext } from "../stored-model-session.js";

const FORMATS = ["swsp", "tfjs", "npz"] as const;
type ExportFormat = (typeof FORMATS)[number];

const USAGE = `usage: swamp export RUN_DIR --cycle N --format swsp|tfjs|npz [--out PATH]
  RUN_DIR   a swamp run output directory
  --cycle   the finished cycle whose averaged model to export
  --format  swsp: the compact sparse file + deploy.json (examples/sparse-loader/ runs it);
            tfjs: model.json + weights.bin for tf.loadLayersModel; npz: numpy arrays (+ .mask per pruned tensor)
  --out     where to write (default export-cycle-NNN-FORMAT, a directory; a .npz file for npz)`;

async function npzFile(stored: StoredModel, backend: string | undefined): Promise<Buffer> {
  const { session } = await runModelContext(stored.config, backend);
  try {
    const mask = storedMask(stored, session.layout);
    let prunable = 0;
    const tensors = session.layout.entries.flatMap((tensor, i) => {
      const values = float32Tensor(tensor.name, tensor.shape, stored.weights[i]!);
      return tensor.prunable ? [values, boolTensor(`${tensor.name}.mask`, tensor.shape, mask[prunable++]!)] : [values];
    });
    return encodeNpz(tensors);
  } finally {
    session.dispose();
  }
}

async function writeDeployable(stored: StoredModel, out: string, backend: string | undefined): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const { dataset, session } = await runModelContext(stored.config, backend);
  try {
    const manifest: DeploymentManifest = {
      format: DEPLOYMENT_FORMAT,
      version: DEPLOYMENT_VERSION,
      model: stored.config.model.name,
      weights: DEPLOYED_MODEL_FILE,
      configHash: stored.configHash,
      cycle: stored.cycle,
      sparsity: stored.summary.sparsity,
      inputShape: dataset.inputShape,
      numClasses: dataset.numClasses,
      normalisation: dataset.normalisation,
      layers: deployedLayers(session.model, session.layout),
      test: { dataset: stored.config.data.name, examples: dataset.test.count, accuracy: stored.summary.accuracy },
    };
    await writeFile(join(out, DEPLOYED_MODEL_FILE), sparseFileOf(stored, session.layout));
    await writeFile(join(out, DEPLOYMENT_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return [join(out, DEPLOYED_MODEL_FILE), join(out, DEPLOYMENT_MANIFEST_FILE)];
  } finally {
    session.dispose();
  }
}

async function writeTfjs(stored: StoredModel, out: string, backend: string | undefined): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const { session } = await runModelContext(stored.config, backend);
  try {
    const files = await exportLayersModel(session, stored.weights);
    await writeFile(join(out, "model.json"), files.modelJson);
    await writeFile(join(out, TFJS_WEIGHTS_FILE), files.weightsBin);
    return [join(out, "model.json"), join(out, TFJS_WEIGHTS_FILE)];
  } finally {
    session.dispose();
  }
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    "export", USAGE, argv,
    { cycle: { type: "string" }, format: { type: "string" }, out: { type: "string" }, backend: { type: "string" }, help: { type: "boolean", default: false } },
    true,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const refuse = (reason: string) => {
    process.stderr.write(`swamp export: ${reason}\n${USAGE}\n`);
    return 2;
  };
  if (positionals.length !== 1) return refuse(`give exactly one RUN_DIR, got ${positionals.length}`);
  const cycle = Number(values.cycle);
  if (values.cycle === undefined || !Number.isInteger(cycle) || cycle < 0) return refuse(`--cycle must be a whole number ≥ 0, got ${JSON.stringify(values.cycle ?? null)}`);
  if (!FORMATS.includes(values.format as ExportFormat)) return refuse(`--format must be one of ${FORMATS.join(", ")}, got ${JSON.stringify(values.format ?? null)}`);
  const format = values.format as ExportFormat;
  const runDir = positionals[0]!;
  const suffix = `export-cycle-${String(cycle).padStart(3, "0")}-${format}`;
  const out = values.out ?? (format === "npz" ? `${suffix}.npz` : suffix);
  try {
    const stored = await readStoredModel(runDir, cycle);
    let written: string[];
    if (format === "npz") {
      await writeFile(out, await npzFile(stored, values.backend));
      written = [out];
    } else if (format === "tfjs") written = await writeTfjs(stored, out, values.backend);
    else written = await writeDeployable(stored, out, values.backend);
    process.stdout.write(`${written.join("\n")}\n`);
    return 0;
  } catch (error) {
    if (error instanceof StoredModelError || error instanceof DatasetFileError || error instanceof DatasetOptionError) {
      process.stderr.write(`swamp export: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
