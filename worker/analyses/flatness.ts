/** Placeholder until the implementation lands in the next commits (the contract is registry.ts). */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import type { AnalysisContext } from "./registry.js";

export async function flatness(_context: AnalysisContext, _input: AnalysisInput<"flatness">): Promise<AnalysisResult<"flatness">> {
  throw new Error("the flatness analysis is not implemented yet");
}
