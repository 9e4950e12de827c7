/**
 * An experiment through GraphQL, trained by two `swamp worker` processes over NATS: the same masks,
 * accuracies and metric series as `swamp run` of the same config, and a subscriber that joins in
 * the middle sees the stored history, then the live points, with no gap and no duplicate.
 */
import { loadStoredWeights } from "../../transport/stored-weights.js";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { collect } from "../server/support/test-server.js";
import { waitFor } from "../transport/support/waiting.js";
import {
  referenceRun,
  startFleet,
  startWorkerProcess,
  storedAccuracies,
  storedMasks,
  storedMetricCounts,
  tinyConfig,
  type Fleet,
  type WorkerProcess,
} from "./support/fleet.js";

let fleet: Fleet;
let workers: WorkerProcess[] = [];

before(async () => {
  fleet = await startFleet({ label: "e2e" });
  workers = [startWorkerProcess(fleet, "e2e-worker-1"), startWorkerProcess(fleet, "e2e-worker-2")];
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.kill("SIGTERM")));
  await fleet.close();
});

test("two worker processes give the masks, accuracies and metric series of swamp run", async () => {
  const config = tinyConfig({ name: "fleet-e2e" });
  const reference = referenceRun(config);
  const id = await fleet.submit(config);
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"]), "completed", (await fleet.experiment(id)).error ?? "");
  const expected = await reference;

  const masks = await storedMasks(fleet.server.server.dataSource, id);
  assert.deepEqual([...masks.keys()], [...expected.masks.keys()]);
  for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)!.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
  assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, id), expected.accuracies);
  assert.deepEqual(new Map([...(await storedMetricCounts(fleet.server.server.dataSource, id))].sort()), new Map([...expected.metricsBySeries].sort()));

  // Both workers took part, and each result was recorded once.
  const particles: Array<{ worker_id: string; status: string }> = await fleet.server.server.dataSource.query(`SELECT worker_id, status FROM particles WHERE experiment_id = $1`, [id]);
  assert.equal(particles.length, 4);
  assert.ok(particles.every((p) => p.status === "completed"));
  const ledger: Array<{ n: number }> = await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [id]);
  assert.equal(ledger[0]!.n, 1 + 4 + 2, "pretrain, four particles, two aggregates");
  const artifacts: Array<{ kind: string; n: number }> = await fleet.server.server.dataSource.query(
    `SELECT kind, count(*)::int AS n FROM artifacts WHERE experiment_id = $1 GROUP BY kind ORDER BY kind::text`,
    [id],
  );
  // No TF.js copies: they are made on download.
  assert.deepEqual(artifacts, [{ kind: "mask", n: 1 }, { kind: "weights", n: 7 }]);

  const view = await fleet.gql<{ experiment: { status: string; cyclesCompleted: number; finalSparsity: number }; workers: Array<{ id: string; state: string }> }>(
    `query($id: ID!) { experiment(id: $id) { status cyclesCompleted finalSparsity } workers { id state } }`,
    { id },
  );
  assert.equal(view.errors, undefined);
  assert.deepEqual(view.data!.experiment, { status: "COMPLETED", cyclesCompleted: 2, finalSparsity: view.data!.experiment.finalSparsity });
  assert.ok(Math.abs(view.data!.experiment.finalSparsity - 0.2) < 1e-3);
  assert.deepEqual(view.data!.workers.map((w) => w.id).sort(), ["e2e-worker-1", "e2e-worker-2"]);

  // The aggregating worker profiled each averaged model; the server keeps the profile per cycle.
  const profiles = await fleet.gql<{ experiment: { cycles: Array<{ aliveWeights: number; inference: { parameters: number; denseBytes: number; sparseLayers: string[]; throughput: { dense: number } } | null }> } }>(
    `query($id: ID!) { experiment(id: $id) { cycles { aliveWeights inference { parameters denseBytes sparseLayers throughput { dense } } } } }`,
    { id },
  );
  assert.equal(profiles.errors, undefined, JSON.stringify(profiles.errors));
  for (const cycle of profiles.data!.experiment.cycles) {
    assert.ok(cycle.inference, "every cycle has a profile");
    assert.equal(cycle.inference.parameters, cycle.aliveWeights + 410, "kept weights plus lenet-300-100's biases");
    assert.equal(cycle.inference.denseBytes, 4 * (266_200 + 410));
    assert.ok(cycle.inference.throughput.dense > 0);
  }

  // Masks and weights can be downloaded from the object store the workers wrote them to.
  const maskArtifact: Array<{ id: string; sha256: string }> = await fleet.server.server.dataSource.query(`SELECT id, sha256 FROM artifacts WHERE experiment_id = $1 AND kind = 'mask'`, [id]);
  const download = await fetch(`${fleet.server.server.baseUrl}/artifacts/${maskArtifact[0]!.id}`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
  assert.equal(download.status, 200);
  assert.ok(Buffer.from(await download.arrayBuffer()).equals(expected.masks.get(1)!));

  // Cycle 1's models are stored as survivors under that mask; the TF.js model is made from them on request.
  const average: Array<{ sha256: string; size_bytes: string }> = await fleet.server.server.dataSource.query(
    `SELECT a.sha256, a.size_bytes FROM cycles c JOIN artifacts a ON a.id = c.weights_artifact_id WHERE c.experiment_id = $1 AND c.cycle_index = 1`,
    [id],
  );
  const stored = await fleet.server.server.artifactStore.get({ sha256: average[0]!.sha256, size: Number(average[0]!.size_bytes) });
  assert.equal(Buffer.from(stored).toString("ascii", 0, 4), "SWT2");
  const averaged = await loadStoredWeights(fleet.server.server.artifactStore, { sha256: average[0]!.sha256, size: Number(average[0]!.size_bytes) });
  const tfjs = async (file: string) => fetch(`${fleet.server.server.baseUrl}/export/tfjs/${id}/1/${file}`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
  const modelJson = await tfjs("model.json");
  assert.equal(modelJson.status, 200);
  const manifest = (await modelJson.json()) as { format: string; weightsManifest: Array<{ paths: string[]; weights: Array<{ shape: number[] }> }> };
  assert.equal(manifest.format, "layers-model");
  assert.deepEqual(manifest.weightsManifest[0]!.paths, ["weights.bin"]);
  assert.deepEqual(manifest.weightsManifest[0]!.weights.map((w) => w.shape), averaged.entries.map((e) => e.shape));
  const weightsBin = Buffer.from(await (await tfjs("weights.bin")).arrayBuffer());
  assert.ok(weightsBin.equals(Buffer.concat(averaged.values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)))), "weights.bin holds the averaged weights bit for bit");
  assert.equal((await tfjs("../9/model.json")).status, 404);

  const bytes = await fleet.gql<{ experiment: { storedBytes: number } }>(`query($id: ID!) { experiment(id: $id) { storedBytes } }`, { id });
  const total: Array<{ bytes: string }> = await fleet.server.server.dataSource.query(`SELECT sum(size_bytes) AS bytes FROM (SELECT DISTINCT location, size_bytes FROM artifacts WHERE experiment_id = $1) o`, [id]);
  assert.equal(bytes.data!.experiment.storedBytes, Number(total[0]!.bytes));
});

