import type { EntityManager } from "typeorm";
import { inferenceProfileSchema, type InferenceProfile } from "../../schema/inference-profile.js";
import type { ParticleStatus } from "../../schema/statuses.js";
import { CycleRow, type LayerCount } from "../entities/cycle.js";
import { ExperimentRow } from "../entities/experiment.js";
import { ParticleRow } from "../entities/particle.js";
import { InvalidInputError, NotFoundError } from "./errors.js";
import type { Tx } from "./transaction.js";
import { requireIntInRange, requireUuid } from "./validation.js";

export interface MaskCounts {
  /** Fraction of prunable weights the mask removes, in [0, 1). */
  sparsity: number;
  aliveWeights: number;
  totalWeights: number;
  /** Per prunable layer, in the model's layer order. */
  layers?: LayerCount[];
}

export interface StartCycleInput extends MaskCounts {
  experimentId: string;
  cycleIndex: number;
  /** The mask this cycle trains under, as a bitset. */
  mask?: Uint8Array | null;
  /** One seed per particle; creates the particles as `queued`. */
  particleSeeds: readonly number[];
}

/**
 * Opens a cycle and its particles (idempotent: a cycle or particle that already exists is left as
 * it is), and moves a queued experiment to `running`.
 */
export async function startCycle(tx: Tx, input: StartCycleInput): Promise<CycleRow> {
  const experimentId = requireUuid(input.experimentId, "experimentId");
  const cycleIndex = requireIntInRange(input.cycleIndex, "cycleIndex", 0, 10_000);
  checkMaskCounts(input);
  await lockExperiment(tx.manager, experimentId);
  await tx.manager
    .createQueryBuilder()
    .insert()
    .into(CycleRow)
    .values({
      experimentId,
      index: cycleIndex,
      status: "running",
      sparsity: input.sparsity,
      aliveWeights: input.aliveWeights,
      totalWeights: input.totalWeights,
      layers: input.layers ?? [],
      mask: input.mask ? Buffer.from(input.mask) : null,
    })
    .orIgnore()
    .execute();
  if (input.particleSeeds.length > 0) {
    await tx.manager
      .createQueryBuilder()
      .insert()
      .into(ParticleRow)
      .values(input.particleSeeds.map((seed, index) => ({ experimentId, cycleIndex, index, seed, status: "queued" as const })))
      .orIgnore()
      .execute();
  }
  const moved = await tx.manager
    .createQueryBuilder()
    .update(ExperimentRow)
    .set({ status: "running", startedAt: () => "coalesce(started_at, clock_timestamp())", updatedAt: () => "clock_timestamp()" })
    .where("id = :experimentId AND status = 'queued'", { experimentId })
    .execute();
  if (moved.affected) {
    tx.publishAfterCommit("experiment-updated", experimentId, { experimentId, status: "running", updatedAt: new Date().toISOString() });
  }
  return tx.manager.getRepository(CycleRow).findOneByOrFail({ experimentId, index: cycleIndex });
}

export interface RecordParticleInput {
  experimentId: string;
  cycleIndex: number;
  particleIndex: number;
  status: ParticleStatus;
  /** Needed only when the particle was not created by `startCycle`. */
  seed?: number;
  workerId?: string | null;
  accuracy?: number | null;
  loss?: number | null;
  error?: string | null;
  weightsArtifactId?: string | null;
}

/**
 * Records where a particle stands. A completed particle never moves back to queued or running
 * (a late or re-delivered progress report is ignored), so recording the same result twice is
 * harmless.
 */
export async function recordParticle(tx: Tx, input: RecordParticleInput): Promise<ParticleRow> {
  const experimentId = requireUuid(input.experimentId, "experimentId");
  const cycleIndex = requireIntInRange(input.cycleIndex, "cycleIndex", 0, 10_000);
  const index = requireIntInRange(input.particleIndex, "particleIndex", 0, 1_000);
  if (input.weightsArtifactId) requireUuid(input.weightsArtifactId, "weightsArtifactId");
  const repository = tx.manager.getRepository(ParticleRow);
  const cycle = await tx.manager.query(`SELECT 1 FROM cycles WHERE experiment_id = $1 AND cycle_index = $2`, [experimentId, cycleIndex]);
  if (cycle.length === 0) throw new NotFoundError(`cycle ${cycleIndex} of experiment ${experimentId} has not been started`);
  let row = await repository.createQueryBuilder("p").setLock("pessimistic_write").where({ experimentId, cycleIndex, index }).getOne();
  if (!row) {
    if (input.seed === undefined) throw InvalidInputError.single("seed", `particle ${index} of cycle ${cycleIndex} does not exist yet, so its seed is required`);
    row = repository.create({ experimentId, cycleIndex, index, seed: input.seed, status: "queued", workerId: null, accuracy: null, loss: null, error: null, weightsArtifactId: null, startedAt: null, completedAt: null });
  }
  if (row.status === "completed" && input.status !== "completed") return row;
  const now = new Date();
  row.status = input.status;
  if (input.workerId !== undefined) row.workerId = input.workerId;
  if (input.accuracy !== undefined) row.accuracy = input.accuracy;
  if (input.loss !== undefined) row.loss = input.loss;
  if (input.error !== undefined) row.error = input.error;
  if (input.weightsArtifactId !== undefined) row.weightsArtifactId = input.weightsArtifactId;
  if (input.status === "running" && !row.startedAt) row.startedAt = now;
  if (input.status === "completed" || input.status === "failed") row.completedAt = row.completedAt ?? now;
  if (input.status === "queued") row.completedAt = null;
  const saved = await repository.save(row);
  // A particle recorded after its cycle completed still belongs in the cycle's frontier point.
  const cycleDone = await tx.manager.query(`SELECT 1 FROM cycles WHERE experiment_id = $1 AND cycle_index = $2 AND status = 'completed'`, [experimentId, cycleIndex]);
  if (cycleDone.length > 0) await copyParticleAccuracies(tx.manager, experimentId, cycleIndex);
  return saved;
}

