/**
 * One registry of the analyses (schema/analyses.ts names them): adding one is a file plus a line
 * here. `runAnalysis` is what the CLI and the fleet call: it checks the input, builds the model
 * session and loads the data set of the sources' config, runs the analysis and returns its checked
 * result. Deterministic from the input (its seed included) and the stored models.
 */
import type { ZodTypeAny } from "zod";
import { ANALYSIS_SCHEMAS, requireAnalysisInput, requireAnalysisResult, type AnalysisInput, type AnalysisKind, type AnalysisResult } from "../../schema/analyses.js";
import type { ExperimentConfig } from "../../schema/config.js";
import type { LoadedDataset } from "../data/dataset.js";
import { initBackend } from "../engine/backend.js";
import type { StopSignal } from "../engine/context.js";
import { ModelSession } from "../engine/model-session.js";
import { loadDataset } from "../run/local-run.js";
import { ensemble } from "./ensemble.js";
import { flatness } from "./flatness.js";
import { interpolate } from "./interpolate.js";
import { maskOverlapAnalysis } from "./mask-overlap.js";
import { plane } from "./plane.js";
import type { StoredModels } from "./stored-models.js";

/** What an analysis that evaluates models works with. */
export interface AnalysisContext {
  /** sources[0]'s config; every source shares its data set and model. */
  config: ExperimentConfig;
  dataset: LoadedDataset;
  session: ModelSession;
  sources: StoredModels[];
  /** Fraction of the analysis done, in [0, 1]. */
  onProgress: (fraction: number) => void;
  signal?: StopSignal;
}

/** What an analysis that only reads stored masks works with. */
export type MaskAnalysisContext = Pick<AnalysisContext, "sources" | "onProgress">;

export interface AnalysisDefinition<K extends AnalysisKind> {
  kind: K;
  inputSchema: ZodTypeAny;
  resultSchema: ZodTypeAny;
  /** Why these sources cannot serve this input, or undefined when they can. */
  sourceProblem(input: AnalysisInput<K>, sources: readonly StoredModels[]): string | undefined;
  /** Whether it evaluates models (needs the data set and a model session) or only reads masks. */
  engine: boolean;
  run(context: AnalysisContext, input: AnalysisInput<K>): Promise<AnalysisResult<K>>;
}

export type AnalysisDefinitions = { [K in AnalysisKind]: AnalysisDefinition<K> };

const define = <K extends AnalysisKind>(kind: K, parts: Omit<AnalysisDefinition<K>, "kind" | "inputSchema" | "resultSchema">): AnalysisDefinition<K> => ({
  kind,
  inputSchema: ANALYSIS_SCHEMAS[kind].input,
  resultSchema: ANALYSIS_SCHEMAS[kind].result,
  ...parts,
});

const exactly = (count: number, what: string) => (_input: unknown, sources: readonly StoredModels[]) =>
  sources.length === count ? undefined : `needs ${count === 1 ? "one source" : `${count} sources`} (${what}), got ${sources.length}`;

export const ANALYSES: AnalysisDefinitions = {
  interpolate: define("interpolate", {
    engine: true,
    sourceProblem: (input, sources) => (input.pairs === "swamp-vs-imp" ? exactly(2, "the SWAMP run, then the IMP run") : exactly(1, "one run"))(input, sources),
    run: interpolate,
  }),
  plane: define("plane", { engine: true, sourceProblem: exactly(1, "one run"), run: plane }),
  flatness: define("flatness", { engine: true, sourceProblem: exactly(1, "one run"), run: flatness }),
  ensemble: define("ensemble", {
    engine: true,
    sourceProblem: (input, sources) =>
      input.members === "particles" ? exactly(1, "the run whose particles are the members")(input, sources) : sources.length >= 1 ? undefined : "needs at least one run (each gives one member)",
    run: ensemble,
  }),
  "mask-overlap": define("mask-overlap", {
    engine: false,
    sourceProblem: (_input, sources) => (sources.length === 1 || sources.length === 2 ? undefined : `needs one run (two cycles of it) or two runs, got ${sources.length}`),
    run: maskOverlapAnalysis,
  }),
};

export class AnalysisSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnalysisSourceError";
  }
}

export interface RunAnalysisOptions {
  onProgress?: (fraction: number) => void;
  signal?: StopSignal;
  /** Forces a TF.js backend (otherwise SWAMP_BACKEND or automatic). */
  backend?: string;
  /** The sources' data set when the caller has it loaded already. */
  dataset?: LoadedDataset;
}

/**
 * Checks `input` (filling its defaults), runs the analysis over `sources` and returns its result,
 * checked against the kind's schema. Throws InvalidAnalysisInputError for a bad input and
 * AnalysisSourceError for sources that cannot serve it.
 */
export async function runAnalysis<K extends AnalysisKind>(kind: K, input: unknown, sources: StoredModels[], options: RunAnalysisOptions = {}): Promise<AnalysisResult<K>> {
  const checked = requireAnalysisInput(kind, input);
  const definition = ANALYSES[kind] as AnalysisDefinition<K>;
  if (sources.length > 64) throw new AnalysisSourceError(`${kind}: at most 64 sources, got ${sources.length}`);
  const problem = definition.sourceProblem(checked, sources);
  if (problem) throw new AnalysisSourceError(`${kind}: ${problem}`);
  const onProgress = options.onProgress ?? (() => undefined);
  if (!definition.engine) {
    const result = await definition.run({ sources, onProgress } as AnalysisContext, checked);
    onProgress(1);
    return requireAnalysisResult(kind, result);
  }
  const config = sources[0]!.config;
  requireSameModelAndData(sources);
  await initBackend(options.backend);
  const dataset = options.dataset ?? (await loadDataset(config));
  const session = ModelSession.build(config, dataset.inputShape, dataset.numClasses);
  try {
    const result = await definition.run({ config, dataset, session, sources, onProgress, signal: options.signal }, checked);
    onProgress(1);
    return requireAnalysisResult(kind, result);
  } finally {
    session.dispose();
  }
}

/** Models of different architectures or data sets cannot be evaluated by one session on one data set. */
function requireSameModelAndData(sources: readonly StoredModels[]): void {
  const key = (config: ExperimentConfig) => JSON.stringify({ model: config.model.name, batchNorm: config.model.batchNorm, data: config.data.name, trainSubset: config.data.trainSubset, testSubset: config.data.testSubset });
  const first = key(sources[0]!.config);
  sources.forEach((source, i) => {
    if (key(source.config) !== first) {
      throw new AnalysisSourceError(`source ${i} (${source.label}) trains another model or data set than source 0 (${sources[0]!.label}): ${key(source.config)} vs ${first}`);
    }
  });
}
