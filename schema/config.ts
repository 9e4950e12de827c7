/**
 * The experiment config: the one contract every part of swamp shares.
 *
 * A config file may leave out anything that has a default; `parseExperimentConfig` fills the
 * defaults, checks every field and returns either the filled config or every problem found (field
 * path + reason). The canonical JSON of the filled config is hashed to name the run, as open_lth
 * names runs by the hash of their hyperparameters, so two configs that differ only in key order or
 * in spelling out a default are the same run.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

export const CONFIG_VERSION = 1;

import { DATASET_NAMES, METHOD_NAMES, MODEL_NAMES, PRUNING_SCOPES, SCHEDULE_NAMES } from "./config-names.js";
export { DATASET_NAMES, METHOD_NAMES, MODEL_NAMES, PRUNING_SCOPES, SCHEDULE_NAMES };

export type DatasetName = (typeof DATASET_NAMES)[number];
export type ModelName = (typeof MODEL_NAMES)[number];
export type MethodName = (typeof METHOD_NAMES)[number];
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** Which methods keep a stochastic weight average per particle, and which train several particles. */
export const METHOD_TRAITS: Record<MethodName, { swa: boolean; multiParticle: boolean }> = {
  imp: { swa: false, multiParticle: false },
  "imp-swa": { swa: true, multiParticle: false },
  swamp: { swa: true, multiParticle: true },
  "swamp-sgd": { swa: false, multiParticle: true },
};

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const fraction = z.number().gt(0).lt(1);

const dataSchema = z
  .object({
    name: z.enum(DATASET_NAMES),
    /** Directory holding the data set's files; each data set has its own default. */
    dir: z.string().min(1).optional(),
    /** Use only the first N training images (N ≥ 1); absent = all. */
    trainSubset: positiveInt.optional(),
    /** Use only the first N test images; absent = the full test set. */
    testSubset: positiveInt.optional(),
    /** Random crop (4-pixel padding) and horizontal flip on training batches (images data sets). */
    augment: z.boolean().default(false),
  })
  .strict();

const modelSchema = z
  .object({
    name: z.enum(MODEL_NAMES),
    /** BatchNorm after each convolution of the conv-N nets; resnet-20 always has it. */
    batchNorm: z.boolean().default(false),
  })
  .strict();

const methodSchema = z
  .object({
    name: z.enum(METHOD_NAMES),
    /** Particles per cycle; the single-particle methods need exactly 1 (filled when absent). */
    particles: positiveInt.max(64).optional(),
  })
  .strict();

