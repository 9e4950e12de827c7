import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from "typeorm";
import { ExperimentRow } from "./experiment.js";

/** The plot columns of a frontier, as stored and returned. */
export interface FrontierColumns {
  cycle: number[];
  sparsity: number[];
  accuracy: number[];
  loss: Array<number | null>;
  particleAccuracies: Array<Array<number | null>>;
  /**
   * From each cycle's inference profile (null where none): batch-1 latency in ms and batch-256
   * examples/s with the faster of the dense and sparse kernels, bytes of the compact sparse file,
   * FLOPs per example over the kept weights. Frontiers stored before profiles lack them.
   */
  latencyMs?: Array<number | null>;
  throughput?: Array<number | null>;
  sparseBytes?: Array<number | null>;
  sparseFlops?: Array<number | null>;
}

/**
 * An experiment's sparsity–accuracy frontier, kept ready to serve: rebuilt from its completed
 * cycles whenever one is recorded, so comparing a thousand experiments reads a thousand rows
 * instead of aggregating twenty thousand cycles. Stored as `json` (kept as text), which is
 * returned without conversion.
 */
@Entity("experiment_frontiers")
export class ExperimentFrontierRow {
  @PrimaryColumn("uuid", { name: "experiment_id" })
  experimentId!: string;

  @OneToOne(() => ExperimentRow, { onDelete: "CASCADE" })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow;

  @Column("json")
  plot!: FrontierColumns;

  @Column("timestamptz", { name: "updated_at", default: () => "clock_timestamp()" })
  updatedAt!: Date;
}
