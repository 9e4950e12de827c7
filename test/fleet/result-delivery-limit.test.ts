/**
 * A result whose recording fails the same way on every delivery (here: an aggregate whose next mask
 * prunes every weight, which opening the next cycle refuses) is not delivered forever: after the
 * delivery limit its experiment is failed with the reason, while other experiments' results go on
 * being recorded.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";
import { startScriptedWorker, type ScriptedWorker } from "./support/scripted-worker.js";

const MAX_DELIVERIES = 4;
let fleet: Fleet;
let worker: ScriptedWorker;

before(async () => {
  fleet = await startFleet({ label: "result_limit", coordinator: { maxResultDeliveries: MAX_DELIVERIES, resultRetryDelayMs: 300 } });
  worker = await startScriptedWorker(fleet, {
    // The poisoned experiment's first aggregate keeps no weight at all.
    nextMask: (task) => (task.config.name === "fleet-poisoned" ? new Uint8Array([0, 0]) : new Uint8Array([0xff, 0x0f])),
  });
});

after(async () => {
  await worker.stop();
  await fleet.close();
});

test("a result that cannot be recorded fails its experiment with the reason after the delivery limit, and other experiments' results keep being recorded", async () => {
  const poisoned = await fleet.submit(tinyConfig({ name: "fleet-poisoned" }));
  const aggregate = `${poisoned}:aggregate-cycle:0`;
  await waitFor("the poisoned result to fail once", () => fleet.logger.matching(new RegExp(`recording result of task ${aggregate} failed`)).length >= 1, 20_000);

  const healthy = await fleet.submit(tinyConfig({ name: "fleet-healthy", pruning: { rate: 0.2, cycles: 2 } }));
  assert.equal(await fleet.waitForStatus(healthy, ["completed", "failed"], 30_000), "completed", (await fleet.experiment(healthy)).error ?? "");

  assert.equal(await fleet.waitForStatus(poisoned, ["completed", "failed"], 30_000), "failed");
  const { error } = await fleet.experiment(poisoned);
  assert.match(error ?? "", new RegExp(`recording the result of the aggregate of cycle 0 failed on each of ${MAX_DELIVERIES} deliveries: .*sparsity: must be a number from 0 to below 1`));
  assert.equal(fleet.server.coordinator.stats.resultsAbandoned, 1);
  assert.equal(fleet.logger.matching(new RegExp(`recording result of task ${aggregate} failed`)).length, MAX_DELIVERIES - 1, "delivered exactly up to the limit");
  await waitFor("the stream to hold no result", async () => (await fleet.transport.results.backlog()) === 0, 10_000);
  assert.deepEqual(await fleet.transport.tasks.queuedTaskIds(poisoned), [], "a failed experiment has no queued tasks");
});
