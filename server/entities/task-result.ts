import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { ExperimentRow } from "./experiment.js";

/** An artifact as a task result names it: content address, length and format. */
export interface StoredArtifactRef {
  sha256: string;
  size: number;
  format?: string;
}

/**
 * The coordinator's ledger: one row per task whose successful result was recorded, keyed by the
 * deterministic task id. Inserting the row is what makes recording idempotent (a result delivered
 * twice finds its row and changes nothing), and the rows are all the coordinator needs to derive
 * an experiment's next tasks: which stages are done and the artifacts they produced.
 */
@Entity("task_results")
@Index("IDX_task_results_experiment", ["experimentId", "kind", "cycleIndex", "particleIndex"])
export class TaskResultRow {
  /** `exp:pretrain`, `exp:train-particle:<cycle>:<particle>` or `exp:aggregate-cycle:<cycle>`. */
  @PrimaryColumn("varchar", { name: "task_id", length: 300 })
  taskId!: string;

  @Column("uuid", { name: "experiment_id" })
  experimentId!: string;

  @ManyToOne(() => ExperimentRow, { onDelete: "CASCADE" })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow;

  /** `pretrain`, `train-particle` or `aggregate-cycle`. */
  @Column("varchar", { length: 20 })
  kind!: string;

  @Column("int", { name: "cycle_index", nullable: true })
  cycleIndex!: number | null;

  @Column("int", { name: "particle_index", nullable: true })
  particleIndex!: number | null;

  @Column("varchar", { name: "worker_id", length: 100 })
  workerId!: string;

  /** The delivery of the task whose result was recorded (1 = first). */
  @Column("int")
  attempt!: number;

  /** The result's output references by name (`weights`, `nextMask`), null where it has none. */
  @Column("jsonb")
  outputs!: Record<string, StoredArtifactRef | null>;

  /** The result's numbers as the worker reported them. */
  @Column("jsonb")
  numbers!: Record<string, unknown>;

  @Column("timestamptz", { name: "finished_at" })
  finishedAt!: Date;

  @Column("timestamptz", { name: "recorded_at", default: () => "clock_timestamp()" })
  recordedAt!: Date;
}
