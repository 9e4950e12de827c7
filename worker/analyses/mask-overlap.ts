/** Mask overlap between two cycles of one run, or the same cycle of two runs (schema/mask-overlap.ts does the counting). */
import type { AnalysisInput, AnalysisResult } from "../../schema/analyses.js";
import { maskLayersOf, maskOverlap } from "../../schema/mask-overlap.js";
import type { MaskAnalysisContext } from "./registry.js";

export async function maskOverlapAnalysis(context: MaskAnalysisContext, input: AnalysisInput<"mask-overlap">): Promise<AnalysisResult<"mask-overlap">> {
  const { sources } = context;
  const first = sources[0]!;
  const second = sources[sources.length - 1]!;
  const [cycleA, cycleB] = input.cycles;
  const layers = maskLayersOf(first.config);
  const otherLayers = maskLayersOf(second.config);
  if (JSON.stringify(layers) !== JSON.stringify(otherLayers)) throw new Error(`${first.label} and ${second.label} prune different models; their masks cannot be compared`);
  const [bitsA, bitsB] = await Promise.all([first.maskBits(cycleA), second.maskBits(cycleB)]);
  return { a: `${first.label} cycle ${cycleA}`, b: `${second.label} cycle ${cycleB}`, ...maskOverlap(bitsA, bitsB, layers) };
}
