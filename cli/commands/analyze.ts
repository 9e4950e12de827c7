/**
 * `swamp analyze KIND RUN_DIR…`: one of the paper's analyses (schema/analyses.ts) over stored
 * models, printed as a table or, with --json, as JSON (interpolate: one line per pair).
 *
 * The models come from StoredModels: here run directories (openSources); a server experiment
 * plugs in at the same place.
 */
import { ANALYSIS_KINDS, InvalidAnalysisInputError, isAnalysisKind, type AnalysisKind, type AnalysisResult } from "../../schema/analyses.js";
import { MaskMismatchError } from "../../worker/analyses/selected-models.js";
import { openRunDirectory, RunDirectoryModelsError } from "../../worker/analyses/run-directory-models.js";
import { AnalysisSourceError, runAnalysis } from "../../worker/analyses/registry.js";
import { StoredModelMissingError, type StoredModels } from "../../worker/analyses/stored-models.js";
import { DatasetFileError, DatasetOptionError } from "../../worker/data/dataset.js";
import { parseCommandLine } from "../command-line.js";
import { formatAnalysis } from "../analysis-table.js";

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

/** Each flag, the input field it sets and how its text becomes a value. */
const FLAGS = {
  cycle: { field: "cycle", kinds: ["interpolate", "plane", "flatness", "ensemble", "mask-overlap"], value: "integer" },
  cycles: { field: "cycles", kinds: ["mask-overlap"], value: "integer-list" },
  pairs: { field: "pairs", kinds: ["interpolate"], value: "string" },
  points: { field: "points", kinds: ["interpolate"], value: "integer" },
  mask: { field: "mask", kinds: ["interpolate"], value: "string" },
  "train-examples": { field: "trainExamples", kinds: ["interpolate", "plane"], value: "integer" },
  "test-examples": { field: "testExamples", kinds: ["plane"], value: "integer" },
  grid: { field: "grid", kinds: ["plane"], value: "integer" },
  margin: { field: "margin", kinds: ["plane"], value: "number" },
  models: { field: "models", kinds: ["plane"], value: "string-list" },
  model: { field: "model", kinds: ["flatness", "ensemble"], value: "string" },
  probes: { field: "probes", kinds: ["flatness"], value: "integer" },
  "power-iterations": { field: "powerIterations", kinds: ["flatness"], value: "integer" },
  rho: { field: "rho", kinds: ["flatness"], value: "number" },
  "sharpness-samples": { field: "sharpnessSamples", kinds: ["flatness"], value: "integer" },
  examples: { field: "examples", kinds: ["flatness"], value: "integer" },
  members: { field: "members", kinds: ["ensemble"], value: "string" },
  seed: { field: "seed", kinds: ["interpolate", "plane", "flatness", "ensemble"], value: "integer" },
} as const satisfies Record<string, { field: string; kinds: readonly AnalysisKind[]; value: "integer" | "number" | "string" | "integer-list" | "string-list" }>;

type FlagName = keyof typeof FLAGS;

class UsageError extends Error {}

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
      ...(Object.fromEntries(Object.keys(FLAGS).map((name) => [name, { type: "string" }])) as Record<FlagName, { type: "string" }>),
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
  const [kind, ...runDirs] = positionals;
  if (!kind) return fail(`which analysis? one of ${ANALYSIS_KINDS.join(", ")}`);
  if (!isAnalysisKind(kind)) return fail(`unknown analysis "${kind}"; one of ${ANALYSIS_KINDS.join(", ")}`);
  if (runDirs.length === 0) return fail(`${kind} needs a run directory`);

  let input: Record<string, unknown>;
  try {
    input = inputFromFlags(kind, values as Partial<Record<FlagName, string>>, runDirs.length);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message);
    throw error;
  }

  try {
    const sources = await openSources(runDirs);
    const progress = process.stderr.isTTY ? (fraction: number) => process.stderr.write(`\r${kind}: ${(fraction * 100).toFixed(0)}%`) : undefined;
    const result = await runAnalysis(kind, input, sources, { onProgress: progress, backend: values.backend });
    if (progress) process.stderr.write("\n");
    process.stdout.write(values.json ? jsonOutput(kind, result) : `${formatAnalysis(kind, result)}\n`);
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

function jsonOutput<K extends AnalysisKind>(kind: K, result: AnalysisResult<K>): string {
  if (kind === "interpolate") return (result as AnalysisResult<"interpolate">).pairs.map((pair) => `${JSON.stringify(pair)}\n`).join("");
  return `${JSON.stringify(result)}\n`;
}

/** The flag that sets an input field, for messages (`trainExamples` → `--train-examples`). */
function flagOf(path: string): string {
  const field = path.split(".")[0];
  const name = Object.entries(FLAGS).find(([, flag]) => flag.field === field)?.[0];
  return name ? `--${name}` : path;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function inputFromFlags(kind: AnalysisKind, values: Partial<Record<FlagName, string>>, sources: number): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(FLAGS) as Array<[FlagName, (typeof FLAGS)[FlagName]]>) {
    const text = values[name];
    if (text === undefined) continue;
    if (!(flag.kinds as readonly string[]).includes(kind)) throw new UsageError(`--${name} does not apply to ${kind} (it is for ${flag.kinds.join(", ")})`);
    const number = (part: string) => {
      if (!NUMBER.test(part.trim())) throw new UsageError(`--${name} must be a number, got "${part}"`);
      return Number(part);
    };
    switch (flag.value) {
      case "integer":
      case "number":
        input[flag.field] = number(text);
        break;
      case "integer-list":
        input[flag.field] = text.split(",").map(number);
        break;
      case "string-list":
        input[flag.field] = text.split(",");
        break;
      case "string":
        input[flag.field] = text;
        break;
    }
  }
  if (kind === "mask-overlap") {
    if (values.cycle !== undefined && values.cycles !== undefined) throw new UsageError("give --cycle N (two runs) or --cycles I,J, not both");
    if (values.cycle !== undefined) {
      if (sources !== 2) throw new UsageError("--cycle N compares two runs (RUN_A RUN_B); for two cycles of one run use --cycles I,J");
      input.cycles = [input.cycle, input.cycle];
      delete input.cycle;
    } else if (values.cycles === undefined) {
      throw new UsageError("mask-overlap needs --cycle N (two runs) or --cycles I,J");
    } else if ((input.cycles as number[]).length !== 2) {
      throw new UsageError(`--cycles takes two cycles I,J, got "${values.cycles}"`);
    }
  } else if (values.cycle === undefined) {
    throw new UsageError(`${kind} needs --cycle N`);
  }
  return input;
}
