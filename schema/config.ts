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
import { cycleEmptied, DATASET_INPUTS, prunableLayers } from "./prunable-layers.js";

export const CONFIG_VERSION = 1;

import { BACKEND_NAMES, DATASET_NAMES, EXECUTION_BACKENDS, METHOD_NAMES, MODEL_INITS, MODEL_NAMES, PRUNING_SCOPES, SCHEDULE_NAMES } from "./config-names.js";
import { PRUNING_RULES, type PruningScope } from "./pruning-rules.js";
export { BACKEND_NAMES, DATASET_NAMES, EXECUTION_BACKENDS, METHOD_NAMES, MODEL_INITS, MODEL_NAMES, PRUNING_SCOPES, SCHEDULE_NAMES };

export type DatasetName = (typeof DATASET_NAMES)[number];
export type ModelName = (typeof MODEL_NAMES)[number];
export type ModelInit = (typeof MODEL_INITS)[number];
export type MethodName = (typeof METHOD_NAMES)[number];
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];
/** A TensorFlow.js backend a worker runs on. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend requirement: a backend, or `any`. */
export type ExecutionBackend = (typeof EXECUTION_BACKENDS)[number];

/** Which methods keep a stochastic weight average per particle, and which train several particles. */
export const METHOD_TRAITS: Record<MethodName, { swa: boolean; multiParticle: boolean }> = {
  imp: { swa: false, multiParticle: false },
  "imp-swa": { swa: true, multiParticle: false },
  swamp: { swa: true, multiParticle: true },
  "swamp-sgd": { swa: false, multiParticle: true },
};

/**
 * Upper bounds no real protocol comes near (lottery-ticket protocols train a few hundred epochs per
 * cycle at most, for a few dozen cycles); they keep a typo or a hostile request from queueing work
 * that would never end or sizes that overflow.
 */
export const CONFIG_LIMITS = {
  particles: 64,
  cycles: 200,
  epochs: 1000,
  batchSize: 65_536,
  /** trainSubset, testSubset and bnRecalibrationExamples: more images than any supported data set has. */
  examples: 1_000_000,
  lr: 10,
  weightDecay: 1,
  listItems: 100,
  stringLength: 200,
  pathLength: 4096,
  tags: 50,
  tagLength: 100,
} as const;

/** Every number is finite: JSON's `1e999` and GraphQL's Float literal `1e999` parse to Infinity. */
const finite = z.number().finite({ message: "must be a finite number" });
const positiveInt = finite.int().positive();
const nonNegativeInt = finite.int().nonnegative();
const fraction = finite.gt(0).lt(1);
const epochCount = nonNegativeInt.max(CONFIG_LIMITS.epochs);
const exampleCount = positiveInt.max(CONFIG_LIMITS.examples);
const learningRate = finite.positive().max(CONFIG_LIMITS.lr);
const shortString = z.string().min(1).max(CONFIG_LIMITS.stringLength);

const dataSchema = z
  .object({
    name: z.enum(DATASET_NAMES),
    /** Directory holding the data set's files; each data set has its own default. */
    dir: z.string().min(1).max(CONFIG_LIMITS.pathLength).optional(),
    /** Use only the first N training images (N ≥ 1); absent = all. */
    trainSubset: exampleCount.optional(),
    /** Use only the first N test images; absent = the full test set. */
    testSubset: exampleCount.optional(),
    /** Random crop (4-pixel padding) and horizontal flip on training batches (images data sets). */
    augment: z.boolean().default(false),
  })
  .strict();

const modelSchema = z
  .object({
    name: z.enum(MODEL_NAMES),
    /** BatchNorm after each convolution of the conv-N nets; resnet-20 always has it. */
    batchNorm: z.boolean().default(false),
    /**
     * Weight initialisation: `kaiming-normal` (open_lth's) or `torch-default` (PyTorch's Linear and
     * Conv2d defaults). No default is filled in, so configs written before the option keep their
     * hash; absent means kaiming-normal.
     */
    init: z.enum(MODEL_INITS).optional(),
  })
  .strict();