/** Copies the particles' accuracies into their cycle and rebuilds the experiment's frontier. */
async function copyParticleAccuracies(manager: EntityManager, experimentId: string, cycleIndex: number): Promise<void> {
  await manager.query(
    `UPDATE cycles SET particle_accuracies = (SELECT array_agg(accuracy ORDER BY particle_index) FROM particles WHERE experiment_id = $1 AND cycle_index = $2)
      WHERE experiment_id = $1 AND cycle_index = $2`,
    [experimentId, cycleIndex],
  );
  await rebuildFrontier(manager, experimentId);
}

/** Rebuilds the stored frontier of an experiment from its completed cycles (see ExperimentFrontierRow). */
export async function rebuildFrontier(manager: EntityManager, experimentId: string): Promise<void> {
  await manager.query(
    `INSERT INTO experiment_frontiers (experiment_id, plot, updated_at)
     SELECT $1, json_build_object(
              'cycle', coalesce(json_agg(cycle_index ORDER BY cycle_index), '[]'),
              'sparsity', coalesce(json_agg(sparsity ORDER BY cycle_index), '[]'),
              'accuracy', coalesce(json_agg(accuracy ORDER BY cycle_index), '[]'),
              'loss', coalesce(json_agg(loss ORDER BY cycle_index), '[]'),
              'particleAccuracies', coalesce(json_agg(coalesce(particle_accuracies, '{}') ORDER BY cycle_index), '[]'),
              -- As deployed: the faster of the dense and the sparse kernels.
              'latencyMs', coalesce(json_agg(least((inference->'latencyMs'->>'dense')::float8, (inference->'latencyMs'->>'sparse')::float8) ORDER BY cycle_index), '[]'),
              'throughput', coalesce(json_agg(greatest((inference->'throughput'->>'dense')::float8, (inference->'throughput'->>'sparse')::float8) ORDER BY cycle_index), '[]'),
              'sparseBytes', coalesce(json_agg((inference->>'sparseBytes')::float8 ORDER BY cycle_index), '[]'),
              'sparseFlops', coalesce(json_agg((inference->>'sparseFlops')::float8 ORDER BY cycle_index), '[]')),
            clock_timestamp()
       FROM cycles WHERE experiment_id = $1 AND status = 'completed'
     ON CONFLICT (experiment_id) DO UPDATE SET plot = EXCLUDED.plot, updated_at = EXCLUDED.updated_at`,
    [experimentId],
  );
}

export interface RecordCycleInput extends MaskCounts {
  experimentId: string;
  cycleIndex: number;
  /** The averaged model's test accuracy and loss. */
  accuracy: number;
  loss: number;
  mask?: Uint8Array | null;
  weightsArtifactId?: string | null;
  /** Milliseconds per phase. */
  timings?: Record<string, number>;
  /** The averaged model's inference profile, when the worker measured one. */
  inference?: InferenceProfile | null;
}

/**
 * Records a cycle's aggregate and updates the experiment's summary (cycles done, final sparsity,
 * best accuracy). Recording a cycle that is already complete changes nothing and publishes nothing.
 */
