/** Placeholder until the implementation lands in the next commits (the contract is registry.ts). */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import type { AnalysisContext } from "./registry.js";

export async function ensemble(_context: AnalysisContext, _input: AnalysisInput<"ensemble">): Promise<AnalysisResult<"ensemble">> {
  throw new Error("the ensemble analysis is not implemented yet");
}
