import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { recordParticle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { recordWorkerHeartbeat } from "../../server/services/workers.js";
import { inTransaction } from "../../server/services/transaction.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;

before(async () => {
  t = await startTestServer({ workerHeartbeatTimeoutMs: 60_000 }, "workers");
});
after(async () => {
  await t.close();
});

const heartbeat = (id: string, state: "idle" | "busy" | "stopped", agoMs: number, runningTasks = 0) =>
  inTransaction(t.server.services, (tx) => recordWorkerHeartbeat(tx, { id, host: "node-1", backend: "wasm", device: "cpu (2 cores)", slots: 2, runningTasks, state, at: new Date(Date.now() - agoMs) }));

it("lists workers by latest heartbeat, shows silent ones as lost, and hides stopped ones unless asked", async () => {
  await heartbeat("worker-a", "idle", 120_000);
  await heartbeat("worker-b", "idle", 5_000);
  await heartbeat("worker-b", "busy", 1_000, 2); // a later heartbeat updates the same worker
  await heartbeat("worker-c", "stopped", 2_000);
  const response = await t.gql(`{ workers { id host backend device slots runningTasks state lastHeartbeatAt startedAt } }`);
  assert.equal(response.errors, undefined);
  const workers = response.data!.workers;
  assert.deepEqual(workers.map((w: { id: string; state: string }) => [w.id, w.state]), [["worker-b", "BUSY"], ["worker-a", "LOST"]]);
  assert.equal(workers[0].runningTasks, 2);
  assert.equal(workers[0].device, "cpu (2 cores)");
  const all = await t.gql(`{ workers(includeStopped: true) { id state } }`);
  assert.deepEqual(all.data!.workers.map((w: { id: string; state: string }) => [w.id, w.state]), [["worker-b", "BUSY"], ["worker-c", "STOPPED"], ["worker-a", "LOST"]]);
});

it("refuses a malformed heartbeat", async () => {
  await assert.rejects(heartbeat("bad id with spaces", "idle", 0), /id: must be 1 to 100/);
  await assert.rejects(
    inTransaction(t.server.services, (tx) => recordWorkerHeartbeat(tx, { id: "w", host: "h", backend: "wasm", device: "cpu", slots: 0, runningTasks: 0, state: "idle" })),
    /slots: must be an integer from 1/,
  );
});

it("shows each worker's current particles and its particles completed in the last hour", async () => {
  await heartbeat("worker-d", "busy", 1_000, 1);
  await heartbeat("worker-e", "idle", 1_000);
  const config = { name: "worker-activity", data: { name: "synthetic" }, model: { name: "lenet-300-100" }, method: { name: "swamp", particles: 3 } };
  const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config }));
  await inTransaction(t.server.services, async (tx) => {
    await startCycle(tx, { experimentId: experiment.id, cycleIndex: 0, sparsity: 0, aliveWeights: 10, totalWeights: 10, particleSeeds: [1, 2, 3] });
    await recordParticle(tx, { experimentId: experiment.id, cycleIndex: 0, particleIndex: 0, status: "completed", accuracy: 0.5, workerId: "worker-d" });
    await recordParticle(tx, { experimentId: experiment.id, cycleIndex: 0, particleIndex: 1, status: "completed", accuracy: 0.5, workerId: "worker-d" });
    await recordParticle(tx, { experimentId: experiment.id, cycleIndex: 0, particleIndex: 2, status: "running", workerId: "worker-d" });
  });
  // A completion older than an hour is not throughput any more.
  await t.server.dataSource.query(`UPDATE particles SET completed_at = now() - interval '2 hours' WHERE experiment_id = $1 AND particle_index = 1`, [experiment.id]);
  const response = await t.gql(`{ workers { id particlesCompletedLastHour currentTasks { experimentId experimentName cycle particle startedAt } } }`);
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const byId = new Map(response.data!.workers.map((w: { id: string }) => [w.id, w]));
  const busy = byId.get("worker-d") as { particlesCompletedLastHour: number; currentTasks: Array<Record<string, unknown>> };
  assert.equal(busy.particlesCompletedLastHour, 1);
  assert.equal(busy.currentTasks.length, 1);
  assert.deepEqual({ ...busy.currentTasks[0], startedAt: typeof busy.currentTasks[0]!.startedAt }, { experimentId: experiment.id, experimentName: "worker-activity", cycle: 0, particle: 2, startedAt: "string" });
  assert.deepEqual(byId.get("worker-e"), { id: "worker-e", particlesCompletedLastHour: 0, currentTasks: [] });
});
