/**
 * Analyses of stored models (issue 16): creating one (its input checked by the kind's schema, its
 * source experiments checked for the cycles it reads), finding and listing them, the task a worker
 * runs for one, and mask overlap computed on request from the masks the cycles table keeps.
 */
import type { EntityManager } from "typeorm";
import { ANALYSIS_KINDS, isAnalysisKind, parseAnalysisInput, type AnalysisInput, type AnalysisKind } from "../../schema/analyses.js";
import { experimentRoute, requireExperimentConfig, type ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef, TaskDraft } from "../../schema/fleet-messages.js";
import { maskLayersOf, maskOverlap, type MaskOverlap } from "../../schema/mask-overlap.js";
import type { AnalysisStatus } from "../../schema/statuses.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { AnalysisSource } from "../../protocol/task-kinds/analyze.js";
import { AnalysisRow } from "../entities/analysis.js";
import { InvalidInputError, NotFoundError, StateConflictError } from "./errors.js";
import type { Tx } from "./transaction.js";
import { requireUuid } from "./validation.js";

export const MAX_ANALYSES_PER_EXPERIMENT_PAGE = 200;
/** The format masks are stored under when the server writes a cycle's mask to the artifact store. */
const MASK_FORMAT = "swamp-mask";

export interface CreateAnalysisInput {
  kind: string;
  /** The experiment the analysis belongs to: sources[0]. */
  experimentId: string;
  /** Further experiments it reads, in source order (ensembles of runs, overlaps across runs, SWAMP vs IMP). */
  otherExperimentIds?: readonly string[];
  input: unknown;
  owner: string | null;
}

/**
 * How many source experiments a kind takes with this input. The worker's registry checks the same
 * (worker/analyses/registry.ts `sourceProblem`); it is repeated here because the server must refuse
 * a request before queueing it and may not load TensorFlow.js.
 */
export function sourceCountProblem(kind: AnalysisKind, input: AnalysisInput<AnalysisKind>, count: number): string | undefined {
  const exactly = (n: number, what: string) => (count === n ? undefined : `${kind} with this input reads ${n === 1 ? "one experiment" : `${n} experiments`} (${what}), got ${count}`);
  switch (kind) {
    case "interpolate":
      return (input as AnalysisInput<"interpolate">).pairs === "swamp-vs-imp" ? exactly(2, "the SWAMP run, then the IMP run") : exactly(1, "one run");
    case "plane":
    case "flatness":
      return exactly(1, "one run");
    case "ensemble":
      return (input as AnalysisInput<"ensemble">).members === "particles" ? exactly(1, "the run whose particles are the members") : undefined;
    case "mask-overlap":
      return count === 1 || count === 2 ? undefined : `mask-overlap reads one experiment (two cycles of it) or two, got ${count}`;
  }
}

/** The cycles each source must have completed for the analysis to read them. */
export function requiredCycles(kind: AnalysisKind, input: AnalysisInput<AnalysisKind>, sourceIndex: number, sourceCount: number): number[] {
  if (kind === "mask-overlap") {
    const [a, b] = (input as AnalysisInput<"mask-overlap">).cycles;
    const cycles: number[] = [];
    if (sourceIndex === 0) cycles.push(a);
    if (sourceIndex === sourceCount - 1) cycles.push(b);
    return cycles;
  }
  const cycle = (input as { cycle: number }).cycle;
  if (kind === "interpolate" && (input as AnalysisInput<"interpolate">).pairs === "cycles") return [cycle - 1, cycle];
  return [cycle];
}

