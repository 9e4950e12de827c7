/**
 * The paper's analyses as data: each kind's name, the input that selects the models and sets its
 * parameters, and the result it returns. The CLI (`swamp analyze KIND`), the fleet task kind and
 * GraphQL's `createAnalysis(kind, input)` all parse inputs and check results with these schemas,
 * so a stored analysis has one shape wherever it ran. No TensorFlow.js here: the server imports it.
 *
 * Inputs select models from an ordered list of sources (a `swamp run` directory, or a stored
 * experiment): most kinds read sources[0]; `interpolate` with pairs `swamp-vs-imp` reads sources[0]
 * and sources[1]; `ensemble` with members `runs` takes one model from every source; `mask-overlap`
 * compares sources[0] with the last source.
 */
import { z } from "zod";
import { CONFIG_LIMITS } from "./config.js";

export const ANALYSIS_KINDS = ["interpolate", "plane", "flatness", "ensemble", "mask-overlap"] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];

/**
 * Bounds no real analysis comes near; they keep a typo or a hostile request from queueing work
 * that would never end (a 201×201 plane is 40 401 evaluations of the model).
 */
export const ANALYSIS_LIMITS = {
  sources: 64,
  points: 1001,
  grid: 201,
  /** Plane margin, as a fraction of the span of the three models' coordinates. */
  margin: 10,
  probes: 10_000,
  powerIterations: 1000,
  sharpnessSamples: 1000,
  rho: 10,
  examples: CONFIG_LIMITS.examples,
  cycle: CONFIG_LIMITS.cycles,
  particle: CONFIG_LIMITS.particles - 1,
  seed: 2 ** 31 - 1,
} as const;

const finite = z.number().finite({ message: "must be a finite number" });
const nonNegativeInt = finite.int().nonnegative();
const cycle = nonNegativeInt.max(ANALYSIS_LIMITS.cycle);
const seed = nonNegativeInt.max(ANALYSIS_LIMITS.seed).default(0);
const examples = finite.int().positive().max(ANALYSIS_LIMITS.examples);

/** One stored model of a cycle: the averaged model, or particle P (`particle:0`). */
export const modelSelectorSchema = z
  .string()
  .regex(/^(average|particle:(0|[1-9][0-9]{0,2}))$/, 'must be "average" or "particle:P" with P a particle number')
  .refine((value) => value === "average" || Number(value.slice("particle:".length)) <= ANALYSIS_LIMITS.particle, {
    message: `particle number must be at most ${ANALYSIS_LIMITS.particle}`,
  });
export type ModelSelector = z.output<typeof modelSelectorSchema>;

export function parseModelSelector(selector: ModelSelector): { kind: "average" } | { kind: "particle"; particle: number } {
  return selector === "average" ? { kind: "average" } : { kind: "particle", particle: Number(selector.slice("particle:".length)) };
}

/**
 * Which mask two models are compared under: `same` requires equal masks (an error otherwise),
 * `union` and `intersection` apply the union or intersection of the two masks to both models.
 */
export const MASK_CHOICES = ["same", "union", "intersection"] as const;
export type MaskChoice = (typeof MASK_CHOICES)[number];

/**
 * Interpolation presets: every pair of particles of a cycle; each particle vs the cycle's average;
 * the averaged models of cycle−1 and cycle (the later cycle's mask applied to both); the averaged
 * models of sources[0] (SWAMP) and sources[1] (IMP) at the same cycle.
 */
export const INTERPOLATION_PAIRS = ["particles", "average", "cycles", "swamp-vs-imp"] as const;
export type InterpolationPairs = (typeof INTERPOLATION_PAIRS)[number];

export const interpolateInputSchema = z
  .object({
    cycle,
    pairs: z.enum(INTERPOLATION_PAIRS).default("particles"),
    /** Points along the segment, α = 0 and α = 1 included. */
    points: finite.int().min(2).max(ANALYSIS_LIMITS.points).default(21),
    mask: z.enum(MASK_CHOICES).default("same"),
    /** Training images the train loss is measured on (a seeded subset); absent = the whole training set. */
    trainExamples: examples.optional(),
    seed,
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.pairs === "cycles" && input.cycle === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["cycle"], message: 'pairs "cycles" compares cycle−1 with cycle, so cycle must be at least 1' });
  });

export const planeInputSchema = z
  .object({
    cycle,
    /** The three models the plane passes through; the first is the origin. */
    models: z.array(modelSelectorSchema).length(3).default(["particle:0", "particle:1", "average"]),
    grid: finite.int().min(2).max(ANALYSIS_LIMITS.grid).default(25),
    margin: finite.min(0).max(ANALYSIS_LIMITS.margin).default(0.2),
    /** Training images (a fixed seeded subset) the train loss is measured on at each grid point. */
    trainExamples: examples.default(2048),
    /** Test images the accuracy is measured on; absent = the whole test set. */
    testExamples: examples.optional(),
    seed,
  })
  .strict()
  .superRefine((input, ctx) => {
    if (new Set(input.models).size !== 3) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["models"], message: "must name three different models" });
  });

