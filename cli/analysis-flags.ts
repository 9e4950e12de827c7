/**
 * How `swamp analyze`'s flags become an analysis input (schema/analyses.ts) and how a result is
 * printed with --json, shared by the run-directory form and the server form so both take the
 * same flags and print the same lines.
 */
import { ANALYSIS_KINDS, isAnalysisKind, type AnalysisKind, type AnalysisResult } from "../schema/analyses.js";

/** Each flag, the input field it sets and how its text becomes a value. */
export const ANALYSIS_FLAGS = {
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

export type AnalysisFlagName = keyof typeof ANALYSIS_FLAGS;

/** The input flags as command-line options (parseCommandLine): each takes its text. */
export const ANALYSIS_FLAG_OPTIONS = Object.fromEntries(Object.keys(ANALYSIS_FLAGS).map((name) => [name, { type: "string" }])) as Record<AnalysisFlagName, { type: "string" }>;

/** The analysis a command line names, or why it names none. */
export function analysisKindOf(kind: string | undefined): { kind: AnalysisKind } | { problem: string } {
  if (!kind) return { problem: `which analysis? one of ${ANALYSIS_KINDS.join(", ")}` };
  if (!isAnalysisKind(kind)) return { problem: `unknown analysis "${kind}"; one of ${ANALYSIS_KINDS.join(", ")}` };
  return { kind };
}

/** A flag the analysis cannot take, or a value it cannot read: exit 2 with the usage. */
export class AnalysisUsageError extends Error {}

/** What --json prints: interpolate one line per pair, every other kind one line. */
export function analysisJsonLines<K extends AnalysisKind>(kind: K, result: AnalysisResult<K>): string {
  if (kind === "interpolate") return (result as AnalysisResult<"interpolate">).pairs.map((pair) => `${JSON.stringify(pair)}\n`).join("");
  return `${JSON.stringify(result)}\n`;
}

/** The flag that sets an input field, for messages (`trainExamples` → `--train-examples`). */
export function flagOf(path: string): string {
  const field = path.split(".")[0];
  const name = Object.entries(ANALYSIS_FLAGS).find(([, flag]) => flag.field === field)?.[0];
  return name ? `--${name}` : path;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function inputFromFlags(kind: AnalysisKind, values: Partial<Record<AnalysisFlagName, string>>, sources: number): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(ANALYSIS_FLAGS) as Array<[AnalysisFlagName, (typeof ANALYSIS_FLAGS)[AnalysisFlagName]]>) {
    const text = values[name];
    if (text === undefined) continue;
    if (!(flag.kinds as readonly string[]).includes(kind)) throw new AnalysisUsageError(`--${name} does not apply to ${kind} (it is for ${flag.kinds.join(", ")})`);
    const number = (part: string) => {
      if (!NUMBER.test(part.trim())) throw new AnalysisUsageError(`--${name} must be a number, got "${part}"`);
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
    if (values.cycle !== undefined && values.cycles !== undefined) throw new AnalysisUsageError("give --cycle N (two runs) or --cycles I,J, not both");
    if (values.cycle !== undefined) {
      if (sources !== 2) throw new AnalysisUsageError("--cycle N compares two runs (RUN_A RUN_B); for two cycles of one run use --cycles I,J");
      input.cycles = [input.cycle, input.cycle];
      delete input.cycle;
    } else if (values.cycles === undefined) {
      throw new AnalysisUsageError("mask-overlap needs --cycle N (two runs) or --cycles I,J");
    } else if ((input.cycles as number[]).length !== 2) {
      throw new AnalysisUsageError(`--cycles takes two cycles I,J, got "${values.cycles}"`);
    }
  } else if (values.cycle === undefined) {
    throw new AnalysisUsageError(`${kind} needs --cycle N`);
  }
  return input;
}