test("storage.keep final: the fleet drops particles and earlier averages as cycles complete, results unchanged", async () => {
  const config = tinyConfig({ name: "fleet-keep-final", storage: { keep: "final" } });
  const reference = referenceRun(config);
  const id = await fleet.submit(config);
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"]), "completed", (await fleet.experiment(id)).error ?? "");
  const expected = await reference;
  const masks = await storedMasks(fleet.server.server.dataSource, id);
  for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)!.equals(mask), `the mask of cycle ${cycle} equals swamp run's`);
  assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, id), expected.accuracies);
  const weights: Array<{ cycle_index: number | null; particle_index: number | null; location: string; size_bytes: string; sha256: string }> = await fleet.server.server.dataSource.query(
    `SELECT cycle_index, particle_index, location, size_bytes, sha256 FROM artifacts WHERE experiment_id = $1 AND kind = 'weights' ORDER BY cycle_index NULLS FIRST`,
    [id],
  );
  assert.deepEqual(weights.map((w) => [w.cycle_index, w.particle_index]), [[null, null], [1, null]], "the rewind point and the last average remain");
  const dropped: Array<{ outputs: { weights: { sha256: string; size: number } } }> = await fleet.server.server.dataSource.query(
    `SELECT outputs FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle'`,
    [id],
  );
  for (const result of dropped) {
    const stillNamed: unknown[] = await fleet.server.server.dataSource.query(`SELECT 1 FROM artifacts WHERE sha256 = $1`, [result.outputs.weights.sha256]);
    if (stillNamed.length === 0) assert.equal(await fleet.server.server.artifactStore.size(result.outputs.weights), undefined, "a dropped particle's bytes are freed");
  }
});

test("a subscriber joining mid-run gets the stored history, then live points, with no gap and no duplicate", async () => {
  const config = tinyConfig({ name: "fleet-late-subscriber", seed: 11, data: { name: "synthetic", trainSubset: 1024, testSubset: 128 }, training: { epochs: 4, rewindEpochs: 1, batchSize: 32, lr: 0.05, bnRecalibrationExamples: 128 } });
  const id = await fleet.submit(config);
  await waitFor("the first particle points to be stored", async () => {
    const rows: Array<{ n: number }> = await fleet.server.server.dataSource.query(
      `SELECT count(*)::int AS n FROM metric_series WHERE experiment_id = $1 AND particle_index >= 0 AND point_count > 0`,
      [id],
    );
    return rows[0]!.n > 0;
  }, 60_000);
  type Batch = { metrics: { history: boolean; points: Array<{ cycle: number; particle: number | null; key: string; step: number }> } };
  const subscription = collect<Batch>(fleet.wsClient(), `subscription($id: ID!) { metrics(experimentId: $id) { history points { cycle particle key step } } }`, { id }, 100_000, 120_000);
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"]), "completed");
  // The last live batch travels after the commit that completed the experiment.
  await new Promise((resolve) => setTimeout(resolve, 500));
  subscription.stop();
  const batches = await subscription.results;

  assert.ok(batches.length >= 2, "history and at least one live batch");
  assert.equal(batches[0]!.metrics.history, true, "the history comes first");
  const historyEnds = batches.findIndex((batch) => !batch.metrics.history);
  assert.ok(historyEnds > 0, "live batches follow the history");
  assert.ok(batches.slice(historyEnds).every((batch) => !batch.metrics.history), "no history after the live feed began");
  const seen = new Set<string>();
  for (const batch of batches) {
    for (const point of batch.metrics.points) {
      const key = `${point.cycle}/${point.particle ?? -1}/${point.key}/${point.step}`;
      assert.ok(!seen.has(key), `point ${key} arrived twice`);
      seen.add(key);
    }
  }
  const stored: Array<{ key: string }> = await fleet.server.server.dataSource.query(
    `SELECT s.cycle_index || '/' || s.particle_index || '/' || s.key || '/' || p.step AS key
       FROM metric_points p JOIN metric_series s ON s.id = p.series_id WHERE s.experiment_id = $1`,
    [id],
  );
  assert.deepEqual([...seen].sort(), stored.map((row) => row.key).sort(), "every stored point arrived, in the history or live");
});
