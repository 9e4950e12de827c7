/**
 * `swamp run`: a whole experiment in one process, particles of a cycle in parallel on task
 * threads, every output written to a run directory. Each step first checks whether its output is
 * already there (open_lth's habit), so a stopped run resumes where it stopped and gives the same
 * masks and accuracies as an uninterrupted one.
 *
 * No kind is named here: the plan (protocol/plan.ts) says which tasks are next, their descriptors
 * which inputs and outputs are artifacts and where the run directory keeps them, and the kind's
 * hooks beside its handler (worker/run/local-kind.ts, registered in worker/tasks/registry.ts) what
 * else a task writes and reports.
 */
import { availableParallelism } from "node:os";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { canonicalJson, configHash, cycleCount, InvalidConfigError, requiredBackend, type ExperimentConfig } from "../../schema/config.js";
import type { MetricPoint } from "../../schema/metrics.js";
import type { ArtifactRef, TaskDraft } from "../../schema/fleet-messages.js";
import type { LoadedDataset } from "../data/dataset.js";
import { getDataset } from "../data/registry.js";
import type { BackendInfo } from "../engine/backend.js";
import type { TaskProgress } from "../engine/context.js";
import { packMask, unpackMask } from "../../schema/mask-bits.js";
import { denseMask } from "../engine/mask.js";
import { planNextTasks, plannedStages, type LedgerEntry } from "../../protocol/plan.js";
import { descriptorOf, placeOf } from "../../protocol/task-kinds.js";
import type { ArtifactContent, TaskPlace } from "../../protocol/task-kind.js";
import { localKindRun } from "../tasks/registry.js";
import type { TaskInput } from "../tasks/types.js";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "./files.js";
import type { LocalRunContext } from "./local-kind.js";
import { RunLayout } from "./run-layout.js";
import { readModelFile } from "./run-models.js";
import { encodeArtifact, handlerInput, outputArtifacts, type ArtifactValue } from "./task-io.js";
import { isRunDirectoryRef, runDirectoryLedger, type RunDirectoryRef } from "./run-ledger.js";
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