export const flatnessInputSchema = z
  .object({
    cycle,
    model: modelSelectorSchema.default("average"),
    /** Rademacher probes of Hutchinson's estimator. */
    probes: finite.int().min(2).max(ANALYSIS_LIMITS.probes).default(100),
    /** Power-iteration steps for the top Hessian eigenvalue. */
    powerIterations: finite.int().min(1).max(ANALYSIS_LIMITS.powerIterations).default(20),
    /** Perturbation norm relative to the norm of the surviving weights. */
    rho: finite.gt(0).max(ANALYSIS_LIMITS.rho).default(0.05),
    sharpnessSamples: finite.int().min(1).max(ANALYSIS_LIMITS.sharpnessSamples).default(20),
    /** Training images (a fixed seeded subset) the loss, its gradients and its Hessian are measured on. */
    examples: examples.default(1024),
    seed,
  })
  .strict();

/** Ensemble members: the same model (`model`) of every source at the cycle, or the particles of sources[0]'s cycle. */
export const ENSEMBLE_MEMBERS = ["runs", "particles"] as const;

export const ensembleInputSchema = z
  .object({
    cycle,
    members: z.enum(ENSEMBLE_MEMBERS).default("runs"),
    model: modelSelectorSchema.default("average"),
    seed,
  })
  .strict();

export const maskOverlapInputSchema = z
  .object({
    /** Cycle of the first mask (from sources[0]) and of the second (from the last source). */
    cycles: z.tuple([cycle, cycle]),
  })
  .strict();

const number = finite;
const fractionValue = finite.min(0).max(1);
const loss = finite.min(0);

export const interpolationPairSchema = z
  .object({
    /** Labels of the two models, e.g. `runs/x cycle 3 particle:0`. */
    a: z.string(),
    b: z.string(),
    mask: z.enum(MASK_CHOICES),
    alphas: z.array(fractionValue),
    trainLoss: z.array(loss),
    trainAccuracy: z.array(fractionValue),
    testLoss: z.array(loss),
    testAccuracy: z.array(fractionValue),
    /** max over α of trainLoss(α) − ((1−α)·trainLoss(0) + α·trainLoss(1)). */
    barrier: number,
    /** The same on the test loss. */
    testBarrier: number,
  })
  .strict();

export const interpolateResultSchema = z.object({ pairs: z.array(interpolationPairSchema), trainExamples: nonNegativeInt, testExamples: nonNegativeInt }).strict();

export const planeResultSchema = z
  .object({
    /**
     * The plane is origin + x·u + y·v: u points from models[0] to models[1], v is the Gram–Schmidt
     * remainder of models[2] − models[0]; both unit vectors over every trainable weight.
     */
    basis: z.object({ origin: z.string(), u: z.string(), v: z.string(), models: z.array(z.string()).length(3) }).strict(),
    /** The three models' (x, y) coordinates, in weight-space distance. */
    points: z.array(z.tuple([number, number])).length(3),
    xs: z.array(number),
    ys: z.array(number),
    /** trainLoss[j][i] is at (xs[i], ys[j]). */
    trainLoss: z.array(z.array(loss)),
    testAccuracy: z.array(z.array(fractionValue)),
    trainExamples: nonNegativeInt,
    testExamples: nonNegativeInt,
  })
  .strict();

export const flatnessResultSchema = z
  .object({
    model: z.string(),
    /** Hutchinson's estimate of the Hessian trace over the surviving weights, and its standard error. */
    trace: number,
    traceStdErr: finite.min(0),
    probes: nonNegativeInt,
    topEigenvalue: number,
    powerIterations: nonNegativeInt,
    /** Mean increase of the loss under random masked perturbations of relative norm rho. */
    sharpness: number,
    sharpnessStdErr: finite.min(0),
    rho: number,
    loss: loss,
    /** Weights the Hessian is over: surviving prunable weights and every non-prunable trainable one. */
    weights: nonNegativeInt,
    examples: nonNegativeInt,
    /** How Hessian–vector products were computed, and the finite-difference step relative to ‖w‖. */
    hessianVectorProducts: z.enum(["double-backprop", "finite-differences"]),
    step: finite.min(0),
  })
  .strict();

export const ensembleResultSchema = z
  .object({
    members: z.array(z.string()),
    /** Accuracy and mean cross-entropy of the averaged predicted probabilities on the test set. */
    accuracy: fractionValue,
    loss: loss,
    memberAccuracies: z.array(fractionValue),
    memberLosses: z.array(loss),
    /** The model whose weights are the members' average (BatchNorm recalibrated); null when their masks differ. */
    averagedWeightsAccuracy: fractionValue.nullable(),
    averagedWeightsLoss: loss.nullable(),
    testExamples: nonNegativeInt,
  })
  .strict();

