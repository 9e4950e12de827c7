/**
 * `swamp run`: a whole experiment in one process, particles of a cycle in parallel on task
 * threads, every output written to a run directory. Each step first checks whether its output is
 * already there (open_lth's habit), so a stopped run resumes where it stopped and gives the same
 * masks and accuracies as an uninterrupted one.
 */
import { availableParallelism } from "node:os";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { rm } from "node:fs/promises";
import { relative } from "node:path";
import { canonicalJson, configHash, cycleCount, InvalidConfigError, requiredBackend, type ExperimentConfig } from "../../schema/config.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { LoadedDataset } from "../data/dataset.js";
import { getDataset } from "../data/registry.js";
import type { BackendInfo } from "../engine/backend.js";
import type { TaskProgress } from "../engine/context.js";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import { denseMask, type Mask } from "../engine/mask.js";
import type { WeightLayout, WeightValues } from "../engine/weights.js";
import { decodeWeights, encodeWeights, weightsHeader } from "../../schema/weights-file.js";
import type { AggregateCycleOutput } from "../tasks/aggregate-cycle.js";
import type { TrainParticleOutput } from "../tasks/train-particle.js";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "./files.js";
import { RunLayout } from "./run-layout.js";
import { readRunModel, runModelPath, writeRunModel } from "./run-models.js";
import { runDirectoryLedger } from "./run-ledger.js";
import { planNextTasks } from "../../protocol/plan.js";
import type { TaskDraft } from "../../schema/fleet-messages.js";
import type { PlannedTaskKind } from "../../protocol/task-kinds.js";
import type { CycleSummary, ParticleSummary } from "./summaries.js";
import { ThreadPool } from "./thread-pool.js";

export interface RunOptions {
  config: ExperimentConfig;
  outDir: string;
  resume: boolean;
  /** Task threads; default: one per core, at most one per particle. */
  workers?: number;
  /** Forces a TF.js backend (otherwise SWAMP_BACKEND or automatic). */
  backend?: string;
  /** Profile each cycle's averaged model (inference cost); default true. */
  profile?: boolean;
  onEvent?: (event: RunEvent) => void;
}

export type RunEvent =
  | { type: "started"; outDir: string; configHash: string; backend: BackendInfo; workers: number; cycles: number; particles: number; resumed: boolean }
  | { type: "pretrain-progress"; progress: TaskProgress }
  | { type: "pretrain-done"; seconds: number; reused: boolean }
  | { type: "particle-progress"; cycle: number; particle: number; progress: TaskProgress }
  | { type: "particle-done"; cycle: number; particle: number; summary: ParticleSummary; reused: boolean }
  | { type: "cycle-done"; summary: CycleSummary; reused: boolean };

export interface RunResult {
  outDir: string;
  configHash: string;
  cycles: CycleSummary[];
}

export class RunStopped extends Error {
  constructor(readonly outDir: string) {
    super(`run stopped; continue it with --resume (outputs in ${outDir})`);
    this.name = "RunStopped";
  }
}

export class RunDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunDirectoryError";
  }
}

/** The plan's experiment id for the one experiment of a run directory (it appears in no output). */
const LOCAL_EXPERIMENT_ID = "local";

/** What the steps of one run share: the rewind point, and the current cycle's particles until it is aggregated. */
interface CycleRun {
  rewind: WeightValues | undefined;
  particles: Map<number, { weights: WeightValues; summary: ParticleSummary }>;
  /** When the current cycle's first stage began (performance.now()). */
  started: number;
}

/** A running experiment; `stop()` asks it to end at the next training step. */
export class LocalRun {
  private pool: ThreadPool | undefined;
  private stopped = false;
  readonly layout: RunLayout;
  readonly hash: string;

  constructor(private readonly options: RunOptions) {
    this.layout = new RunLayout(options.outDir);
    this.hash = configHash(options.config);
  }

  stop(): void {
    this.stopped = true;
    this.pool?.requestStop();
  }

