/**
 * `swamp analyze KIND RUN_DIR…`: one of the paper's analyses (schema/analyses.ts) over stored
 * models, printed as a table or, with --json, as JSON (interpolate: one line per pair).
 *
 * The models come from StoredModels: here run directories (openSources); a server experiment
 * plugs in at the same place.
 */
import { availableParallelism } from "node:os";
import { InvalidAnalysisInputError, type AnalysisKind, type AnalysisResult } from "../../schema/analyses.js";
import { MaskMismatchError } from "../../worker/analyses/selected-models.js";
import { openRunDirectory, RunDirectoryModelsError } from "../../worker/analyses/run-directory-models.js";
import { AnalysisSourceError, runAnalysis } from "../../worker/analyses/registry.js";
import { StoredModelMissingError, type StoredModels } from "../../worker/analyses/stored-models.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { parseCommandLine } from "../command-line.js";
import { formatAnalysis } from "../analysis-table.js";
import { ANALYSIS_FLAG_OPTIONS, AnalysisUsageError, analysisKindOf, analysisJsonLines, flagOf, inputFromFlags, type AnalysisFlagName } from "../analysis-flags.js";

const USAGE = `usage: swamp analyze KIND RUN_DIR... [options] [--json]
  interpolate RUN_DIR --cycle N [--pairs particles|average|cycles] [--points K] [--mask same|union|intersection] [--train-examples N]
  interpolate SWAMP_RUN IMP_RUN --cycle N --pairs swamp-vs-imp [--mask union|intersection]
  plane RUN_DIR --cycle N [--grid G] [--margin F] [--models A,B,C] [--train-examples N] [--test-examples N]
  flatness RUN_DIR --cycle N [--model average|particle:P] [--probes M] [--power-iterations K] [--rho R] [--sharpness-samples S] [--examples N]
  ensemble RUN_DIR... --cycle N [--members runs|particles] [--model average|particle:P]
  mask-overlap RUN_A RUN_B --cycle N
  mask-overlap RUN_DIR --cycles I,J
options for every kind:
  --seed S     seeds every random choice of the analysis (default 0)
  --json       print the result as JSON on stdout, and nothing else there
  --backend    force a TF.js backend (default: SWAMP_BACKEND, else the fastest available)
models: "average" is a cycle's averaged model, "particle:P" particle P's model`;


/** The run directories (or, in server mode, the experiments) the analysis reads. */
export async function openSources(runDirs: string[]): Promise<StoredModels[]> {
  return Promise.all(runDirs.map((dir) => openRunDirectory(dir)));
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    "analyze",
    USAGE,
    argv,
    {
      ...ANALYSIS_FLAG_OPTIONS,
      json: { type: "boolean", default: false },
      backend: { type: "string" },
      help: { type: "boolean", default: false },
    },
    true,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const fail = (message: string) => {
    process.stderr.write(`swamp analyze: ${message}\n${USAGE}\n`);
    return 2;
  };
  const [named, ...runDirs] = positionals;
  const chosen = analysisKindOf(named);
  if ("problem" in chosen) return fail(chosen.problem);
  const { kind } = chosen;
  if (runDirs.length === 0) return fail(`${kind} needs a run directory`);

  let input: Record<string, unknown>;
  try {
    input = inputFromFlags(kind, values as Partial<Record<AnalysisFlagName, string>>, runDirs.length);
  } catch (error) {
    if (error instanceof AnalysisUsageError) return fail(error.message);
    throw error;
  }

  try {
    const sources = await openSources(runDirs);
    const progress = process.stderr.isTTY ? (fraction: number) => process.stderr.write(`\r${kind}: ${(fraction * 100).toFixed(0)}%`) : undefined;
    const result = await runAnalysis(kind, input, sources, { onProgress: progress, backend: values.backend, threads: availableParallelism() });
    if (progress) process.stderr.write("\n");
    process.stdout.write(values.json ? analysisJsonLines(kind, result) : `${formatAnalysis(kind, result)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof InvalidAnalysisInputError) {
      return fail(error.problems.map((p) => `${flagOf(p.path)}: ${p.message}`).join("; "));
    }
    if (
      error instanceof RunDirectoryModelsError ||
      error instanceof StoredModelMissingError ||
      error instanceof AnalysisSourceError ||
      error instanceof MaskMismatchError ||
      error instanceof DatasetFileError ||
      error instanceof DatasetOptionError
    ) {
      process.stderr.write(`swamp analyze: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