export async function createAnalysis(tx: Tx, request: CreateAnalysisInput): Promise<AnalysisRow> {
  if (!isAnalysisKind(request.kind)) throw InvalidInputError.single("kind", `must be one of ${ANALYSIS_KINDS.map((k) => JSON.stringify(k)).join(", ")}`);
  const kind = request.kind;
  const parsed = parseAnalysisInput(kind, request.input ?? {});
  if (!parsed.ok) {
    const problems = parsed.problems.map((problem) => ({ path: `input.${problem.path}`, message: problem.message }));
    throw new InvalidInputError(`invalid ${kind} input: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`, problems);
  }
  const input = parsed.input;
  const experimentIds = [requireUuid(request.experimentId, "experimentId"), ...(request.otherExperimentIds ?? []).map((id, i) => requireUuid(id, `experimentIds.${i}`))];
  const countProblem = sourceCountProblem(kind, input, experimentIds.length);
  if (countProblem) throw InvalidInputError.single("experimentIds", countProblem);
  const stored: Array<{ id: string; cycles: number[] | null }> = await tx.manager.query(
    `SELECT e.id, array_agg(c.cycle_index ORDER BY c.cycle_index) FILTER (WHERE c.status = 'completed') AS cycles
       FROM experiments e LEFT JOIN cycles c ON c.experiment_id = e.id WHERE e.id = ANY($1::uuid[]) GROUP BY e.id`,
    [experimentIds],
  );
  const completed = new Map(stored.map((row) => [row.id, new Set(row.cycles ?? [])]));
  experimentIds.forEach((id, i) => {
    const cycles = completed.get(id);
    if (!cycles) throw new NotFoundError(`no experiment with id ${id}`);
    const missing = requiredCycles(kind, input, i, experimentIds.length).filter((cycle) => !cycles.has(cycle));
    if (missing.length > 0) {
      throw new StateConflictError(`experiment ${id} has not completed cycle${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (completed: ${[...cycles].join(", ") || "none"}), which the ${kind} analysis reads`);
    }
  });
  const row = tx.manager.create(AnalysisRow, {
    experimentId: experimentIds[0]!,
    experimentIds,
    kind,
    input: input as Record<string, unknown>,
    seed: "seed" in input ? (input.seed as number) : 0,
    status: "queued",
    progress: 0,
    result: null,
    error: null,
    owner: request.owner,
    workerId: null,
    startedAt: null,
    completedAt: null,
    seconds: null,
  });
  const saved = await tx.manager.save(AnalysisRow, row);
  publishAnalysisUpdate(tx, saved);
  return saved;
}

export function publishAnalysisUpdate(tx: Tx, row: Pick<AnalysisRow, "id" | "experimentId" | "status" | "progress">): void {
  tx.publishAfterCommit("analysis-updated", row.experimentId, { experimentId: row.experimentId, analysisId: row.id, status: row.status, progress: row.progress });
}

/** A whole number id as GraphQL and URLs carry it ("42"), or undefined when it is not one. */
export function parseAnalysisId(id: string | number): number | undefined {
  const text = String(id);
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 2_147_483_647 ? value : undefined;
}

export async function findAnalysis(manager: EntityManager, id: string | number): Promise<AnalysisRow | null> {
  const parsed = parseAnalysisId(id);
  if (parsed === undefined) return null;
  return manager.findOne(AnalysisRow, { where: { id: parsed } });
}

export async function requireAnalysis(manager: EntityManager, id: string | number): Promise<AnalysisRow> {
  const row = await findAnalysis(manager, id);
  if (!row) throw new NotFoundError(`no analysis with id ${id}`);
  return row;
}

/** An experiment's analyses, newest first. */
export async function analysesOfExperiment(manager: EntityManager, experimentId: string, kind: string | null, limit: number): Promise<AnalysisRow[]> {
  const query = manager.createQueryBuilder(AnalysisRow, "a").where("a.experiment_id = :experimentId", { experimentId }).orderBy("a.id", "DESC").limit(limit);
  // GraphQL leaves an omitted argument undefined.
  if (kind !== null && kind !== undefined) query.andWhere("a.kind = :kind", { kind });
  return query.getMany();
}

/** Analyses not yet finished, oldest first: the coordinator queues their tasks again at start-up. */
export async function unfinishedAnalysisIds(manager: EntityManager): Promise<number[]> {
  const rows: Array<{ id: number }> = await manager.query(`SELECT id FROM analyses WHERE status IN ('queued', 'running') ORDER BY id`);
  return rows.map((row) => row.id);
}

