import type { EntityManager } from "typeorm";
import type { WorkerState } from "../../schema/statuses.js";
import { WorkerRow } from "../entities/worker.js";
import { InvalidInputError } from "./errors.js";
import type { Tx } from "./transaction.js";
import { requireIntInRange } from "./validation.js";

export interface WorkerHeartbeatInput {
  id: string;
  host: string;
  backend: string;
  device: string;
  slots: number;
  runningTasks: number;
  /** `stopped` when the worker is shutting down cleanly. */
  state: "idle" | "busy" | "stopped";
  /** When the worker sent it; defaults to now. */
  at?: Date;
}

/** Registers a worker on its first heartbeat and refreshes it on every later one. */
export async function recordWorkerHeartbeat(tx: Tx, input: WorkerHeartbeatInput): Promise<WorkerRow> {
  if (!/^[A-Za-z0-9._:@-]{1,100}$/.test(input.id)) throw InvalidInputError.single("id", "must be 1 to 100 letters, digits or . _ : @ -");
  if (!["idle", "busy", "stopped"].includes(input.state)) throw InvalidInputError.single("state", "must be idle, busy or stopped");
  requireIntInRange(input.slots, "slots", 1, 1024);
  requireIntInRange(input.runningTasks, "runningTasks", 0, 1024);
  const at = input.at ?? new Date();
  await tx.manager
    .createQueryBuilder()
    .insert()
    .into(WorkerRow)
    .values({ id: input.id, host: input.host.slice(0, 200), backend: input.backend.slice(0, 40), device: input.device.slice(0, 200), slots: input.slots, runningTasks: input.runningTasks, state: input.state, lastHeartbeatAt: at })
    .orUpdate(["host", "backend", "device", "slots", "running_tasks", "state", "last_heartbeat_at"], ["id"])
    .execute();
  return tx.manager.getRepository(WorkerRow).findOneByOrFail({ id: input.id });
}

export interface WorkerView extends WorkerRow {
  /** The stored state, or `lost` when the heartbeat is overdue. */
  effectiveState: WorkerState;
}

/** Workers seen, most recent heartbeat first; those silent past the timeout are shown as lost. */
export async function listWorkers(manager: EntityManager, heartbeatTimeoutMs: number, now = new Date()): Promise<WorkerView[]> {
  const rows = await manager.getRepository(WorkerRow).find({ order: { lastHeartbeatAt: "DESC", id: "ASC" } });
  return rows.map((row) =>
    Object.assign(row, {
      effectiveState: (row.state !== "stopped" && now.getTime() - row.lastHeartbeatAt.getTime() > heartbeatTimeoutMs ? "lost" : row.state) as WorkerState,
    }),
  );
}

export interface WorkerTaskView {
  experimentId: string;
  experimentName: string;
  cycle: number;
  particle: number;
  startedAt: Date | null;
}

export interface WorkerActivity {
  /** Particles each worker is training now, as its heartbeats reported them. */
  currentTasks: Map<string, WorkerTaskView[]>;
  /** Particle trainings each worker completed in the last hour. */
  completedLastHour: Map<string, number>;
}

/** What the workers named are doing and how much they did lately, in two queries for all of them. */
export async function workerActivity(manager: EntityManager, workerIds: string[], now = new Date()): Promise<WorkerActivity> {
  const activity: WorkerActivity = { currentTasks: new Map(), completedLastHour: new Map() };
  if (workerIds.length === 0) return activity;
  const running: Array<{ worker_id: string; experiment_id: string; name: string; cycle_index: number; particle_index: number; started_at: Date | null }> = await manager.query(
    `SELECT p.worker_id, p.experiment_id, e.name, p.cycle_index, p.particle_index, p.started_at
       FROM particles p JOIN experiments e ON e.id = p.experiment_id
      WHERE p.status = 'running' AND p.worker_id = ANY($1)
      ORDER BY p.started_at NULLS LAST, p.experiment_id, p.cycle_index, p.particle_index`,
    [workerIds],
  );
  for (const row of running) {
    const tasks = activity.currentTasks.get(row.worker_id) ?? [];
    tasks.push({ experimentId: row.experiment_id, experimentName: row.name, cycle: row.cycle_index, particle: row.particle_index, startedAt: row.started_at });
    activity.currentTasks.set(row.worker_id, tasks);
  }
  const completed: Array<{ worker_id: string; count: string }> = await manager.query(
    `SELECT worker_id, count(*) AS count FROM particles
      WHERE status = 'completed' AND worker_id = ANY($1) AND completed_at > $2
      GROUP BY worker_id`,
    [workerIds, new Date(now.getTime() - 3_600_000)],
  );
  for (const row of completed) activity.completedLastHour.set(row.worker_id, Number(row.count));
  return activity;
}
