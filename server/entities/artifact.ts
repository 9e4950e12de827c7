import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { ARTIFACT_KINDS, type ArtifactKind } from "../../schema/statuses.js";
import { ExperimentRow } from "./experiment.js";

/** Readers of bigint columns get numbers: artifact sizes stay far below 2^53. */
const bigintAsNumber = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * Metadata of a stored blob (weights, masks, checkpoints). The bytes live in an artifact store
 * (filesystem or NATS object store), addressed by `location`; the server streams them back at
 * `/artifacts/<id>`.
 */
@Entity("artifacts")
@Index("IDX_artifacts_experiment", ["experimentId", "cycleIndex", "particleIndex"])
@Index("IDX_artifacts_sha256", ["sha256"])
// Reference counts of shared objects (server/services/stored-artifacts.ts).
@Index("IDX_artifacts_location", ["location"])
export class ArtifactRow {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column("uuid", { name: "experiment_id", nullable: true })
  experimentId!: string | null;

  @ManyToOne(() => ExperimentRow, { onDelete: "CASCADE", nullable: true })
  @JoinColumn({ name: "experiment_id" })
  experiment?: ExperimentRow | null;

  @Column("int", { name: "cycle_index", nullable: true })
  cycleIndex!: number | null;

  @Column("int", { name: "particle_index", nullable: true })
  particleIndex!: number | null;

  @Column("enum", { enum: ARTIFACT_KINDS, enumName: "artifact_kind" })
  kind!: ArtifactKind;

  /** e.g. `tfjs-layers-weights`, `bitset`, `json`. */
  @Column("varchar", { length: 64 })
  format!: string;

  @Column("varchar", { name: "content_type", length: 100, default: "application/octet-stream" })
  contentType!: string;

  @Column("bigint", { name: "size_bytes", transformer: bigintAsNumber })
  sizeBytes!: number;

  @Column("char", { length: 64 })
  sha256!: string;

  /** URI understood by the artifact store, e.g. `file:///…` or `nats-object://bucket/key`. */
  @Column("text")
  location!: string;

  @Column("timestamptz", { name: "created_at", default: () => "clock_timestamp()" })
  createdAt!: Date;
}
