import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { PARTICLE_STATUSES, type ParticleStatus } from "../../schema/statuses.js";
import { ArtifactRow } from "./artifact.js";
import { CycleRow } from "./cycle.js";

/** One particle of a cycle: trained independently from the cycle's mask, then averaged. */
@Entity("particles")
@Index("IDX_particles_weights_artifact", ["weightsArtifactId"])
export class ParticleRow {
  @PrimaryColumn("uuid", { name: "experiment_id" })
  experimentId!: string;

  @PrimaryColumn("int", { name: "cycle_index" })
  cycleIndex!: number;

  @PrimaryColumn("int", { name: "particle_index" })
  index!: number;

  @ManyToOne(() => CycleRow, { onDelete: "CASCADE" })
  @JoinColumn([
    { name: "experiment_id", referencedColumnName: "experimentId" },
    { name: "cycle_index", referencedColumnName: "index" },
  ])
  cycle?: CycleRow;

  @Column("bigint", { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  seed!: number;

  @Column("enum", { enum: PARTICLE_STATUSES, enumName: "particle_status", default: "queued" })
  status!: ParticleStatus;

  @Column("varchar", { name: "worker_id", length: 100, nullable: true })
  workerId!: string | null;

  @Column("double precision", { nullable: true })
  accuracy!: number | null;

  @Column("double precision", { nullable: true })
  loss!: number | null;

  @Column("text", { nullable: true })
  error!: string | null;

  @Column("uuid", { name: "weights_artifact_id", nullable: true })
  weightsArtifactId!: string | null;

  @ManyToOne(() => ArtifactRow, { onDelete: "SET NULL", nullable: true })
  @JoinColumn({ name: "weights_artifact_id" })
  weightsArtifact?: ArtifactRow | null;

  @Column("timestamptz", { name: "started_at", nullable: true })
  startedAt!: Date | null;

  @Column("timestamptz", { name: "completed_at", nullable: true })
  completedAt!: Date | null;
}