/** Moves a queued analysis to running (the first progress report), or updates its progress. */
export async function recordAnalysisProgress(tx: Tx, analysisId: number, fraction: number, workerId: string): Promise<void> {
  const rows = returnedRows(await tx.manager.query(
    `UPDATE analyses SET status = 'running', progress = GREATEST(progress, $2), worker_id = $3, started_at = coalesce(started_at, clock_timestamp())
      WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING id, experiment_id AS "experimentId", status, progress`,
    [analysisId, Math.min(1, Math.max(0, fraction)), workerId],
  ));
  if (rows[0]) publishAnalysisUpdate(tx, rows[0]);
}

/** Stores a checked result; false when the analysis had already finished (a redelivered result). */
export async function recordAnalysisSuccess(tx: Tx, analysisId: number, result: Record<string, unknown>, workerId: string, seconds: number): Promise<boolean> {
  const rows = returnedRows(await tx.manager.query(
    `UPDATE analyses SET status = 'succeeded', progress = 1, result = $2, error = NULL, worker_id = $3, seconds = $4,
            started_at = coalesce(started_at, clock_timestamp()), completed_at = clock_timestamp()
      WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING id, experiment_id AS "experimentId", status, progress`,
    [analysisId, JSON.stringify(result), workerId, seconds],
  ));
  if (rows[0]) publishAnalysisUpdate(tx, rows[0]);
  return rows.length > 0;
}

export async function recordAnalysisFailure(tx: Tx, analysisId: number, error: string): Promise<boolean> {
  const rows = returnedRows(await tx.manager.query(
    `UPDATE analyses SET status = 'failed', error = $2, completed_at = clock_timestamp()
      WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING id, experiment_id AS "experimentId", status, progress`,
    [analysisId, error.slice(0, 10_000)],
  ));
  if (rows[0]) publishAnalysisUpdate(tx, rows[0]);
  return rows.length > 0;
}

type UpdatedAnalysis = Pick<AnalysisRow, "id" | "experimentId" | "status" | "progress">;

/** TypeORM answers an UPDATE … RETURNING on PostgreSQL with [rows, affected count]. */
function returnedRows(answer: unknown): UpdatedAnalysis[] {
  return (Array.isArray(answer) && Array.isArray(answer[0]) ? answer[0] : answer) as UpdatedAnalysis[];
}

export function isFinishedAnalysis(status: AnalysisStatus): boolean {
  return status === "succeeded" || status === "failed";
}

interface StoredExperiment {
  id: string;
  name: string;
  config: ExperimentConfig;
}

