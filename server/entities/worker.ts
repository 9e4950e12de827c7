import { Column, Entity, PrimaryColumn } from "typeorm";

/** A worker process as last seen through its heartbeats. */
@Entity("workers")
export class WorkerRow {
  /** Chosen by the worker (host + pid + random suffix), stable for its lifetime. */
  @PrimaryColumn("varchar", { length: 100 })
  id!: string;

  @Column("varchar", { length: 200 })
  host!: string;

  /** TensorFlow.js backend, e.g. `wasm`, `cpu`, `tensorflow`. */
  @Column("varchar", { length: 40 })
  backend!: string;

  @Column("varchar", { length: 200 })
  device!: string;

  @Column("int")
  slots!: number;

  @Column("int", { name: "running_tasks", default: 0 })
  runningTasks!: number;

  /** `idle`, `busy` or `stopped`; `lost` is derived from an overdue heartbeat when read. */
  @Column("varchar", { length: 20 })
  state!: string;

  @Column("timestamptz", { name: "started_at", default: () => "clock_timestamp()" })
  startedAt!: Date;

  @Column("timestamptz", { name: "last_heartbeat_at" })
  lastHeartbeatAt!: Date;
}