/** Decoded outputs of tasks, by the run-directory file that holds them. */
type OutputValues = Map<string, ArtifactValue>;

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

  /** Metrics are appended as tasks finish; a stop between an append and its task's last write would duplicate them. */
  private async dropMetricsOfUnfinishedTasks(): Promise<void> {
    if (!exists(this.layout.metrics)) return;
    const lastWrites = new Map<string, string>();
    for (const { descriptor, places } of plannedStages(this.options.config)) {
      const localRun = localKindRun(descriptor.name);
      for (const place of places) lastWrites.set(localRun.metricsLabel(place), localRun.lastWrite(this.layout, place));
    }
    const lines = (await readFile(this.layout.metrics, "utf8")).split("\n").filter((line) => line.length > 0);
    const kept = lines.filter((line) => {
      const lastWrite = lastWrites.get((JSON.parse(line) as { task: string }).task);
      return lastWrite === undefined || exists(lastWrite);
    });
    await writeFile(this.layout.metrics, kept.map((line) => `${line}\n`).join(""));
  }

  private async appendMetrics(task: string, points: MetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    await appendFile(this.layout.metrics, points.map((p) => `${canonicalJson({ task, ...p })}\n`).join(""));
  }

  /**
   * Runs what the plan (protocol/plan.ts, the one the coordinator uses) says is next, with the run
   * directory as its ledger, until it says the experiment is complete. The outputs of the stage
   * just run stay in memory for the next one; older ones are read back from the run directory.
   */
  private async runCycles(pool: ThreadPool): Promise<RunResult> {
    const { config } = this.options;
    const cycleStarts = new Map<number, number>();
    const run: LocalRunContext = {
      config,
      layout: this.layout,
      profile: this.options.profile ?? true,
      threads: pool.size,
      cycles: [],
      emit: (event) => this.emit(event),
      appendMetrics: (task, points) => this.appendMetrics(task, points),
      cycleStarted: (cycle) => cycleStarts.get(cycle) ?? performance.now(),
    };
    const experiment = { experimentId: LOCAL_EXPERIMENT_ID, config };
    for (const entry of runDirectoryLedger(this.layout, config)) await localKindRun(entry.kind).resumed?.(run, placeOf(entry.kind, entry));
    let held: OutputValues = new Map();
    for (;;) {
      const ledger = runDirectoryLedger(this.layout, config);
      const plan = planNextTasks({ ...experiment, ledger });
      if (plan.kind === "complete") break;
      const first = plan.tasks[0]! as TaskDraft & TaskPlace;
      if (first.cycle !== undefined && !cycleStarts.has(first.cycle)) cycleStarts.set(first.cycle, performance.now());
      held = await this.runStage(pool, run, plan.tasks, ledger, held);
    }
    return { outDir: this.options.outDir, configHash: this.hash, cycles: run.cycles };
  }

  /**
   * Runs the tasks of one stage in parallel and returns the stage's outputs: those it wrote, and
   * those of its tasks the run directory already held (read back, as the next stage needs them).
   */
  private async runStage(pool: ThreadPool, run: LocalRunContext, tasks: TaskDraft[], ledger: readonly LedgerEntry[], held: OutputValues): Promise<OutputValues> {
    const { kind } = tasks[0]!;
    const descriptor = descriptorOf(kind);
    const localRun = localKindRun(kind);
    const stageCycle = (tasks[0] as TaskPlace).cycle ?? null;
    const outputs: OutputValues = new Map();
    // One read (or dense mask) per file and stage, shared by the stage's tasks as one object.
    const reads = new Map<string, Promise<ArtifactValue>>();
    const once = (key: string, make: () => Promise<ArtifactValue>) => {
      let value = reads.get(key);
      if (!value) reads.set(key, (value = make()));
      return value;
    };
    const readBack = (ref: RunDirectoryRef, content: ArtifactContent): Promise<ArtifactValue> =>
      held.get(ref.path) !== undefined
        ? Promise.resolve(held.get(ref.path)!)
        : once(ref.path, async () => {
            const value = await this.readOutput(pool, ref, content);
            await localKindRun(ref.kind).readBack?.(run, ref.place);
            return value;
          });
    /** An input artifact: an earlier task's output, or for a null mask the dense one (kept as its cycle's mask.bin). */
    const resolve = async (content: ArtifactContent, ref: ArtifactRef | null, place: TaskPlace): Promise<ArtifactValue | null> => {
      if (ref === null) {
        if (content !== "mask") return null;
        return once(`dense-mask:${place.cycle ?? ""}`, async () => {
          const dense = denseMask(pool.layout);
          if (place.cycle !== undefined && !exists(this.layout.mask(place.cycle))) await writeFileAtomic(this.layout.mask(place.cycle), packMask(dense));
          return dense;
        });
      }
      if (!isRunDirectoryRef(ref)) throw new Error(`swamp run: an input references sha256:${ref.sha256}, which is not a file of the run directory`);
      return readBack(ref, content);
    };

    // The stage's tasks already done (a stop interrupted the stage): their outputs are read back for the next stage.
    for (const entry of ledger.filter((e) => e.kind === kind && e.cycle === stageCycle)) {
      for (const [name, ref] of Object.entries(entry.outputs)) {
        const content = descriptor.outputArtifacts?.[name];
        if (ref && content && isRunDirectoryRef(ref)) outputs.set(ref.path, await readBack(ref, content));
      }
    }

    await Promise.all(
      tasks.map(async (task) => {
        const place = placeOf(kind, task);
        const { input, maskBits } = await handlerInput(task, descriptor, (content, ref) => resolve(content, ref, place));
        Object.assign(input, localRun.extraInput?.(run));

        const metrics: MetricPoint[] = [];
        const callbacks = {
          onMetrics: (points: MetricPoint[]) => metrics.push(...points),
          onProgress: (progress: TaskProgress) => {
            const event = localRun.progress?.(place, progress);
            if (event) this.emit(event);
          },
        };
        const split = tasks.length < pool.size ? localRun.split?.(run, input) : undefined;
        const output = (
          split
            ? split.join(...(await Promise.all([pool.run(split.input as unknown as TaskInput, callbacks), pool.run(split.beside as unknown as TaskInput)])))
            : await pool.run(input as unknown as TaskInput, callbacks)
        ) as unknown as Record<string, unknown>;
        await this.appendMetrics(localRun.metricsLabel(place), metrics);
        for (const { name, content, value } of outputArtifacts(descriptor, output)) {
          const path = descriptor.runDirectory!.outputs[name]!(this.layout, place);
          await writeFileAtomic(path, encodeArtifact(content, value, pool.layout, maskBits));
          outputs.set(path, value);
        }
        await localRun.finish(run, place, output as never);
      }),
    );
    return outputs;
  }

  /** An output the run directory holds, decoded. */
  private async readOutput(pool: ThreadPool, ref: RunDirectoryRef, content: ArtifactContent): Promise<ArtifactValue> {
    if (content === "mask") return unpackMask(new Uint8Array(await readFile(ref.path)), pool.layout.prunable.map((p) => pool.layout.entries[p]!.size));
    return (await readModelFile(this.layout, ref.path, ref.place.cycle ?? null)).values;
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
