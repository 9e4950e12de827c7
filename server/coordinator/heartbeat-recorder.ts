/**
 * Worker heartbeats: registers and refreshes the worker (one silent past the heartbeat timeout is
 * shown as `lost` when read), and marks the queued particles it reports running as `running`.
 */
import { parseTaskId, type WorkerHeartbeat } from "../../schema/fleet-messages.js";
import { inTransaction, type ServiceDeps } from "../services/transaction.js";
import { recordWorkerHeartbeat } from "../services/workers.js";
import { isExperimentId } from "./experiment-state.js";
import { descriptorOf } from "../../protocol/task-kinds.js";

export async function recordHeartbeat(deps: ServiceDeps, heartbeat: WorkerHeartbeat): Promise<void> {
  await inTransaction(deps, async (tx) => {
    await recordWorkerHeartbeat(tx, {
      id: heartbeat.workerId,
      host: heartbeat.host,
      backend: heartbeat.backend,
      device: heartbeat.device,
      slots: heartbeat.slots,
      runningTasks: heartbeat.busy,
      state: heartbeat.stopping ? "stopped" : heartbeat.busy > 0 ? "busy" : "idle",
    });
    for (const taskId of heartbeat.runningTaskIds) {
      const identity = parseTaskId(taskId);
      if (!identity || !descriptorOf(identity.kind).ownsParticle || !isExperimentId(identity.experimentId)) continue;
      await tx.manager.query(
        `UPDATE particles SET status = 'running', worker_id = $4, started_at = coalesce(started_at, clock_timestamp())
          WHERE experiment_id = $1 AND cycle_index = $2 AND particle_index = $3 AND status = 'queued'`,
        [identity.experimentId, identity.cycle, identity.particle, heartbeat.workerId],
      );
    }
  });
}
