/**
 * Analyses over NATS: a `swamp worker` process runs the `analyze` tasks the coordinator queues for
 * a finished experiment, reports progress on the metric subjects (never stored as metrics) and
 * stores its result through the object store; the results equal each other given the seed.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, startWorkerProcess, tinyConfig, type Fleet, type WorkerProcess } from "./support/fleet.js";

let fleet: Fleet;
let worker: WorkerProcess;

before(async () => {
  fleet = await startFleet({ label: "analyses" });
  worker = startWorkerProcess(fleet, "analyses-worker");
});
after(async () => {
  await worker?.kill("SIGTERM");
  await fleet?.close();
});

async function finished(id: string): Promise<{ status: string; result: any; error: string | null; workerId: string | null }> {
  let analysis: any;
  await waitFor(`analysis ${id} to finish`, async () => {
    analysis = (await fleet.gql(`query($id: ID!) { analysis(id: $id) { status result error workerId } }`, { id })).data!.analysis;
    return analysis.status === "SUCCEEDED" || analysis.status === "FAILED";
  }, 180_000).catch((error: Error) => {
    throw new Error(`${error.message}\nserver:\n${fleet.lines.slice(-40).join("\n")}\nworker:\n${worker.stderr().slice(-4000)}`);
  });
  return analysis;
}

test("a fleet worker runs the analyses of a finished experiment; results are stored, deterministic, and progress is no metric", async () => {
  const id = await fleet.submit(tinyConfig({ name: "fleet-analyses" }));
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"]), "completed");
  const metricsBefore: Array<{ n: number }> = await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM metric_series WHERE experiment_id = $1`, [id]);
  const create = (kind: string, input: Record<string, unknown>) =>
    fleet.gql<{ createAnalysis: { id: string } }>(`mutation($e: ID!, $k: String!, $i: JSONObject) { createAnalysis(experimentId: $e, kind: $k, input: $i) { id } }`, { e: id, k: kind, i: input });
  const input = { cycle: 1, probes: 4, powerIterations: 3, sharpnessSamples: 3, examples: 64, seed: 9 };
  const ids = [(await create("flatness", input)).data!.createAnalysis.id, (await create("flatness", input)).data!.createAnalysis.id, (await create("mask-overlap", { cycles: [0, 1] })).data!.createAnalysis.id];
  const [a, b, overlap] = [await finished(ids[0]!), await finished(ids[1]!), await finished(ids[2]!)];
  for (const analysis of [a, b, overlap]) {
    assert.equal(analysis.status, "SUCCEEDED", analysis.error ?? "");
    assert.equal(analysis.workerId, "analyses-worker");
  }
  assert.deepEqual(a.result, b.result, "the same input and seed give the same result");
  assert.equal(a.result.probes, 4);
  assert.ok(Math.abs(overlap.result.jaccard - 0.8) < 0.01);
  const metricsAfter: Array<{ n: number }> = await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM metric_series WHERE experiment_id = $1`, [id]);
  assert.equal(metricsAfter[0]!.n, metricsBefore[0]!.n, "analysis progress is not stored as a metric series");
  const status = await fleet.gql<{ experiment: { status: string } }>(`query($id: ID!) { experiment(id: $id) { status } }`, { id });
  assert.equal(status.data!.experiment.status, "COMPLETED", "analyses leave the experiment's status alone");
});
