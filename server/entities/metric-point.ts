import { Column, Entity, PrimaryColumn } from "typeorm";

/**
 * One point of a series. The primary key (series, step) is the range-read index and makes a
 * re-sent point a no-op. There is deliberately no foreign key: it would cost a lookup per row on
 * bulk ingest; deleting an experiment removes its points explicitly.
 */
@Entity("metric_points")
export class MetricPointRow {
  @PrimaryColumn("int", { name: "series_id" })
  seriesId!: number;

  @PrimaryColumn("int")
  step!: number;

  @Column("double precision")
  epoch!: number;

  @Column("double precision")
  value!: number;

  @Column("timestamptz")
  time!: Date;
}