  async execute(): Promise<RunResult> {
    const { config } = this.options;
    const resumed = await this.prepareDirectory();
    const dataset = await loadDataset(config);
    const workers = Math.max(1, Math.min(this.options.workers ?? availableParallelism(), config.method.particles));
    this.pool = await ThreadPool.start(workers, { config, dataset, backend: runBackend(config, this.options.backend) });
    if (this.stopped) this.pool.requestStop();
    try {
      await writeJsonAtomic(this.layout.runInfo, { configHash: this.hash, backend: this.pool.backend, workers, startedAt: new Date().toISOString(), node: process.version });
      this.emit({ type: "started", outDir: this.options.outDir, configHash: this.hash, backend: this.pool.backend, workers, cycles: cycleCount(config), particles: config.method.particles, resumed });
      return await this.runCycles(this.pool);
    } catch (error) {
      if (this.stopped) throw new RunStopped(this.options.outDir);
      throw error;
    } finally {
      await this.pool.close();
    }
  }

  private emit(event: RunEvent): void {
    this.options.onEvent?.(event);
  }

  /** Returns whether an earlier run is being resumed. */
  private async prepareDirectory(): Promise<boolean> {
    const { config, resume, outDir } = this.options;
    const filled = `${JSON.stringify(config, null, 2)}\n`;
    if (exists(this.layout.config)) {
      if (!resume) throw new RunDirectoryError(`${outDir} already holds a run; pass --resume to continue it, or choose another --out`);
      const stored = await readJson<ExperimentConfig>(this.layout.config);
      if (configHash(stored) !== this.hash) {
        throw new RunDirectoryError(`${outDir} holds a run of a different config (hash ${configHash(stored).slice(0, 12)}, this config ${this.hash.slice(0, 12)}); choose another --out`);
      }
      await this.dropMetricsOfUnfinishedTasks();
      return true;
    }
    if (resume && exists(outDir) && !exists(this.layout.config)) {
      throw new RunDirectoryError(`${outDir} holds no run to resume (no config.json)`);
    }
    await writeFileAtomic(this.layout.config, filled);
    return false;
  }

  /** Metrics are appended as tasks finish; a stop between an append and its marker would duplicate them. */
  private async dropMetricsOfUnfinishedTasks(): Promise<void> {
    if (!exists(this.layout.metrics)) return;
    const lines = (await readFile(this.layout.metrics, "utf8")).split("\n").filter((line) => line.length > 0);
    const kept = lines.filter((line) => {
      const point = JSON.parse(line) as MetricPoint & { task: string };
      if (point.task === "pretrain") return exists(this.layout.rewindWeights);
      if (point.particle !== undefined) return exists(this.layout.particleSummary(point.cycle, point.particle));
      return exists(this.layout.cycleSummary(point.cycle));
    });
    await writeFile(this.layout.metrics, kept.map((line) => `${line}\n`).join(""));
  }

  private async appendMetrics(task: string, points: MetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    await appendFile(this.layout.metrics, points.map((p) => `${canonicalJson({ task, ...p })}\n`).join(""));
  }