async function storedExperiment(manager: EntityManager, id: string): Promise<StoredExperiment> {
  const rows: Array<{ id: string; name: string; config: unknown }> = await manager.query(`SELECT id, name, config FROM experiments WHERE id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError(`no experiment with id ${id}`);
  return { id: rows[0].id, name: rows[0].name, config: requireExperimentConfig(rows[0].config) };
}

function refOf(row: { sha256: string; size_bytes: string | number; format: string }): ArtifactRef {
  return { sha256: row.sha256, size: Number(row.size_bytes), format: row.format };
}

/**
 * What a worker needs to read an experiment's stored models: per completed cycle, references to
 * its mask (written from the cycles table to the artifact store, which is content-addressed, so
 * writing it again is harmless), its averaged model and its particles' models.
 */
export async function analysisSourceOf(manager: EntityManager, store: ArtifactStore, experimentId: string): Promise<AnalysisSource> {
  const experiment = await storedExperiment(manager, experimentId);
  const cycles: Array<{ cycle_index: number; mask: Buffer | null; sha256: string | null; size_bytes: string | null; format: string | null }> = await manager.query(
    `SELECT c.cycle_index, c.mask, a.sha256, a.size_bytes, a.format FROM cycles c LEFT JOIN artifacts a ON a.id = c.weights_artifact_id
      WHERE c.experiment_id = $1 AND c.status = 'completed' ORDER BY c.cycle_index`,
    [experimentId],
  );
  const particles: Array<{ cycle_index: number; particle_index: number; sha256: string; size_bytes: string; format: string }> = await manager.query(
    `SELECT p.cycle_index, p.particle_index, a.sha256, a.size_bytes, a.format FROM particles p JOIN artifacts a ON a.id = p.weights_artifact_id
      WHERE p.experiment_id = $1 ORDER BY p.cycle_index, p.particle_index`,
    [experimentId],
  );
  const stored: AnalysisSource["cycles"] = [];
  for (const cycle of cycles) {
    if (!cycle.mask || !cycle.sha256) continue;
    const mask = await store.put(new Uint8Array(cycle.mask), { format: MASK_FORMAT });
    const count = experiment.config.method.particles;
    const refs: Array<ArtifactRef | null> = Array.from({ length: count }, () => null);
    for (const particle of particles) if (particle.cycle_index === cycle.cycle_index && particle.particle_index < count) refs[particle.particle_index] = refOf(particle);
    stored.push({ cycle: cycle.cycle_index, mask, average: refOf({ sha256: cycle.sha256, size_bytes: cycle.size_bytes!, format: cycle.format! }), particles: refs });
  }
  return { experimentId, label: `experiment ${experiment.name}`, config: experiment.config, cycles: stored };
}

/** The analyze task of a stored analysis, its sources resolved to artifact references. */
export async function analysisTaskDraft(manager: EntityManager, store: ArtifactStore, row: AnalysisRow): Promise<TaskDraft> {
  const sources: AnalysisSource[] = [];
  for (const id of row.experimentIds) sources.push(await analysisSourceOf(manager, store, id));
  const pinned: Array<{ backend: string | null }> = await manager.query(`SELECT backend FROM experiments WHERE id = $1`, [row.experimentId]);
  return {
    // Evaluated on the backend its experiment trained on (see taskRoute).
    backend: experimentRoute(sources[0]!.config, pinned[0]?.backend ?? null),
    kind: "analyze",
    experimentId: row.experimentId,
    config: sources[0]!.config,
    analysis: row.id,
    analysisKind: row.kind as AnalysisKind,
    input: row.input,
    sources,
  };
}

/** Mask overlap of cycle `cycleA` of experiment `a` with cycle `cycleB` of experiment `b`, from the stored masks. */
export async function maskOverlapOf(manager: EntityManager, a: string, cycleA: number, b: string, cycleB: number): Promise<MaskOverlap & { a: string; b: string }> {
  const [first, second] = await Promise.all([storedExperiment(manager, requireUuid(a, "a")), storedExperiment(manager, requireUuid(b, "b"))]);
  const layers = maskLayersOf(first.config);
  if (JSON.stringify(layers) !== JSON.stringify(maskLayersOf(second.config))) {
    throw InvalidInputError.single("b", `experiment ${second.name} prunes another model than ${first.name}; their masks cannot be compared`);
  }
  const maskOf = async (experiment: StoredExperiment, cycle: number, path: string): Promise<Uint8Array> => {
    const rows: Array<{ mask: Buffer | null }> = await manager.query(`SELECT mask FROM cycles WHERE experiment_id = $1 AND cycle_index = $2`, [experiment.id, cycle]);
    if (!rows[0]?.mask) throw InvalidInputError.single(path, `experiment ${experiment.name} has no stored mask for cycle ${cycle}`);
    return new Uint8Array(rows[0].mask);
  };
  const [bitsA, bitsB] = await Promise.all([maskOf(first, cycleA, "cycleA"), maskOf(second, cycleB, "cycleB")]);
  return { a: `experiment ${first.name} cycle ${cycleA}`, b: `experiment ${second.name} cycle ${cycleB}`, ...maskOverlap(bitsA, bitsB, layers) };
}
