import { Column, Entity, PrimaryColumn } from "typeorm";

/** Steps per block; a power of two so the block of a step is `step >> BLOCK_SHIFT`. */
export const BLOCK_SHIFT = 6;
export const BLOCK_STEPS = 1 << BLOCK_SHIFT;

/**
 * The extremes of one block of 64 steps of a series, kept up to date as points arrive. Reading a
 * long series downsampled reads these summaries (1/64 of the rows) instead of every point, and
 * still keeps every extreme.
 */
@Entity("metric_blocks")
export class MetricBlockRow {
  @PrimaryColumn("int", { name: "series_id" })
  seriesId!: number;

  @PrimaryColumn("int")
  block!: number;

  @Column("int")
  points!: number;

  @Column("int", { name: "min_step" })
  minStep!: number;

  @Column("double precision", { name: "min_value" })
  minValue!: number;

  @Column("int", { name: "max_step" })
  maxStep!: number;

  @Column("double precision", { name: "max_value" })
  maxValue!: number;
}