const pruningSchema = z
  .object({
    /** Fraction of the remaining prunable weights removed at each pruning. */
    rate: fraction.default(0.2),
    /** Pruned cycles after the dense cycle 0: the run trains cycles 0..cycles. */
    cycles: nonNegativeInt.max(200).default(25),
    scope: z.enum(PRUNING_SCOPES).default("global"),
    /** Prunable layers (by the model's layer names) left dense. */
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict();

const trainingSchema = z
  .object({
    /** Epochs each cycle trains from the rewind point. */
    epochs: positiveInt.max(10_000).default(10),
    /** Dense epochs before the rewind point, at the peak learning rate. */
    rewindEpochs: nonNegativeInt.default(1),
    batchSize: positiveInt.max(65_536).default(128),
    lr: z.number().positive().default(0.1),
    momentum: z.number().min(0).lt(1).default(0.9),
    weightDecay: z.number().min(0).default(1e-4),
    schedule: z.enum(SCHEDULE_NAMES).default("cosine"),
    /** Linear warm-up from 0 to lr over the first epochs of each cycle. */
    warmupEpochs: nonNegativeInt.default(0),
    /** Step schedule: fractions of the cycle's epochs at which lr is multiplied by stepGamma. */
    stepMilestones: z.array(fraction).default([0.5, 0.75]),
    stepGamma: fraction.default(0.1),
    /** Training images used to recompute BatchNorm statistics after averaging. */
    bnRecalibrationExamples: positiveInt.default(10_000),
  })
  .strict();

const swaSchema = z
  .object({
    /** Learning rate of the SWA phase (reached by the cycle's schedule, then held). */
    lr: z.number().positive().default(0.05),
    /** Fraction of the cycle's epochs after which the SWA phase begins. */
    startFraction: fraction.default(0.75),
    /** A snapshot is averaged every this many epochs, counted back from the last. */
    everyEpochs: positiveInt.default(1),
  })
  .strict();

export const experimentConfigSchema = z
  .object({
    version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
    name: z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, "use only letters, digits, '.', '_' and '-'"),
    seed: nonNegativeInt.max(2 ** 31 - 1).default(0),
    data: dataSchema,
    model: modelSchema,
    method: methodSchema,
    pruning: pruningSchema.default({}),
    training: trainingSchema.default({}),
    swa: swaSchema.default({}),
    tags: z.array(z.string().min(1).max(100)).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const traits = METHOD_TRAITS[config.method.name];
    const particles = config.method.particles;
    if (!traits.multiParticle && particles !== undefined && particles !== 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["method", "particles"], message: `${config.method.name} trains exactly 1 particle` });
    }
    if (config.training.warmupEpochs >= config.training.epochs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["training", "warmupEpochs"], message: "must be less than training.epochs" });
    }
    if (traits.swa && config.swa.lr > config.training.lr) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["swa", "lr"], message: "must not exceed training.lr" });
    }
    if (config.data.trainSubset !== undefined && config.data.trainSubset < config.training.batchSize) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["data", "trainSubset"], message: "must be at least training.batchSize" });
    }
    const milestones = config.training.stepMilestones;
    if (milestones.some((m, i) => i > 0 && m <= milestones[i - 1]!)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["training", "stepMilestones"], message: "must be strictly increasing" });
    }
  })
  .transform((config) => ({
    ...config,
    method: { ...config.method, particles: config.method.particles ?? (METHOD_TRAITS[config.method.name].multiParticle ? 4 : 1) },
  }));

/** A filled, validated experiment config. */
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
/** What a config file may contain (defaults may be left out). */
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;

export interface ConfigProblem {
  /** Dotted field path, e.g. `training.lr`; `(root)` for the whole config. */
  path: string;
  message: string;
}

export type ConfigParseResult = { ok: true; config: ExperimentConfig } | { ok: false; problems: ConfigProblem[] };

export function parseExperimentConfig(input: unknown): ConfigParseResult {
  const result = experimentConfigSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? issue.path.join(".") : "(root)",
      message: describeIssue(issue),
    })),
  };
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined") return "is required";
  if (issue.code === z.ZodIssueCode.invalid_enum_value) return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`;
  return issue.message;
}

export class InvalidConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid experiment config:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "InvalidConfigError";
  }
}

/** Parses or throws an InvalidConfigError listing every problem. */
export function requireExperimentConfig(input: unknown): ExperimentConfig {
  const result = parseExperimentConfig(input);
  if (!result.ok) throw new InvalidConfigError(result.problems);
  return result.config;
}

/** JSON with object keys sorted at every depth, so equal configs serialise to equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * The run's identity: sha256 of the canonical filled config, without `name` and `tags`, which
 * label a run but do not change what it computes.
 */
export function configHash(config: ExperimentConfig): string {
  const { name: _name, tags: _tags, ...identity } = config;
  return createHash("sha256").update(canonicalJson(identity)).digest("hex");
}

/** Epochs, counted back from the last, at whose end a particle's SWA average takes a snapshot. */
export function swaSnapshotEpochs(config: ExperimentConfig): number[] {
  if (!METHOD_TRAITS[config.method.name].swa) return [];
  const { epochs } = config.training;
  const start = config.swa.startFraction * epochs;
  const snapshots: number[] = [];
  for (let epoch = epochs; epoch >= start && epoch >= 1; epoch -= config.swa.everyEpochs) snapshots.unshift(epoch);
  return snapshots;
}

/** Total cycles trained, the dense cycle 0 included. */
export function cycleCount(config: ExperimentConfig): number {
  return config.pruning.cycles + 1;
}