  /**
   * Runs what the plan (protocol/plan.ts, the one the coordinator uses) says is next, with the run
   * directory as its ledger, until it says the experiment is complete.
   */
  private async runCycles(pool: ThreadPool): Promise<RunResult> {
    const { config } = this.options;
    const layout = pool.layout;
    const sizes = layout.prunable.map((p) => layout.entries[p]!.size);
    const summaries: CycleSummary[] = [];
    const run: CycleRun = { rewind: undefined, particles: new Map(), started: 0 };
    if (exists(this.layout.rewindWeights)) {
      run.rewind = decodeWeights(await readFile(this.layout.rewindWeights), this.layout.rewindWeights).values;
      this.emit({ type: "pretrain-done", seconds: 0, reused: true });
    }
    for (let cycle = 0; exists(this.layout.cycleSummary(cycle)); cycle++) {
      const summary = await readJson<CycleSummary>(this.layout.cycleSummary(cycle));
      summaries.push(summary);
      this.emit({ type: "cycle-done", summary, reused: true });
    }
    const maskOf = async (cycle: number): Promise<Mask> => {
      if (cycle > 0) return unpackMask(new Uint8Array(await readFile(this.layout.mask(cycle))), sizes);
      const dense = denseMask(layout);
      if (!exists(this.layout.mask(0))) await writeFileAtomic(this.layout.mask(0), packMask(dense));
      return dense;
    };
    /** Trains the cycle's particles, reusing those already in the run directory. */
    const trainParticles = async (cycle: number): Promise<void> => {
      const mask = await maskOf(cycle);
      run.started = performance.now();
      await Promise.all(
        Array.from({ length: config.method.particles }, (_, particle) =>
          this.particle(pool, cycle, particle, run.rewind!, mask).then((done) => run.particles.set(particle, done)),
        ),
      );
    };
    /** How `swamp run` runs each planned kind's tasks and where it writes their outputs (the one place a kind is named here). */
    const steps: { [K in PlannedTaskKind]: (tasks: Array<Extract<TaskDraft, { kind: K }>>) => Promise<void> } = {
      pretrain: async () => {
        run.rewind = await this.pretrain(pool);
      },
      "train-particle": async (tasks) => trainParticles(tasks[0]!.cycle),
      "aggregate-cycle": async ([task]) => {
        const { cycle, final } = task!;
        const mask = await maskOf(cycle);
        // Resumed with every particle of the cycle already trained: they are read back.
        if (run.particles.size === 0) await trainParticles(cycle);
        const particles = Array.from({ length: config.method.particles }, (_, particle) => run.particles.get(particle)!);
        run.particles.clear();
        const summary = await this.aggregateCycle(pool, layout, cycle, particles, mask, final, run.started);
        summaries.push(summary);
        await writeFileAtomic(this.layout.cycles, summaries.map((s) => `${JSON.stringify(s)}\n`).join(""));
        this.emit({ type: "cycle-done", summary, reused: false });
      },
    };
    for (;;) {
      const plan = planNextTasks({ experimentId: LOCAL_EXPERIMENT_ID, config, ledger: runDirectoryLedger(this.layout, config) });
      if (plan.kind === "complete") break;
      const kind = plan.tasks[0]!.kind as PlannedTaskKind;
      await (steps[kind] as (tasks: TaskDraft[]) => Promise<void>)(plan.tasks);
    }
    return { outDir: this.options.outDir, configHash: this.hash, cycles: summaries };
  }

  private async pretrain(pool: ThreadPool): Promise<WeightValues> {
    const metrics: MetricPoint[] = [];
    const output = await pool.run<"pretrain">(
      { kind: "pretrain" },
      { onMetrics: (points) => metrics.push(...points), onProgress: (progress) => this.emit({ type: "pretrain-progress", progress }) },
    );
    await this.appendMetrics("pretrain", metrics);
    await writeFileAtomic(this.layout.rewindWeights, encodeWeights(output.weights, weightsHeader(pool.layout)));
    this.emit({ type: "pretrain-done", seconds: output.seconds, reused: false });
    return output.weights;
  }

  private async aggregateCycle(
    pool: ThreadPool,
    layout: WeightLayout,
    cycle: number,
    particles: Array<{ weights: WeightValues; summary: ParticleSummary }>,
    mask: Mask,
    final: boolean,
    started: number,
  ): Promise<CycleSummary> {
    const aggregate = await pool.run<"aggregate-cycle">({ kind: "aggregate-cycle", cycle, particleWeights: particles.map((p) => p.weights), mask, final, profile: this.options.profile ?? true });
    await this.writeCycleOutputs(layout, aggregate, mask);
    const summary = this.cycleSummary(aggregate, particles.map((p) => p.summary), (performance.now() - started) / 1000);
    const time = Date.now();
    await this.appendMetrics(`cycle-${cycle}`, [
      { cycle, key: "test/accuracy", step: 0, epoch: this.options.config.training.epochs, value: aggregate.accuracy, time },
      { cycle, key: "test/loss", step: 0, epoch: this.options.config.training.epochs, value: aggregate.loss, time },
      { cycle, key: "sparsity", step: 0, epoch: this.options.config.training.epochs, value: aggregate.sparsity, time },
    ]);
    await writeJsonAtomic(this.layout.cycleSummary(cycle), summary);
    await this.applyRetention(cycle);
    return summary;
  }

