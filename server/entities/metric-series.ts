import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { ExperimentRow } from "./experiment.js";

/** Stored in place of "no particle" so that the unique key needs no NULL handling. */
export const CYCLE_LEVEL_PARTICLE = -1;

/**
 * One metric series: a key (e.g. `train/loss`) of one particle, or of a cycle's averaged model.
 * Points refer to their series by a 4-byte id, which keeps point rows and their index small.
 */
@Entity("metric_series")
@Index("UQ_metric_series_subject", ["experimentId", "cycleIndex", "particleIndex", "key"], { unique: true })
export class MetricSeriesRow {
  @PrimaryGeneratedColumn("increment")
  id!: number;

  @Column("uuid", { name: "experiment_id" })
  experimentId!: string;

  @ManyToOne(() => ExperimentRow, { onDelete: "CASCADE" })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow;

  @Column("int", { name: "cycle_index" })
  cycleIndex!: number;

  /** CYCLE_LEVEL_PARTICLE for the cycle's averaged model. */
  @Column("int", { name: "particle_index" })
  particleIndex!: number;

  @Column("varchar", { length: 100 })
  key!: string;

  /** Points stored, kept current by ingest so listing series never counts rows. */
  @Column("int", { name: "point_count", default: 0 })
  pointCount!: number;
}
