import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { ANALYSIS_STATUSES, type AnalysisStatus } from "../../schema/statuses.js";
import { ExperimentRow } from "./experiment.js";

/**
 * One analysis of stored models (issue 16: interpolation, loss plane, flatness, ensemble, mask
 * overlap): what was asked (kind, input, seed), where it stands, and once it succeeded its result
 * as the kind's result schema (schema/analyses.ts) describes it. The id is a whole number because
 * it is the coordinate of the analysis's fleet task (`<experiment>:analyze:<id>`).
 */
@Entity("analyses")
@Index("IDX_analyses_experiment", ["experimentId", "id"])
export class AnalysisRow {
  @PrimaryGeneratedColumn("increment")
  id!: number;

  /** The experiment it belongs to (listed under it, its task runs under it, deleted with it). */
  @Column("uuid", { name: "experiment_id" })
  experimentId!: string;

  @ManyToOne(() => ExperimentRow, { onDelete: "CASCADE" })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow;

  /** Every experiment whose stored models it reads, its own first (ensembles and overlaps read several). */
  @Column("uuid", { name: "experiment_ids", array: true })
  experimentIds!: string[];

  /** interpolate | plane | flatness | ensemble | mask-overlap */
  @Column("varchar", { length: 32 })
  kind!: string;

  /** The input as validated by the kind's schema, defaults filled. */
  @Column("jsonb")
  input!: Record<string, unknown>;

  /** Every random choice of the analysis derives from it (the experiment's seed unless given). */
  @Column("int")
  seed!: number;

  @Column("enum", { enum: ANALYSIS_STATUSES, enumName: "analysis_status", default: "queued" })
  status!: AnalysisStatus;

  /** Fraction done, 0 to 1, as the worker last reported it. */
  @Column("double precision", { default: 0 })
  progress!: number;

  @Column("jsonb", { nullable: true })
  result!: Record<string, unknown> | null;

  @Column("text", { nullable: true })
  error!: string | null;

  /** Name of the token that created it; null for the environment's admin token. */
  @Column("varchar", { length: 200, nullable: true })
  owner!: string | null;

  @Column("varchar", { name: "worker_id", length: 100, nullable: true })
  workerId!: string | null;

  @Column("timestamptz", { name: "created_at", default: () => "clock_timestamp()" })
  createdAt!: Date;

  @Column("timestamptz", { name: "started_at", nullable: true })
  startedAt!: Date | null;

  @Column("timestamptz", { name: "completed_at", nullable: true })
  completedAt!: Date | null;

  /** Seconds the worker spent computing it. */
  @Column("double precision", { nullable: true })
  seconds!: number | null;
}
