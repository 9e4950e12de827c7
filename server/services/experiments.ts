import type { EntityManager } from "typeorm";
import { configHash, cycleCount, parseExperimentConfig } from "../../schema/config.js";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { ArtifactRow } from "../entities/artifact.js";
import { ExperimentRow } from "../entities/experiment.js";
import { dataDirProblem } from "./data-roots.js";
import { InvalidInputError, NotFoundError, StateConflictError, type InputProblem } from "./errors.js";
import type { Tx } from "./transaction.js";
import { normaliseTags, requireUuid } from "./validation.js";

export interface CreateExperimentInput {
  /** Exactly the JSON of a config file; validated with the shared config schema. */
  config: unknown;
  /** Who asked (the token's name), kept for the record. */
  owner?: string | null;
  /** Directories `data.dir` must resolve inside (SWAMP_DATA_ROOTS); absent for trusted in-process callers, which may use any path. */
  dataRoots?: readonly string[];
  /** The sweep it belongs to, when a sweep created it. */
  sweepId?: string | null;
}

/** Validates the config and stores a `queued` experiment; every config problem is reported at once. */
export async function createExperiment(tx: Tx, input: CreateExperimentInput): Promise<ExperimentRow> {
  const parsed = parseExperimentConfig(input.config);
  if (!parsed.ok) throw invalidInputFromProblems("invalid experiment config", parsed.problems);
  const config = parsed.config;
  if (input.dataRoots && config.data.dir !== undefined) {
    const problem = await dataDirProblem(config.data.dir, input.dataRoots);
    if (problem) throw invalidInputFromProblems("invalid experiment config", [{ path: "data.dir", message: problem }]);
  }
  const repository = tx.manager.getRepository(ExperimentRow);
  const row = repository.create({
    name: config.name,
    config: config as unknown as Record<string, unknown>,
    configHash: configHash(config),
    method: config.method.name,
    model: config.model.name,
    dataset: config.data.name,
    tags: normaliseTags(config.tags, "config.tags"),
    status: "queued",
    error: null,
    owner: input.owner ?? null,
    sweepId: input.sweepId ?? null,
    cyclesPlanned: cycleCount(config),
    particlesPerCycle: config.method.particles,
  });
  const saved = await repository.save(row);
  const stored = await repository.findOneByOrFail({ id: saved.id });
  tx.publishAfterCommit("experiment-updated", stored.id, { experimentId: stored.id, status: stored.status, updatedAt: stored.updatedAt.toISOString() });
  return stored;
}

/** One error listing every problem, e.g. `invalid experiment config (2 problems): training.lr: …; seed: …`. */
export function invalidInputFromProblems(what: string, problems: InputProblem[]): InvalidInputError {
  const list = problems.map((p) => `${p.path}: ${p.message}`).join("; ");
  return new InvalidInputError(`${what} (${problems.length} problem${problems.length === 1 ? "" : "s"}): ${list}`, problems);
}

export const MAX_NOTES_LENGTH = 10_000;

/** Replaces an experiment's notes (free text, at most MAX_NOTES_LENGTH characters). */
export async function setExperimentNotes(tx: Tx, experimentId: string, notes: string): Promise<ExperimentRow> {
  const id = requireUuid(experimentId, "id");
  if (notes.length > MAX_NOTES_LENGTH) throw InvalidInputError.single("notes", `must be at most ${MAX_NOTES_LENGTH} characters, got ${notes.length}`);
  const result = await tx.manager.createQueryBuilder().update(ExperimentRow).set({ notes, updatedAt: () => "clock_timestamp()" }).where("id = :id", { id }).execute();
  if (result.affected === 0) throw new NotFoundError(`no experiment with id ${id}`);
  const row = await tx.manager.getRepository(ExperimentRow).findOneByOrFail({ id });
  tx.publishAfterCommit("experiment-updated", id, { experimentId: id, status: row.status, updatedAt: row.updatedAt.toISOString() });
  return row;
}

export async function findExperiment(manager: EntityManager, id: string): Promise<ExperimentRow | null> {
  return manager.getRepository(ExperimentRow).findOneBy({ id: requireUuid(id, "id") });
}

export async function requireExperiment(manager: EntityManager, id: string): Promise<ExperimentRow> {
  const row = await findExperiment(manager, id);
  if (!row) throw new NotFoundError(`no experiment with id ${id}`);
  return row;
}

export interface MarkStatusOptions {
  /** Why it failed (for `failed`), or null to clear an earlier error. */
  error?: string | null;
  /** Only move from these states; anything else is a StateConflictError. Default: any state. */
  from?: readonly ExperimentStatus[];
}

/**
 * Moves an experiment to `status`, stamping `startedAt` the first time it runs and `finishedAt`
 * when it ends (cleared again when it is queued for a retry). Atomic: concurrent callers cannot
 * both move it out of the same state.
 */