const methodSchema = z
  .object({
    name: z.enum(METHOD_NAMES),
    /** Particles per cycle; the single-particle methods need exactly 1 (filled when absent). */
    particles: positiveInt.max(CONFIG_LIMITS.particles).optional(),
  })
  .strict();

const pruningSchema = z
  .object({
    /** Fraction of the remaining prunable weights removed at each pruning. */
    rate: fraction.default(0.2),
    /** Pruned cycles after the dense cycle 0: the run trains cycles 0..cycles. */
    cycles: nonNegativeInt.max(CONFIG_LIMITS.cycles).default(25),
    scope: z.enum(PRUNING_SCOPES).default("global"),
    /** Prunable layers (by the model's layer names) left dense. */
    exclude: z.array(shortString).max(CONFIG_LIMITS.listItems).default([]),
  })
  .strict();

const trainingSchema = z
  .object({
    /** Epochs each cycle trains from the rewind point. */
    epochs: positiveInt.max(CONFIG_LIMITS.epochs).default(10),
    /** Dense epochs before the rewind point, at the peak learning rate. */
    rewindEpochs: epochCount.default(1),
    batchSize: positiveInt.max(CONFIG_LIMITS.batchSize).default(128),
    lr: learningRate.default(0.1),
    momentum: finite.min(0).lt(1).default(0.9),
    weightDecay: finite.min(0).max(CONFIG_LIMITS.weightDecay).default(1e-4),
    schedule: z.enum(SCHEDULE_NAMES).default("cosine"),
    /** Linear warm-up from 0 to lr over the first epochs of each cycle. */
    warmupEpochs: epochCount.default(0),
    /** Step schedule: fractions of the cycle's epochs at which lr is multiplied by stepGamma. */
    stepMilestones: z.array(fraction).max(CONFIG_LIMITS.listItems).default([0.5, 0.75]),
    stepGamma: fraction.default(0.1),
    /** Training images used to recompute BatchNorm statistics after averaging. */
    bnRecalibrationExamples: exampleCount.default(10_000),
  })
  .strict();

const swaSchema = z
  .object({
    /** Learning rate of the SWA phase (reached by the cycle's schedule, then held). */
    lr: learningRate.default(0.05),
    /** Fraction of the cycle's epochs after which the SWA phase begins. */
    startFraction: fraction.default(0.75),
    /** A snapshot is averaged every this many epochs, counted back from the last. */
    everyEpochs: positiveInt.max(CONFIG_LIMITS.epochs).default(1),
  })
  .strict();

/**
 * What a run keeps of its models as each cycle completes: `all` (every particle, which the
 * analyses need), `averages` (each cycle's averaged model; particles are deleted once their cycle
 * is averaged), `final` (only the latest averaged model; earlier ones go as the next completes).
 * Masks, summaries, metrics and the rewind point are always kept, so a run resumes from any of them.
 */
export const STORAGE_KEEP = ["all", "averages", "final"] as const;
export type StorageKeep = (typeof STORAGE_KEEP)[number];

const storageSchema = z
  .object({
    keep: z.enum(STORAGE_KEEP).default("all"),
  })
  .strict();

/**
 * Where the run computes. `backend` requires one TensorFlow.js backend of the fleet's workers
 * (`any`, the default, lets the first worker decide and keeps the rest of the run on its backend).
 * No default is filled in and, like `storage`, it stays out of the hash: it chooses where the run
 * computes, as `swamp run --backend` does, so configs written before the option keep their hash.
 */
const executionSchema = z
  .object({
    backend: z.enum(EXECUTION_BACKENDS).optional(),
  })
  .strict();

export const experimentConfigSchema = z
  .object({
    version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
    name: z.string().min(1).max(CONFIG_LIMITS.stringLength).regex(/^[A-Za-z0-9._-]+$/, "use only letters, digits, '.', '_' and '-'"),
    seed: nonNegativeInt.max(2 ** 31 - 1).default(0),
    data: dataSchema,
    model: modelSchema,
    method: methodSchema,
    pruning: pruningSchema.default({}),
    training: trainingSchema.default({}),
    swa: swaSchema.default({}),
    storage: storageSchema.default({}),
    execution: executionSchema.optional(),
    tags: z.array(z.string().min(1).max(CONFIG_LIMITS.tagLength)).max(CONFIG_LIMITS.tags).default([]),
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
    for (const problem of pruningProblems(config)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...problem });
  })
  .transform((config) => ({
    ...config,
    method: { ...config.method, particles: config.method.particles ?? (METHOD_TRAITS[config.method.name].multiParticle ? 4 : 1) },
  }));

