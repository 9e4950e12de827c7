/**
 * Analyze: one analysis of stored models (issue 16; schema/analyses.ts), outside the cycle plan.
 * The server queues it when `createAnalysis` is called; the task carries the analysis's checked
 * input and, per source experiment, references to every stored model and mask the analysis may
 * read, so a worker needs the artifact store only. Its result (possibly megabytes: a plane's
 * grids) travels as a JSON artifact, and progress as metric points keyed `analysis/progress`.
 */
import { z } from "zod";
import { ANALYSIS_KINDS, ANALYSIS_LIMITS, parseAnalysisInput } from "../../schema/analyses.js";
import { experimentConfigSchema } from "../../schema/config.js";
import { artifactRefSchema, experimentId, finite, nonNegativeInt, resultCommon, taskCommon, type MessageProblem } from "../../schema/fleet-message-fields.js";
import type { TaskKindDescriptor } from "../task-kind.js";

/** The metric key an analyze task reports its fraction done under. */
export const ANALYSIS_PROGRESS_KEY = "analysis/progress";
/** The artifact format of an analysis result (its kind's result schema, as JSON). */
export const ANALYSIS_RESULT_FORMAT = "swamp-analysis-json";

/** One stored cycle of a source experiment. */
const storedCycleSchema = z
  .object({
    cycle: nonNegativeInt.max(ANALYSIS_LIMITS.cycle),
    /** Packed mask bits (schema/mask-bits.ts). */
    mask: artifactRefSchema,
    /** The averaged model. */
    average: artifactRefSchema,
    /** Each particle's model, by particle number (null: not stored). */
    particles: z.array(artifactRefSchema.nullable()),
  })
  .strict();

export const analysisSourceSchema = z
  .object({
    experimentId,
    /** Names the source in results, e.g. `experiment <name>`. */
    label: z.string().min(1).max(300),
    config: experimentConfigSchema,
    /** Completed cycles, ascending. */
    cycles: z.array(storedCycleSchema).max(ANALYSIS_LIMITS.cycle + 1),
  })
  .strict();
export type AnalysisSource = z.output<typeof analysisSourceSchema>;

const taskSchema = z
  .object({
    ...taskCommon,
    kind: z.literal("analyze"),
    /** The analysis's id (its row in the server's `analyses` table). */
    analysis: z.number().int().positive(),
    analysisKind: z.enum(ANALYSIS_KINDS),
    /** The kind's input, defaults filled (checked against schema/analyses.ts on parse). */
    input: z.record(z.unknown()),
    sources: z.array(analysisSourceSchema).min(1).max(ANALYSIS_LIMITS.sources),
  })
  .strict();

const successSchema = z
  .object({
    ...resultCommon,
    outcome: z.literal("succeeded"),
    kind: z.literal("analyze"),
    analysis: z.number().int().positive(),
    outputs: z.object({ result: artifactRefSchema }).strict(),
    numbers: z.object({ seconds: finite.nonnegative() }).strict(),
  })
  .strict();

export const analyzeKind = {
  name: "analyze",
  coordinates: ["analysis"],
  taskSchema,
  successSchema,
  // Never planned: analyses are queued on request and recorded apart from the cycle ledger.
  stage: () => Number.POSITIVE_INFINITY,
  describe: ({ analysis }) => `analysis ${analysis}`,
  taskProblems(task: z.output<typeof taskSchema>): MessageProblem[] {
    const parsed = parseAnalysisInput(task.analysisKind, task.input);
    const problems: MessageProblem[] = parsed.ok ? [] : parsed.problems.map((problem) => ({ path: `input.${problem.path}`, message: problem.message }));
    if (task.sources[0]!.experimentId !== task.experimentId) problems.push({ path: "sources.0.experimentId", message: "must be the task's experiment" });
    return problems;
  },
} as const satisfies TaskKindDescriptor<"analyze", typeof taskSchema, typeof successSchema>;