export const maskOverlapLayerSchema = z
  .object({
    layer: z.string(),
    /** |A ∩ B| / |A ∪ B| of the surviving weights (1 when both are empty). */
    jaccard: fractionValue,
    /** Weights alive in exactly one of the two masks. */
    hamming: nonNegativeInt,
    aliveA: nonNegativeInt,
    aliveB: nonNegativeInt,
    intersection: nonNegativeInt,
    union: nonNegativeInt,
    total: nonNegativeInt,
  })
  .strict();

export const maskOverlapResultSchema = z
  .object({
    a: z.string(),
    b: z.string(),
    jaccard: fractionValue,
    hamming: nonNegativeInt,
    aliveA: nonNegativeInt,
    aliveB: nonNegativeInt,
    intersection: nonNegativeInt,
    union: nonNegativeInt,
    total: nonNegativeInt,
    layers: z.array(maskOverlapLayerSchema),
  })
  .strict();

export const ANALYSIS_SCHEMAS = {
  interpolate: { input: interpolateInputSchema, result: interpolateResultSchema },
  plane: { input: planeInputSchema, result: planeResultSchema },
  flatness: { input: flatnessInputSchema, result: flatnessResultSchema },
  ensemble: { input: ensembleInputSchema, result: ensembleResultSchema },
  "mask-overlap": { input: maskOverlapInputSchema, result: maskOverlapResultSchema },
} as const;

/** A kind's input with its defaults filled. */
export type AnalysisInput<K extends AnalysisKind> = z.output<(typeof ANALYSIS_SCHEMAS)[K]["input"]>;
/** What a caller may send (defaults may be left out). */
export type AnalysisInputDraft<K extends AnalysisKind> = z.input<(typeof ANALYSIS_SCHEMAS)[K]["input"]>;
export type AnalysisResult<K extends AnalysisKind> = z.output<(typeof ANALYSIS_SCHEMAS)[K]["result"]>;
export type InterpolationPair = z.output<typeof interpolationPairSchema>;
export type MaskOverlapLayer = z.output<typeof maskOverlapLayerSchema>;

export function isAnalysisKind(value: string): value is AnalysisKind {
  return (ANALYSIS_KINDS as readonly string[]).includes(value);
}

export interface AnalysisProblem {
  /** Dotted field path, e.g. `points`; `(root)` for the whole input. */
  path: string;
  message: string;
}

export class InvalidAnalysisInputError extends Error {
  constructor(
    readonly kind: string,
    readonly problems: AnalysisProblem[],
  ) {
    super(`invalid ${kind} analysis input:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "InvalidAnalysisInputError";
  }
}

export type AnalysisInputParse<K extends AnalysisKind> = { ok: true; input: AnalysisInput<K> } | { ok: false; problems: AnalysisProblem[] };

/** Fills the defaults of a kind's input and checks every field; problems name the field. */
export function parseAnalysisInput<K extends AnalysisKind>(kind: K, input: unknown): AnalysisInputParse<K> {
  if (!isAnalysisKind(kind)) return { ok: false, problems: [{ path: "kind", message: `must be one of ${ANALYSIS_KINDS.map((k) => JSON.stringify(k)).join(", ")}` }] };
  const result = ANALYSIS_SCHEMAS[kind].input.safeParse(input);
  if (result.success) return { ok: true, input: result.data as AnalysisInput<K> };
  return { ok: false, problems: result.error.issues.map((issue) => ({ path: issue.path.length > 0 ? issue.path.join(".") : "(root)", message: describeIssue(issue) })) };
}

/** Parses or throws an InvalidAnalysisInputError listing every problem. */
export function requireAnalysisInput<K extends AnalysisKind>(kind: K, input: unknown): AnalysisInput<K> {
  const parsed = parseAnalysisInput(kind, input);
  if (!parsed.ok) throw new InvalidAnalysisInputError(kind, parsed.problems);
  return parsed.input;
}

/** Checks a result against its kind's schema (stored results are re-checked when read back). */
export function requireAnalysisResult<K extends AnalysisKind>(kind: K, result: unknown): AnalysisResult<K> {
  const parsed = ANALYSIS_SCHEMAS[kind].result.safeParse(result);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${describeIssue(issue)}`);
    throw new Error(`${kind} analysis result does not match its schema:\n  ${problems.join("\n  ")}`);
  }
  return parsed.data as AnalysisResult<K>;
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined") return "is required";
  if (issue.code === z.ZodIssueCode.invalid_type && issue.expected === "number" && issue.received === "nan") return "must be a finite number";
  if (issue.code === z.ZodIssueCode.invalid_enum_value) return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`;
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  return issue.message;
}
