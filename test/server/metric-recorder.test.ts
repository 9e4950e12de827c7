/**
 * The coordinator's metric ingestion against a real database: one worker's bad batch does not take
 * other workers' points with it, a connection lost in the middle of a write is retried, the buffer
 * is bounded, and experiments that are not running take no points.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import type { MetricBatch } from "../../schema/fleet-messages.js";
import { MetricRecorder } from "../../server/coordinator/metric-recorder.js";
import { startCycle } from "../../server/services/cycles.js";
import { createExperiment, markExperimentStatus } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";
import { waitFor } from "../transport/support/waiting.js";

let t: TestServer;

async function runningExperiment(name: string): Promise<string> {
  const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name }) }));
  // Opening cycle 0 moves the experiment to running, as the scheduler does.
  await inTransaction(t.server.services, (tx) => startCycle(tx, { experimentId: experiment.id, cycleIndex: 0, sparsity: 0, aliveWeights: 10, totalWeights: 10, particleSeeds: [1, 2, 3, 4] }));
  return experiment.id;
}

let sequence = 0;
function batch(experimentId: string, worker: string, particle: number, key: string, steps: number[]): MetricBatch {
  return {
    version: 1,
    experimentId,
    taskId: `${experimentId}:train-particle:0:${particle}`,
    workerId: worker,
    attempt: 1,
    cycle: 0,
    particle,
    sequence: sequence++,
    points: steps.map((step) => ({ cycle: 0, particle, key, step, epoch: step / 10, value: step, time: 1_700_000_000_000 + step })),
  };
}

async function storedPoints(experimentId: string): Promise<Map<string, number>> {
  const rows: Array<{ particle_index: number; key: string; n: number }> = await t.server.dataSource.query(
    `SELECT s.particle_index, s.key, count(p.step)::int AS n FROM metric_series s JOIN metric_points p ON p.series_id = s.id WHERE s.experiment_id = $1 GROUP BY s.id`,
    [experimentId],
  );
  return new Map(rows.map((row) => [`${row.particle_index}/${row.key}`, row.n]));
}

before(async () => {
  t = await startTestServer({}, "metric_recorder");
});
after(async () => {
  await t.close();
});

describe("MetricRecorder", () => {
  it("stores the other workers' points when one batch is refused by the database", async () => {
    const id = await runningExperiment("isolation");
    const lines: string[] = [];
    const recorder = new MetricRecorder(t.server.services, (line) => lines.push(line));
    assert.ok(recorder.accept(batch(id, "worker-a", 0, "train/loss", [0, 1, 2])));
    // Not a storable point (wire validation would have refused it): the service rejects the write it is in.
    assert.ok(recorder.accept(batch(id, "worker-b", 1, "k".repeat(500), [0, 1])));
    assert.ok(recorder.accept(batch(id, "worker-c", 2, "train/loss", [0, 1])));
    await recorder.flush();
    assert.deepEqual(Object.fromEntries(await storedPoints(id)), { "0/train/loss": 3, "2/train/loss": 2 });
    assert.equal(recorder.stats.batchesDropped, 1);
    assert.ok(lines.some((line) => line.includes(`dropped 2 metric point(s) of experiment ${id} (task ${id}:train-particle:0:1)`) && line.includes("key")), lines.join("\n"));
  });

  it("retries a write whose database connection was lost, and bounds what it holds meanwhile", async () => {
    const id = await runningExperiment("transient");
    const lines: string[] = [];
    const recorder = new MetricRecorder(t.server.services, (line) => lines.push(line), { maxBufferedPoints: 10 });
    // Another session holds the experiment row, so the recorder's write waits on its lock...
    const blocker = new pg.Client({ connectionString: t.database.url });
    await blocker.connect();
    await blocker.query(`BEGIN`);
    await blocker.query(`SELECT 1 FROM experiments WHERE id = $1 FOR UPDATE`, [id]);
    assert.ok(recorder.accept(batch(id, "worker-a", 0, "train/loss", [0, 1, 2, 3])));
    const waiting = async () =>
      ((await blocker.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)) as { rows: Array<{ pid: number }> }).rows;
    await waitFor("the recorder's write to wait for the lock", async () => (await waiting()).length === 1, 10_000);
    // ...while it waits, the buffer fills: 4 points are being written, 6 more fit, the rest are refused.
    assert.ok(recorder.accept(batch(id, "worker-b", 1, "train/loss", [0, 1, 2, 3, 4, 5])));
    assert.equal(recorder.accept(batch(id, "worker-c", 2, "train/loss", [0])), false, "a full buffer refuses the batch");
    assert.equal(recorder.stats.batchesShed, 1);
    assert.equal(recorder.buffered, 10);
    // ...and then loses its connection, as in a database restart.
    const [{ pid }] = await waiting();
    await blocker.query(`SELECT pg_terminate_backend($1)`, [pid]);
    await blocker.query(`ROLLBACK`);
    await blocker.end();
    await recorder.flush();
    assert.deepEqual(Object.fromEntries(await storedPoints(id)), { "0/train/loss": 4, "1/train/loss": 6 });
    assert.ok(recorder.stats.retries >= 1, "the lost write was retried");
    assert.equal(recorder.stats.batchesDropped, 0);
    assert.equal(recorder.buffered, 0);
    assert.ok(lines.some((line) => line.startsWith("metric buffer full")), lines.join("\n"));
  });

  it("stores nothing for an experiment that is not running", async () => {
    const id = await runningExperiment("finished");
    await inTransaction(t.server.services, (tx) => markExperimentStatus(tx, id, "cancelled"));
    const lines: string[] = [];
    const recorder = new MetricRecorder(t.server.services, (line) => lines.push(line));
    assert.ok(recorder.accept(batch(id, "worker-a", 0, "train/loss", [0, 1])));
    await recorder.flush();
    assert.equal((await storedPoints(id)).size, 0);
    assert.ok(lines.some((line) => line.includes("the experiment is cancelled, not running")), lines.join("\n"));
  });
});
