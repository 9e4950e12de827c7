/**
 * Life-cycle states shared by the server, the coordinator and clients. Kept apart from the
 * database and GraphQL layers so that messages and topics can name them without importing either.
 */
export const EXPERIMENT_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/** States from which an experiment will not move again on its own. */
export const FINISHED_EXPERIMENT_STATUSES: readonly ExperimentStatus[] = ["completed", "failed", "cancelled"];

export const CYCLE_STATUSES = ["running", "completed"] as const;
export type CycleStatus = (typeof CYCLE_STATUSES)[number];

export const PARTICLE_STATUSES = ["queued", "running", "completed", "failed"] as const;
export type ParticleStatus = (typeof PARTICLE_STATUSES)[number];

/** `lost` is never stored: it is what a worker is shown as once its heartbeat is overdue. */
export const WORKER_STATES = ["idle", "busy", "stopped", "lost"] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export const ARTIFACT_KINDS = ["weights", "mask", "checkpoint", "other"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** `read` sees everything, `write` also changes experiments, `admin` also manages tokens. */
export const TOKEN_SCOPES = ["read", "write", "admin"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** An analysis (issue 16) runs once: queued, running, then succeeded or failed for good. */
export const ANALYSIS_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export type AnalysisStatus = (typeof ANALYSIS_STATUSES)[number];