  private async particle(pool: ThreadPool, cycle: number, particle: number, rewind: WeightValues, mask: Mask): Promise<{ weights: WeightValues; summary: ParticleSummary }> {
    const weightsPath = runModelPath(this.layout, cycle, particle);
    const summaryPath = this.layout.particleSummary(cycle, particle);
    if (exists(summaryPath) && exists(weightsPath)) {
      const summary = await readJson<ParticleSummary>(summaryPath);
      const { values } = await readRunModel(this.layout, cycle, particle);
      this.emit({ type: "particle-done", cycle, particle, summary, reused: true });
      return { weights: values, summary };
    }
    const metrics: MetricPoint[] = [];
    const output: TrainParticleOutput = await pool.run<"train-particle">(
      { kind: "train-particle", cycle, particle, rewindWeights: rewind, mask },
      {
        onMetrics: (points) => metrics.push(...points),
        onProgress: (progress) => this.emit({ type: "particle-progress", cycle, particle, progress }),
      },
    );
    const { weights, kind: _kind, ...rest } = output;
    const summary: ParticleSummary = rest;
    await writeRunModel(this.layout, cycle, particle, weights, pool.layout, packMask(mask));
    await this.appendMetrics(`cycle-${cycle}/particle-${particle}`, metrics);
    await writeJsonAtomic(summaryPath, summary);
    this.emit({ type: "particle-done", cycle, particle, summary, reused: false });
    return { weights, summary };
  }

  /** The averaged model under the cycle's mask; the TF.js and self-contained sparse copies are made on export. */
  private async writeCycleOutputs(layout: WeightLayout, aggregate: AggregateCycleOutput, mask: Mask): Promise<void> {
    const { cycle } = aggregate;
    await writeRunModel(this.layout, cycle, "average", aggregate.weights, layout, packMask(mask));
    if (aggregate.nextMask) await writeFileAtomic(this.layout.mask(cycle + 1), packMask(aggregate.nextMask));
  }

  /**
   * Applies `storage.keep` once the cycle's summary is written: what it deletes no later step
   * reads (a resumed run needs only the rewind point, the masks and the summaries of finished cycles).
   */
  private async applyRetention(cycle: number): Promise<void> {
    const { keep } = this.options.config.storage;
    if (keep === "all") return;
    for (let particle = 0; particle < this.options.config.method.particles; particle++) await rm(runModelPath(this.layout, cycle, particle), { force: true });
    if (keep === "final" && cycle > 0) await rm(runModelPath(this.layout, cycle - 1, "average"), { force: true });
  }

  private cycleSummary(aggregate: AggregateCycleOutput, particles: ParticleSummary[], seconds: number): CycleSummary {
    const { cycle } = aggregate;
    const rel = (path: string) => relative(this.options.outDir, path);
    const particleAccuracies = particles.map((p) => p.accuracy);
    return {
      cycle,
      sparsity: aggregate.sparsity,
      accuracy: aggregate.accuracy,
      loss: aggregate.loss,
      particleAccuracies,
      particleLosses: particles.map((p) => p.loss),
      bestParticleGap: Math.max(...particleAccuracies) - aggregate.accuracy,
      alive: aggregate.alive,
      total: aggregate.total,
      layers: aggregate.layers,
      seconds,
      ...(aggregate.inference ? { inference: aggregate.inference } : {}),
      mask: rel(this.layout.mask(cycle)),
      weights: rel(runModelPath(this.layout, cycle, "average")),
    };
  }
}

export async function loadDataset(config: ExperimentConfig): Promise<LoadedDataset> {
  const definition = getDataset(config.data.name);
  if (config.data.augment && !definition.supportsAugmentation) {
    throw new InvalidConfigError([{ path: "data.augment", message: `data set ${config.data.name} does not support augmentation` }]);
  }
  return definition.load({ dir: config.data.dir, trainSubset: config.data.trainSubset, testSubset: config.data.testSubset });
}

export async function runExperiment(options: RunOptions): Promise<RunResult> {
  return new LocalRun(options).execute();
}

/** The backend a local run forces: the one its config requires (execution.backend), else the one asked for. */
function runBackend(config: ExperimentConfig, asked: string | undefined): string | undefined {
  const required = requiredBackend(config);
  if (required === "any") return asked;
  if (asked !== undefined && asked !== "" && asked !== required) {
    throw new InvalidConfigError([{ path: "execution.backend", message: `requires ${JSON.stringify(required)}, but --backend asks for ${JSON.stringify(asked)}` }]);
  }
  return required;
}