interface PruningFields {
  data: { name: DatasetName };
  model: { name: ModelName };
  pruning: { rate: number; cycles: number; scope: PruningScope; exclude: string[] };
}

/**
 * Excluded layers the model lacks, and schedules that leave a pruned group without weights before
 * the last cycle: layerwise, any prunable layer; global, all of them together (one layer emptying
 * first depends on the weights, so the engine stops with an error when that happens).
 */
function pruningProblems(config: PruningFields): Array<{ path: (string | number)[]; message: string }> {
  // Zod runs refinements on values whose fields failed a bound (2 ** 40 cycles); those are already reported.
  const { rate, cycles, scope } = config.pruning;
  if (!(Number.isInteger(cycles) && cycles >= 0 && cycles <= CONFIG_LIMITS.cycles && rate > 0 && rate < 1)) return [];
  const layers = prunableLayers(config.model.name, DATASET_INPUTS[config.data.name]);
  const names = new Set(layers.map((layer) => layer.name));
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  config.pruning.exclude.forEach((name, index) => {
    if (!names.has(name)) problems.push({ path: ["pruning", "exclude", index], message: `${config.model.name} has no prunable layer named ${JSON.stringify(name)} (it has ${[...names].join(", ")})` });
  });
  const pruned = layers.filter((layer) => !config.pruning.exclude.includes(layer.name));
  const rule = PRUNING_RULES[scope];
  const groups = rule.group(pruned).map((group) => ({ what: rule.describeGroup(group), size: group.reduce((sum, layer) => sum + layer.size, 0) }));
  const emptied = groups
    .filter((group) => group.size > 0)
    .map((group) => ({ ...group, cycle: cycleEmptied(group.size, rate, cycles) }))
    .filter((group): group is typeof group & { cycle: number } => group.cycle !== null)
    .sort((a, b) => a.cycle - b.cycle)[0];
  if (emptied) {
    problems.push({
      path: ["pruning", "cycles"],
      message: `${scope} pruning at rate ${rate} leaves ${emptied.what} with no weights at cycle ${emptied.cycle}; use at most ${emptied.cycle - 1} cycles or a lower pruning.rate`,
    });
  }
  return problems;
}

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
  if (issue.code === z.ZodIssueCode.invalid_type && issue.expected === "number" && issue.received === "nan") return "must be a finite number";
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
 * The run's identity: sha256 of the canonical filled config, without `name`, `tags`, `storage`
 * and `execution`, which label a run, choose what it keeps or where it computes, but not what it
 * computes (a backend's rounding aside, which `swamp run --backend` leaves out of the hash too).
 */
export function configHash(config: ExperimentConfig): string {
  // Retention changes what is kept, never what is computed: runs differing only in it are one run.
  const { name: _name, tags: _tags, storage: _storage, execution: _execution, ...identity } = config;
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

/** The backend the config requires of its workers: `any` when it requires none. */
export function requiredBackend(config: Pick<ExperimentConfig, "execution">): ExecutionBackend {
  return config.execution?.backend ?? "any";
}

/**
 * Where an experiment's next tasks must run: the backend its first recorded result pinned it to
 * (`pinned`, as stored; null before), else the one its config requires, else `any`, which only its
 * first task gets, since the first result pins the rest.
 */
export function experimentRoute(config: Pick<ExperimentConfig, "execution">, pinned: string | null): ExecutionBackend {
  const known = (BACKEND_NAMES as readonly string[]).includes(pinned ?? "") ? (pinned as BackendName) : undefined;
  return known ?? requiredBackend(config);
}

/** Total cycles trained, the dense cycle 0 included. */
export function cycleCount(config: ExperimentConfig): number {
  return config.pruning.cycles + 1;
}
