/**
 * Cycles' inference profiles through the server: stored by recordCycle (refused with the field
 * named when malformed), returned as Cycle.inference, and as frontier x-axes (LATENCY, THROUGHPUT,
 * BYTES, FLOPS) in frontier and groupedFrontier, null where a cycle was not profiled.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { InferenceProfile } from "../../schema/inference-profile.js";
import { recordCycle, recordParticle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
const ids: string[] = [];

function profile(seed: number, cycle: number): InferenceProfile {
  const kept = 0.8 ** cycle;
  return {
    parameters: Math.round(1000 * kept) + 10, sparseBytes: 500 + Math.round(4000 * kept) + seed, denseBytes: 4040, denseFlops: 2000, sparseFlops: 2000 * kept,
    latencyMs: { dense: 1 + seed, sparse: 2 * kept + seed }, latencyP95Ms: { dense: 2 + seed, sparse: 3 + seed }, latencyMaxMs: { dense: 9, sparse: 9 },
    latencyOutliers: { dense: 1, sparse: 0 }, latencyRuns: 60,
    throughput: { dense: 1000 * (1 + seed), sparse: 1500 / kept }, throughputBatch: 256,
    threads: 1, backend: "wasm", kernels: ["project-wasm", "native", "native-sparse"], sparseLayers: ["fc1"], cpu: "Test CPU", seconds: 0.1,
  };
}

before(async () => {
  t = await startTestServer({}, "inference-frontier");
  for (const seed of [0, 1]) {
    const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: `seed-${seed}`, seed, method: { name: "imp" } }) }));
    ids.push(experiment.id);
    for (let cycle = 0; cycle < 3; cycle++) {
      const sparsity = 1 - 0.8 ** cycle;
      const counts = { sparsity, aliveWeights: Math.round(1000 * (1 - sparsity)), totalWeights: 1000 };
      await inTransaction(t.server.services, async (tx) => {
        await startCycle(tx, { experimentId: experiment.id, cycleIndex: cycle, ...counts, particleSeeds: [0] });
        await recordParticle(tx, { experimentId: experiment.id, cycleIndex: cycle, particleIndex: 0, status: "completed", accuracy: 0.8 });
        // Cycle 2 of seed 1 was aggregated by a worker that did not profile.
        const inference = seed === 1 && cycle === 2 ? undefined : profile(seed, cycle);
        await recordCycle(tx, { experimentId: experiment.id, cycleIndex: cycle, ...counts, accuracy: 0.85 - cycle / 50, loss: 0.3, inference });
      });
    }
  }
});
after(async () => {
  await t.close();
});

it("returns each cycle's stored profile as Cycle.inference, null where none was measured", async () => {
  const response = await t.gql(`query($id: ID!) { experiment(id: $id) { cycles { index inference { parameters sparseBytes sparseFlops latencyMs { dense sparse } throughput { dense sparse } kernels sparseLayers cpu } } } }`, { id: ids[1] });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const cycles = response.data!.experiment.cycles;
  const expected = profile(1, 1);
  assert.deepEqual(cycles[1].inference, {
    parameters: expected.parameters, sparseBytes: expected.sparseBytes, sparseFlops: expected.sparseFlops, latencyMs: expected.latencyMs, throughput: expected.throughput,
    kernels: expected.kernels, sparseLayers: expected.sparseLayers, cpu: "Test CPU",
  });
  assert.equal(cycles[2].inference, null);
});

it("plots frontiers against latency, throughput, bytes and FLOPs (the faster kernels), null where not profiled", async () => {
  const query = `query($ids: [ID!], $x: FrontierAxis) { frontier(experimentIds: $ids, x: $x) { x plot points { cycle x accuracy } } }`;
  const latency = await t.gql(query, { ids: [ids[1]], x: "LATENCY" });
  assert.equal(latency.errors, undefined, JSON.stringify(latency.errors));
  const series = latency.data!.frontier[0];
  assert.equal(series.x, "LATENCY");
  assert.deepEqual(series.plot.x, [Math.min(2, 3), Math.min(2, 2 * 0.8 + 1), null]);
  assert.deepEqual(series.points.map((p: { x: number | null }) => p.x), series.plot.x);
  const throughput = await t.gql(query, { ids: [ids[0]], x: "THROUGHPUT" });
  assert.deepEqual(throughput.data!.frontier[0].plot.x, [1500, 1500 / 0.8, 1500 / 0.8 ** 2]);
  const bytes = await t.gql(query, { ids: [ids[0]], x: "BYTES" });
  assert.deepEqual(bytes.data!.frontier[0].plot.x, [0, 1, 2].map((c) => profile(0, c).sparseBytes));
  const flops = await t.gql(query, { ids: [ids[0]], x: "FLOPS" });
  assert.deepEqual(flops.data!.frontier[0].plot.sparseFlops, [0, 1, 2].map((c) => profile(0, c).sparseFlops));
  const sparsity = await t.gql(query, { ids: [ids[0]] });
  assert.equal(sparsity.data!.frontier[0].x, "SPARSITY");
  assert.deepEqual(sparsity.data!.frontier[0].plot.x, sparsity.data!.frontier[0].plot.sparsity);
  const bad = await t.gql(query, { ids: [ids[0]], x: "COST" });
  assert.match(bad.errors![0]!.message, /FrontierAxis/);
});

it("the grouped frontier summarises the x-axis over the group's experiments like accuracy", async () => {
  const response = await t.gql(`query($x: FrontierAxis) { groupedFrontier(groupBy: ["method.name"], x: $x) { experimentIds points { cycle n xN xMean xStd xMin xMax } columns } }`, { x: "BYTES" });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const [group] = response.data!.groupedFrontier;
  assert.equal(group.experimentIds.length, 2);
  const first = group.points[0];
  const [a, b] = [profile(0, 0).sparseBytes, profile(1, 0).sparseBytes];
  assert.deepEqual({ ...first, xStd: undefined }, { cycle: 0, n: 2, xN: 2, xMean: (a + b) / 2, xStd: undefined, xMin: Math.min(a, b), xMax: Math.max(a, b) });
  assert.ok(Math.abs(first.xStd - Math.SQRT1_2) < 1e-9, "sample std of two values one apart");
  assert.deepEqual(group.points[2], { cycle: 2, n: 2, xN: 1, xMean: profile(0, 2).sparseBytes, xStd: null, xMin: profile(0, 2).sparseBytes, xMax: profile(0, 2).sparseBytes });
  assert.deepEqual(group.columns.xMean, group.points.map((p: { xMean: number }) => p.xMean));
});

it("refuses a malformed profile, naming the field, and stores nothing", async () => {
  const bad = { ...profile(0, 1), latencyMs: { dense: -1, sparse: 1 } };
  await assert.rejects(
    inTransaction(t.server.services, (tx) => recordCycle(tx, { experimentId: ids[0]!, cycleIndex: 5, sparsity: 0.5, aliveWeights: 500, totalWeights: 1000, accuracy: 0.8, loss: 0.3, inference: bad })),
    /inference\.latencyMs\.dense/,
  );
  const response = await t.gql(`query($id: ID!) { experiment(id: $id) { cycles { index } } }`, { id: ids[0] });
  assert.deepEqual(response.data!.experiment.cycles.map((c: { index: number }) => c.index), [0, 1, 2]);
});
