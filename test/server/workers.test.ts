import assert from "node:assert/strict";
import { after, before, it } from "node:test";
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
