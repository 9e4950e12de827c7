/**
 * Back-pressure on metric ingestion: while its metric buffer is full (here: its write held up by a
 * lock), the coordinator leaves the queue group of metric recorders, so the batches go to other
 * server replicas instead of piling up; once the buffer has drained it takes batches again.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import type { MetricBatch } from "../../schema/fleet-messages.js";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";

let fleet: Fleet;

before(async () => {
  fleet = await startFleet({ label: "metric_pressure", coordinator: { metricRecording: { maxBufferedPoints: 10 } } });
});
after(async () => {
  await fleet.close();
});

function batch(experimentId: string, sequence: number, points: number) {
  return {
    experimentId,
    taskId: `${experimentId}:pretrain`,
    workerId: "pressure-worker",
    attempt: 1,
    cycle: 0,
    sequence,
    points: Array.from({ length: points }, (_, i) => ({ cycle: 0, key: "pretrain/epoch-loss", step: sequence * 100 + i, epoch: i, value: i, time: 1_700_000_000_000 + i })),
  };
}

const stored = async (experimentId: string): Promise<number> =>
  ((await fleet.server.server.dataSource.query(`SELECT coalesce(sum(point_count), 0)::int AS n FROM metric_series WHERE experiment_id = $1`, [experimentId])) as Array<{ n: number }>)[0]!.n;

test("a coordinator whose metric buffer is full stops taking batches, so another replica gets them, and takes them again once drained", async () => {
  // Running (its pretraining is queued), with no worker to train it.
  const id = await fleet.submit(tinyConfig({ name: "fleet-metric-pressure" }));
  await fleet.waitForStatus(id, ["running"], 20_000);
  const blocker = new pg.Client({ connectionString: fleet.database.url });
  await blocker.connect();
  try {
    await blocker.query(`BEGIN`);
    await blocker.query(`SELECT 1 FROM experiments WHERE id = $1 FOR UPDATE`, [id]);
    await fleet.transport.metrics.publish(batch(id, 0, 4));
    await waitFor("the coordinator to take the first batch", () => fleet.server.coordinator.metrics.buffered === 4, 10_000);
    await fleet.transport.metrics.publish(batch(id, 1, 7));
    await waitFor("the coordinator to leave the metric recorders", () => fleet.lines.some((line) => line.includes("metric buffer full: stopped taking metric batches")), 10_000);
    await waitFor("the subscription to be gone", () => fleet.server.coordinator.metrics.stats.batchesShed === 1, 10_000);

    // Another replica, in the same queue group, now gets every batch.
    const elsewhere: MetricBatch[] = [];
    const replica = await fleet.transport.metrics.subscribe({ queueGroup: "swamp-metric-recorders" }, (received) => void elsewhere.push(received));
    for (let sequence = 2; sequence < 6; sequence++) await fleet.transport.metrics.publish(batch(id, sequence, 1));
    await waitFor("the other replica to get the batches", () => elsewhere.length === 4, 10_000);
    assert.equal(fleet.server.coordinator.metrics.stats.batchesAccepted, 1, "the full coordinator took none of them");
    await replica.unsubscribe();

    await blocker.query(`ROLLBACK`);
    await waitFor("the coordinator to take batches again", () => fleet.lines.some((line) => line.includes("metric buffer drained: taking metric batches again")), 10_000);
    await fleet.server.coordinator.metrics.flush();
    assert.equal(await stored(id), 4);
    // Sent once it is back (its subscription is renewed just after the line above): stored.
    let sequence = 6;
    await waitFor("a new batch to be stored", async () => {
      await fleet.transport.metrics.publish(batch(id, sequence++, 2));
      await new Promise((resolve) => setTimeout(resolve, 200));
      return (await stored(id)) >= 6;
    }, 10_000);
  } finally {
    await blocker.end();
  }
});
