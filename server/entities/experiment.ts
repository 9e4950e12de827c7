import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { EXPERIMENT_STATUSES, type ExperimentStatus } from "../../schema/statuses.js";
import { SweepRow } from "./sweep.js";

/**
 * One experiment: a validated config and where its run stands. Metric series live in their own
 * tables so that listing thousands of experiments never reads them; the few figures a list sorts
 * by (final sparsity, best accuracy, cycles done) are kept here, updated as cycles are recorded.
 */
@Entity("experiments")
@Index("IDX_experiments_created", ["createdAt", "id"])
@Index("IDX_experiments_final_sparsity", ["finalSparsity", "id"])
@Index("IDX_experiments_status_created", ["status", "createdAt"])
@Index("IDX_experiments_config_hash", ["configHash"])
@Index("IDX_experiments_sweep", ["sweepId", "createdAt"])
@Index("IDX_experiments_import_key", ["importKey"], { unique: true })
@Index("IDX_experiments_tags", { synchronize: false }) // GIN on tags, created by the migration
@Index("IDX_experiments_name_trgm", { synchronize: false }) // trigram GIN on name, for nameContains
@Index("IDX_experiments_best_accuracy", { synchronize: false }) // on (coalesce(best_accuracy, -1), id), by the migration
export class ExperimentRow {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column("varchar", { length: 200 })
  name!: string;

  /** The filled config exactly as `parseExperimentConfig` returned it. */
  @Column("jsonb")
  config!: Record<string, unknown>;

  @Column("char", { name: "config_hash", length: 64 })
  configHash!: string;

  /** Copied out of the config so that filters use plain indexed columns. */
  @Column("varchar", { length: 40 })
  method!: string;

  @Column("varchar", { length: 40 })
  model!: string;

  @Column("varchar", { length: 40 })
  dataset!: string;

  @Column("text", { array: true, default: () => "'{}'" })
  tags!: string[];

  @Column("enum", { enum: EXPERIMENT_STATUSES, enumName: "experiment_status", default: "queued" })
  status!: ExperimentStatus;

  @Column("text", { nullable: true })
  error!: string | null;

  /** Name of the token that created it. */
  @Column("varchar", { length: 200, nullable: true })
  owner!: string | null;

  /** The sweep that created it; kept (as null) when the sweep is deleted. */
  @Column("uuid", { name: "sweep_id", nullable: true })
  sweepId!: string | null;

  @ManyToOne(() => SweepRow, { onDelete: "SET NULL" })
  @JoinColumn({ name: "sweep_id" })
  sweep?: SweepRow;

  /**
   * Set when `swamp import` created it from a run directory (see server/services/run-import.ts):
   * the run's identity, so importing the same directory again finds it. The coordinator never
   * schedules such an experiment and it cannot be retried.
   */
  @Column("char", { name: "import_key", length: 64, nullable: true })
  importKey!: string | null;

  /**
   * The TensorFlow.js backend its tasks run on, set by its first recorded result (the backend the
   * config requires, or for `any` the one of the worker that took its first task) so that floats
   * from different backends never meet in one run; null before.
   */
  @Column("varchar", { length: 40, nullable: true })
  backend!: string | null;

  /** Free text a researcher keeps with the run. */
  @Column("text", { default: "" })
  notes!: string;

  @Column("int", { name: "cycles_planned" })
  cyclesPlanned!: number;

  @Column("int", { name: "cycles_completed", default: 0 })
  cyclesCompleted!: number;

  @Column("int", { name: "particles_per_cycle" })
  particlesPerCycle!: number;

  /** Sparsity of the last completed cycle (0 until one completes: cycle 0 is dense). */
  @Column("double precision", { name: "final_sparsity", default: 0 })
  finalSparsity!: number;

  @Column("double precision", { name: "best_accuracy", nullable: true })
  bestAccuracy!: number | null;

  /** clock_timestamp, not now(): rows created in one transaction still get distinct, ordered times. */
  @Column("timestamptz", { name: "created_at", default: () => "clock_timestamp()" })
  createdAt!: Date;

  @Column("timestamptz", { name: "updated_at", default: () => "clock_timestamp()" })
  updatedAt!: Date;

  @Column("timestamptz", { name: "started_at", nullable: true })
  startedAt!: Date | null;

  @Column("timestamptz", { name: "finished_at", nullable: true })
  finishedAt!: Date | null;
}