export async function markExperimentStatus(tx: Tx, experimentId: string, status: ExperimentStatus, options: MarkStatusOptions = {}): Promise<ExperimentRow> {
  const id = requireUuid(experimentId, "experimentId");
  const finished = status === "completed" || status === "failed" || status === "cancelled";
  const update = tx.manager
    .createQueryBuilder()
    .update(ExperimentRow)
    .set({
      status,
      updatedAt: () => "clock_timestamp()",
      ...(status === "running" ? { startedAt: () => "coalesce(started_at, clock_timestamp())" } : {}),
      ...(finished ? { finishedAt: () => "clock_timestamp()" } : { finishedAt: null }),
      ...(options.error !== undefined ? { error: options.error } : {}),
    })
    .where("id = :id", { id });
  if (options.from) update.andWhere("status IN (:...from)", { from: options.from });
  const result = await update.execute();
  const row = await tx.manager.getRepository(ExperimentRow).findOneBy({ id });
  if (!row) throw new NotFoundError(`no experiment with id ${id}`);
  if (result.affected === 0) {
    throw new StateConflictError(`experiment ${id} is ${row.status}; only ${options.from!.join(" or ")} experiments can become ${status}`);
  }
  tx.publishAfterCommit("experiment-updated", id, { experimentId: id, status: row.status, updatedAt: row.updatedAt.toISOString() });
  return row;
}

export function cancelExperiment(tx: Tx, experimentId: string): Promise<ExperimentRow> {
  return markExperimentStatus(tx, experimentId, "cancelled", { from: ["queued", "running"] });
}

/**
 * Queues a failed or cancelled experiment again; what it already recorded is kept and resumed from.
 * An imported experiment is refused: the fleet never trained it (no pretraining or particle task
 * results to resume from); a partial run is continued with `swamp run --resume` and imported again.
 */
export async function retryExperiment(tx: Tx, experimentId: string): Promise<ExperimentRow> {
  const id = requireUuid(experimentId, "id");
  const imported: Array<{ import_key: string | null }> = await tx.manager.query(`SELECT import_key FROM experiments WHERE id = $1`, [id]);
  if (imported[0]?.import_key) {
    throw new StateConflictError(`experiment ${id} was imported from a swamp run directory; continue that run with swamp run --resume and import it again`);
  }
  return markExperimentStatus(tx, id, "queued", { from: ["failed", "cancelled"], error: null });
}

export async function setExperimentTags(tx: Tx, experimentId: string, tags: readonly string[]): Promise<ExperimentRow> {
  const id = requireUuid(experimentId, "id");
  const normalised = normaliseTags(tags, "tags");
  const result = await tx.manager
    .createQueryBuilder()
    .update(ExperimentRow)
    .set({ tags: normalised, updatedAt: () => "clock_timestamp()" })
    .where("id = :id", { id })
    .execute();
  if (result.affected === 0) throw new NotFoundError(`no experiment with id ${id}`);
  const row = await tx.manager.getRepository(ExperimentRow).findOneByOrFail({ id });
  tx.publishAfterCommit("experiment-updated", id, { experimentId: id, status: row.status, updatedAt: row.updatedAt.toISOString() });
  return row;
}

/** Where the bytes of an experiment's artifacts are, so they can be removed after the rows. */
export interface DeletedExperiment {
  id: string;
  artifactLocations: string[];
}

/**
 * Removes an experiment with its cycles, particles, metric series and points and artifact rows.
 * Returns the locations of artifacts no other experiment refers to; the caller removes their bytes
 * after commit (a file deleted before a rollback could not be brought back).
 */
export async function deleteExperiment(tx: Tx, experimentId: string): Promise<DeletedExperiment> {
  const id = requireUuid(experimentId, "id");
  const locked = await tx.manager.query(`SELECT id FROM experiments WHERE id = $1 FOR UPDATE`, [id]);
  if (locked.length === 0) throw new NotFoundError(`no experiment with id ${id}`);
  const artifacts: Array<{ location: string }> = await tx.manager
    .getRepository(ArtifactRow)
    .createQueryBuilder("a")
    .select("DISTINCT a.location", "location")
    .where("a.experiment_id = :id", { id })
    .andWhere("NOT EXISTS (SELECT 1 FROM artifacts o WHERE o.location = a.location AND o.experiment_id IS DISTINCT FROM :id)", { id })
    .getRawMany();
  // Points and their block summaries have no foreign key (it would slow bulk ingest), so they go first, explicitly.
  await tx.manager.query(`DELETE FROM metric_points WHERE series_id IN (SELECT id FROM metric_series WHERE experiment_id = $1)`, [id]);
  await tx.manager.query(`DELETE FROM metric_blocks WHERE series_id IN (SELECT id FROM metric_series WHERE experiment_id = $1)`, [id]);
  await tx.manager.query(`DELETE FROM experiments WHERE id = $1`, [id]);
  tx.publishAfterCommit("experiment-updated", id, { experimentId: id, status: "deleted", updatedAt: new Date().toISOString() });
  return { id, artifactLocations: artifacts.map((a) => a.location) };
}
