import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import type { InferenceProfile } from "../../schema/inference-profile.js";
import { CYCLE_STATUSES, type CycleStatus } from "../../schema/statuses.js";
import { ArtifactRow } from "./artifact.js";
import { ExperimentRow } from "./experiment.js";

export interface LayerCount {
  name: string;
  alive: number;
  total: number;
}

/**
 * One pruning cycle of an experiment: the mask it trained under, and once its particles are
 * averaged, the averaged model's accuracy and loss.
 */
@Entity("cycles")
@Index("IDX_cycles_weights_artifact", ["weightsArtifactId"])
export class CycleRow {
  @PrimaryColumn("uuid", { name: "experiment_id" })
  experimentId!: string;

  @PrimaryColumn("int", { name: "cycle_index" })
  index!: number;

  @ManyToOne(() => ExperimentRow, { onDelete: "CASCADE" })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow;

  @Column("enum", { enum: CYCLE_STATUSES, enumName: "cycle_status", default: "running" })
  status!: CycleStatus;

  /** Fraction of prunable weights removed by this cycle's mask. */
  @Column("double precision")
  sparsity!: number;

  @Column("int", { name: "alive_weights" })
  aliveWeights!: number;

  @Column("int", { name: "total_weights" })
  totalWeights!: number;

  @Column("jsonb", { default: () => "'[]'" })
  layers!: LayerCount[];

  @Column("double precision", { nullable: true })
  accuracy!: number | null;

  @Column("double precision", { nullable: true })
  loss!: number | null;

  /** Each particle's accuracy, by particle index, copied here when the cycle completes (for frontiers). */
  @Column("double precision", { name: "particle_accuracies", array: true, nullable: true })
  particleAccuracies!: Array<number | null> | null;

  /** The mask as a bitset, bit i of the prunable weights in layer order (the engine's layout). */
  @Column("bytea", { nullable: true, select: false })
  mask?: Buffer | null;

  @Column("uuid", { name: "weights_artifact_id", nullable: true })
  weightsArtifactId!: string | null;

  @ManyToOne(() => ArtifactRow, { onDelete: "SET NULL", nullable: true })
  @JoinColumn({ name: "weights_artifact_id" })
  weightsArtifact?: ArtifactRow | null;

  /** What the averaged model costs to run, measured by the worker that aggregated it; null when not profiled. */
  @Column("jsonb", { nullable: true })
  inference!: InferenceProfile | null;

  /** Milliseconds spent per phase, e.g. `{ train: …, aggregate: …, evaluate: … }`. */
  @Column("jsonb", { default: () => "'{}'" })
  timings!: Record<string, number>;

  @Column("timestamptz", { name: "started_at", default: () => "clock_timestamp()" })
  startedAt!: Date;

  @Column("timestamptz", { name: "completed_at", nullable: true })
  completedAt!: Date | null;
}
