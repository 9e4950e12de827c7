/**
 * `swamp profile`: the inference profile (worker/profile/inference-profile.ts) of a finished run's
 * stored models, after the fact, on this machine: the numbers `swamp run` records per cycle.
 */
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { profileInference, THROUGHPUT_BATCH } from "../../worker/profile/inference-profile.js";
import { finishedCycles, readStoredModel, StoredModelError, storedMask } from "../../worker/run/stored-model.js";
import { parseCommandLine } from "../command-line.js";
import { runModelContext } from "../stored-model-session.js";

const USAGE = `usage: swamp profile RUN_DIR [--cycle N] [--json] [--backend wasm|cpu|tensorflow|tensorflow-gpu]
  RUN_DIR    a swamp run output directory
  --cycle    profile only this finished cycle (default: every finished cycle)
  --json     print one JSON object per cycle ({cycle, sparsity, accuracy, inference}) and nothing else on stdout
  --backend  force a TF.js backend (default: SWAMP_BACKEND, else the fastest available)`;

function fixed(value: number, digits: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("profile", USAGE, argv, { cycle: { type: "string" }, json: { type: "boolean", default: false }, backend: { type: "string" }, help: { type: "boolean", default: false } }, true);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`swamp profile: give exactly one RUN_DIR, got ${positionals.length}\n${USAGE}\n`);
    return 2;
  }
  const runDir = positionals[0]!;
  const cycle = values.cycle === undefined ? undefined : Number(values.cycle);
  if (cycle !== undefined && (!Number.isInteger(cycle) || cycle < 0)) {
    process.stderr.write(`swamp profile: --cycle must be a whole number ≥ 0, got "${values.cycle}"\n`);
    return 2;
  }
  try {
    const cycles = cycle === undefined ? await finishedCycles(runDir) : [cycle];
    if (cycles.length === 0) throw new StoredModelError(`${runDir}: no finished cycle to profile`);
    const first = await readStoredModel(runDir, cycles[0]!);
    const { backend, dataset, session } = await runModelContext(first.config, values.backend);
    const exampleSize = dataset.inputShape[0] * dataset.inputShape[1] * dataset.inputShape[2];
    if (!values.json) process.stdout.write("cycle  sparsity  accuracy  sparse bytes  latency dense/sparse ms  throughput dense/sparse ex/s\n");
    for (const index of cycles) {
      const stored = index === first.cycle ? first : await readStoredModel(runDir, index);
      const inference = profileInference({
        session, weights: stored.weights, mask: storedMask(stored, session.layout), backend, inputShape: dataset.inputShape,
        examples: dataset.test.images.subarray(0, THROUGHPUT_BATCH * exampleSize), configHash: stored.configHash, cycle: index,
      });
      const line = { cycle: index, sparsity: stored.summary.sparsity, accuracy: stored.summary.accuracy, inference };
      if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
      else {
        process.stdout.write(
          `${String(index).padStart(5)}  ${fixed(100 * line.sparsity, 1).padStart(7)}%  ${fixed(100 * line.accuracy, 2).padStart(7)}%  ${String(inference.sparseBytes).padStart(12)}  ` +
            `${`${fixed(inference.latencyMs.dense, 3)} / ${fixed(inference.latencyMs.sparse, 3)}`.padStart(23)}  ${`${fixed(inference.throughput.dense, 0)} / ${fixed(inference.throughput.sparse, 0)}`.padStart(29)}\n`,
        );
      }
    }
    session.dispose();
    return 0;
  } catch (error) {
    if (error instanceof StoredModelError || error instanceof DatasetFileError || error instanceof DatasetOptionError) {
      process.stderr.write(`swamp profile: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