export async function recordCycle(tx: Tx, input: RecordCycleInput): Promise<CycleRow> {
  const experimentId = requireUuid(input.experimentId, "experimentId");
  const cycleIndex = requireIntInRange(input.cycleIndex, "cycleIndex", 0, 10_000);
  checkMaskCounts(input);
  if (!Number.isFinite(input.accuracy) || input.accuracy < 0 || input.accuracy > 1) throw InvalidInputError.single("accuracy", "must be a number from 0 to 1");
  if (!Number.isFinite(input.loss)) throw InvalidInputError.single("loss", "must be a finite number");
  if (input.weightsArtifactId) requireUuid(input.weightsArtifactId, "weightsArtifactId");
  const inference = input.inference ? requireInferenceProfile(input.inference) : null;
  await lockExperiment(tx.manager, experimentId);
  const repository = tx.manager.getRepository(CycleRow);
  const existing = await repository.findOneBy({ experimentId, index: cycleIndex });
  if (existing?.status === "completed") return existing;
  const values = {
    experimentId,
    index: cycleIndex,
    status: "completed" as const,
    sparsity: input.sparsity,
    aliveWeights: input.aliveWeights,
    totalWeights: input.totalWeights,
    layers: input.layers ?? existing?.layers ?? [],
    accuracy: input.accuracy,
    loss: input.loss,
    weightsArtifactId: input.weightsArtifactId ?? null,
    timings: input.timings ?? {},
    inference,
    completedAt: new Date(),
    ...(input.mask ? { mask: Buffer.from(input.mask) } : {}),
  };
  if (existing) await repository.update({ experimentId, index: cycleIndex }, values);
  else await repository.insert(values);
  await copyParticleAccuracies(tx.manager, experimentId, cycleIndex);
  await tx.manager.query(
    `UPDATE experiments e
        SET cycles_completed = s.done, final_sparsity = coalesce(s.last_sparsity, 0), best_accuracy = s.best, updated_at = clock_timestamp()
       FROM (SELECT count(*)::int AS done, max(accuracy) AS best, (array_agg(sparsity ORDER BY cycle_index DESC))[1] AS last_sparsity
               FROM cycles WHERE experiment_id = $1 AND status = 'completed') s
      WHERE e.id = $1`,
    [experimentId],
  );
  const experiment = await tx.manager.getRepository(ExperimentRow).findOneByOrFail({ id: experimentId });
  tx.publishAfterCommit("cycle-completed", experimentId, { experimentId, cycleIndex });
  tx.publishAfterCommit("experiment-updated", experimentId, { experimentId, status: experiment.status, updatedAt: experiment.updatedAt.toISOString() });
  return repository.findOneByOrFail({ experimentId, index: cycleIndex });
}

/** Cycles of several experiments at once, in cycle order, keyed by experiment id. */
export async function cyclesOfExperiments(manager: EntityManager, experimentIds: readonly string[]): Promise<Map<string, CycleRow[]>> {
  const rows = experimentIds.length === 0 ? [] : await manager.getRepository(CycleRow).createQueryBuilder("c").where("c.experiment_id IN (:...ids)", { ids: experimentIds }).orderBy("c.experiment_id").addOrderBy("c.cycle_index").getMany();
  return groupBy(rows, (row) => row.experimentId);
}

/** Particles of several experiments at once, keyed by `${experimentId}/${cycleIndex}`. */
export async function particlesOfExperiments(manager: EntityManager, experimentIds: readonly string[]): Promise<Map<string, ParticleRow[]>> {
  const rows =
    experimentIds.length === 0
      ? []
      : await manager.getRepository(ParticleRow).createQueryBuilder("p").where("p.experiment_id IN (:...ids)", { ids: experimentIds }).orderBy("p.experiment_id").addOrderBy("p.cycle_index").addOrderBy("p.particle_index").getMany();
  return groupBy(rows, (row) => `${row.experimentId}/${row.cycleIndex}`);
}

export async function cycleMask(manager: EntityManager, experimentId: string, cycleIndex: number): Promise<Buffer | null> {
  const rows: Array<{ mask: Buffer | null }> = await manager.query(`SELECT mask FROM cycles WHERE experiment_id = $1 AND cycle_index = $2`, [experimentId, cycleIndex]);
  return rows[0]?.mask ?? null;
}

function requireInferenceProfile(input: InferenceProfile): InferenceProfile {
  const parsed = inferenceProfileSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw InvalidInputError.single(["inference", ...issue.path].join("."), issue.message);
}

function checkMaskCounts(input: MaskCounts): void {
  if (!Number.isFinite(input.sparsity) || input.sparsity < 0 || input.sparsity >= 1) throw InvalidInputError.single("sparsity", "must be a number from 0 to below 1");
  requireIntInRange(input.totalWeights, "totalWeights", 0, 2 ** 31 - 1);
  requireIntInRange(input.aliveWeights, "aliveWeights", 0, input.totalWeights);
}

async function lockExperiment(manager: EntityManager, experimentId: string): Promise<void> {
  const rows = await manager.query(`SELECT id FROM experiments WHERE id = $1 FOR UPDATE`, [experimentId]);
  if (rows.length === 0) throw new NotFoundError(`no experiment with id ${experimentId}`);
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
