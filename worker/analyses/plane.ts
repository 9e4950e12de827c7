/** Placeholder until the implementation lands in the next commits (the contract is registry.ts). */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import type { AnalysisContext } from "./registry.js";

export async function plane(_context: AnalysisContext, _input: AnalysisInput<"plane">): Promise<AnalysisResult<"plane">> {
  throw new Error("the plane analysis is not implemented yet");
}
