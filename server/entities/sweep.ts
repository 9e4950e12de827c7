import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * A sweep: the base config and grid its experiments were expanded from (schema/sweep-grid.ts).
 * Its experiments point back at it (experiments.sweep_id), so progress is counted from them.
 */
@Entity("sweeps")
@Index("IDX_sweeps_created", ["createdAt", "id"])
export class SweepRow {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column("varchar", { length: 200 })
  name!: string;

  /** The base config as given (its experiments hold the filled configs). */
  @Column("jsonb")
  base!: Record<string, unknown>;

  @Column("jsonb")
  grid!: Record<string, unknown>;

  @Column("text", { array: true, default: () => "'{}'" })
  tags!: string[];

  /** Name of the token that created it; null for the environment's admin token. */
  @Column("varchar", { length: 200, nullable: true })
  owner!: string | null;

  /** Experiments created (the grid's cross product). */
  @Column("int")
  size!: number;

  @Column("timestamptz", { name: "created_at", default: () => "clock_timestamp()" })
  createdAt!: Date;
}
