import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { recordCycle, recordParticle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
const ids: string[] = [];

const FRONTIER = `query($ids: [ID!], $filter: ExperimentFilter, $limit: Int) {
  frontier(experimentIds: $ids, filter: $filter, limit: $limit) { experimentId name method status tags plot points { cycle sparsity accuracy loss particleAccuracies } }
}`;

before(async () => {
  t = await startTestServer({}, "frontier");
  for (const [name, method, cycles] of [["swamp-a", "swamp", 3], ["imp-b", "imp", 2], ["swamp-c", "swamp", 0]] as const) {
    const experiment = await inTransaction(t.server.services, (tx) =>
      createExperiment(tx, { config: sampleConfig({ name, method: method === "imp" ? { name: "imp" } : { name: "swamp", particles: 2 }, tags: [method] }) }),
    );
    ids.push(experiment.id);
    for (let cycle = 0; cycle < cycles; cycle++) {
      const sparsity = 1 - 0.8 ** cycle;
      await inTransaction(t.server.services, async (tx) => {
        const particles = method === "imp" ? 1 : 2;
        await startCycle(tx, { experimentId: experiment.id, cycleIndex: cycle, sparsity, aliveWeights: Math.round(1000 * (1 - sparsity)), totalWeights: 1000, particleSeeds: Array.from({ length: particles }, (_, i) => i) });
        for (let p = 0; p < particles; p++) await recordParticle(tx, { experimentId: experiment.id, cycleIndex: cycle, particleIndex: p, status: "completed", accuracy: 0.8 + p / 100 - cycle / 50 });
        await recordCycle(tx, { experimentId: experiment.id, cycleIndex: cycle, sparsity, aliveWeights: Math.round(1000 * (1 - sparsity)), totalWeights: 1000, accuracy: 0.85 - cycle / 50, loss: 0.3 });
      });
    }
  }
});
after(async () => {
  await t.close();
});

it("returns each experiment's (sparsity, accuracy, particle accuracies) points in cycle order", async () => {
  const response = await t.gql(FRONTIER, { ids: [ids[0], ids[1], "00000000-0000-4000-8000-000000000000"] });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const [a, b] = response.data!.frontier;
  assert.equal(response.data!.frontier.length, 2, "unknown ids are left out");
  assert.equal(a.name, "swamp-a");
  assert.equal(a.status, "RUNNING");
  assert.deepEqual(a.points.map((p: { cycle: number }) => p.cycle), [0, 1, 2]);
  assert.deepEqual(a.points[1], { cycle: 1, sparsity: 1 - 0.8, accuracy: 0.85 - 1 / 50, loss: 0.3, particleAccuracies: [0.8 - 1 / 50, 0.81 - 1 / 50] });
  assert.deepEqual(b.points.map((p: { particleAccuracies: number[] }) => p.particleAccuracies.length), [1, 1]);
  assert.deepEqual(a.plot.cycle, [0, 1, 2], "plot columns hold the same points");
  assert.deepEqual(a.plot.sparsity, a.points.map((p: { sparsity: number }) => p.sparsity));
  assert.deepEqual(a.plot.accuracy, a.points.map((p: { accuracy: number }) => p.accuracy));
  assert.deepEqual(a.plot.particleAccuracies[1], a.points[1].particleAccuracies);
});

it("selects experiments by filter, and an experiment without completed cycles has no points", async () => {
  const response = await t.gql(FRONTIER, { filter: { methods: ["swamp"] } });
  const names = response.data!.frontier.map((f: { name: string }) => f.name);
  assert.deepEqual(names, ["swamp-c", "swamp-a"], "newest first");
  assert.deepEqual(response.data!.frontier[0].points, []);
  assert.deepEqual(response.data!.frontier[0].plot, { cycle: [], sparsity: [], accuracy: [], loss: [], particleAccuracies: [], latencyMs: [], throughput: [], sparseBytes: [], sparseFlops: [], x: [] });
  const limited = await t.gql(FRONTIER, { filter: { methods: ["swamp"] }, limit: 1 });
  assert.equal(limited.data!.frontier.length, 1);
});

it("refuses both ids and a filter, and a limit out of range", async () => {
  const both = await t.gql(FRONTIER, { ids: [ids[0]], filter: { methods: ["swamp"] } });
  assert.match(both.errors![0]!.message, /either experimentIds or filter/);
  const limit = await t.gql(FRONTIER, { limit: 0 });
  assert.match(limit.errors![0]!.message, /limit: must be an integer from 1 to 2000/);
});

it("includes a particle recorded after its cycle completed", async () => {
  await inTransaction(t.server.services, (tx) => recordParticle(tx, { experimentId: ids[1]!, cycleIndex: 0, particleIndex: 1, seed: 9, status: "completed", accuracy: 0.5 }));
  const response = await t.gql(FRONTIER, { ids: [ids[1]] });
  assert.deepEqual(response.data!.frontier[0].points[0].particleAccuracies, [0.8, 0.5]);
});
