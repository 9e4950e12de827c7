/** Placeholder until the implementation lands in the next commits (the contract is registry.ts). */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import type { AnalysisContext } from "./registry.js";

export async function interpolate(_context: AnalysisContext, _input: AnalysisInput<"interpolate">): Promise<AnalysisResult<"interpolate">> {
  throw new Error("the interpolate analysis is not implemented yet");
}
