/**
 * The analyze task's handler: one analysis (worker/analyses/registry.ts) over the stored models of
 * its source experiments. Unlike the cycle tasks it is asynchronous (it reads models as it needs
 * them) and builds its own model session for the sources' config, so it runs on a thread of its
 * own (worker/fleet/analysis-thread.ts) rather than on a pooled task thread.
 */
import type { AnalysisKind } from "../../schema/analyses.js";
import type { AnalysisSource } from "../../protocol/task-kinds/analyze.js";
import { runAnalysis } from "../analyses/registry.js";
import type { StopSignal } from "../engine/context.js";
import { artifactStoredModels, type FetchArtifact } from "../fleet/artifact-models.js";

export interface AnalyzeInput {
  kind: "analyze";
  analysisKind: AnalysisKind;
  input: Record<string, unknown>;
  sources: AnalysisSource[];
}

export interface AnalyzeOutput {
  kind: "analyze";
  /** The kind's result, checked against its schema. */
  result: unknown;
  seconds: number;
}

export interface AnalyzeEnvironment {
  fetch: FetchArtifact;
  onProgress: (fraction: number) => void;
  signal?: StopSignal;
  backend?: string;
}

export async function analyze(environment: AnalyzeEnvironment, input: AnalyzeInput): Promise<AnalyzeOutput> {
  const started = performance.now();
  const sources = input.sources.map((source) => artifactStoredModels(source, environment.fetch));
  const result = await runAnalysis(input.analysisKind, input.input, sources, { onProgress: environment.onProgress, signal: environment.signal, backend: environment.backend });
  return { kind: "analyze", result, seconds: (performance.now() - started) / 1000 };
}
