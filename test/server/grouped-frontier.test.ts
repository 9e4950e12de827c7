import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { recordCycle, recordParticle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { createSweep } from "../../server/services/sweeps.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let sweepId: string;

const GROUPED = `query($groupBy: [String!], $filter: ExperimentFilter, $limit: Int) {
  groupedFrontier(groupBy: $groupBy, filter: $filter, limit: $limit) {
    key experimentIds
    points { cycle sparsity n accuracyMean accuracyStd accuracyMin accuracyMax bestParticleMean bestParticleStd bestParticleMin bestParticleMax lossMean }
    columns
  }
}`;

/** A deterministic, irregular accuracy per (experiment, cycle, particle), so sums do not come out round. */
function accuracyOf(experiment: number, cycle: number, particle: number): number {
  return 0.9 - cycle * 0.013 + (((experiment * 7919 + cycle * 104_729 + particle * 1_299_709) % 1000) / 1000) * 0.05;
}

async function recordRun(experimentId: string, runIndex: number, particles: number, cycles: number): Promise<void> {
  for (let cycle = 0; cycle < cycles; cycle++) {
    const sparsity = 1 - 0.8 ** cycle + runIndex * 1e-4;
    await inTransaction(t.server.services, async (tx) => {
      await startCycle(tx, { experimentId, cycleIndex: cycle, sparsity, aliveWeights: 100, totalWeights: 1000, particleSeeds: Array.from({ length: particles }, (_, i) => i) });
      for (let p = 0; p < particles; p++) await recordParticle(tx, { experimentId, cycleIndex: cycle, particleIndex: p, status: "completed", accuracy: accuracyOf(runIndex, cycle, p) });
      await recordCycle(tx, { experimentId, cycleIndex: cycle, sparsity, aliveWeights: 100, totalWeights: 1000, accuracy: accuracyOf(runIndex, cycle, 99), loss: 0.3 + runIndex / 17 });
    });
  }
}

before(async () => {
  t = await startTestServer({}, "grouped");
  const base = sampleConfig({ name: "g", pruning: { cycles: 3 }, tags: [] });
  const created = await inTransaction(t.server.services, (tx) => createSweep(tx, { name: "cmp", base, grid: { method: [{ name: "imp" }, { name: "swamp", particles: 2 }], seed: [0, 1, 2] } }));
  sweepId = created.sweep.id;
  for (const [i, id] of created.experimentIds.entries()) await recordRun(id, i, i < 3 ? 1 : 2, i === 4 ? 2 : 3);
  // Outside the sweep: a lone setting (one experiment, so no std) and one with no completed cycle.
  const lone = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: "lone", method: { name: "swamp", particles: 3 } }) }));
  await recordRun(lone.id, 10, 3, 2);
  await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: "idle", method: { name: "imp-swa" } }) }));
});
after(async () => {
  await t.close();
});

interface HandCycle {
  index: number;
  status: string;
  sparsity: number;
  accuracy: number | null;
  loss: number | null;
  particles: Array<{ accuracy: number | null }>;
}

/** The statistics computed from scratch from `experiment { cycles }`, in experiment-id order. */
function byHand(experiments: Array<{ id: string; cycles: HandCycle[] }>) {
  const sorted = [...experiments].sort((a, b) => (a.id < b.id ? -1 : 1));
  const cycles = [...new Set(sorted.flatMap((e) => e.cycles.filter((c) => c.status === "COMPLETED").map((c) => c.index)))].sort((a, b) => a - b);
  const stats = (values: number[]) => {
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / values.length;
    let squares = 0;
    for (const v of values) squares += (v - mean) ** 2;
    return { mean, std: values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : null, min: Math.min(...values), max: Math.max(...values) };
  };
  return cycles.map((index) => {
    const done = sorted.flatMap((e) => e.cycles.filter((c) => c.index === index && c.status === "COMPLETED"));
    const accuracy = stats(done.map((c) => c.accuracy!));
    const best = stats(done.map((c) => Math.max(...c.particles.map((p) => p.accuracy!))));
    return {
      cycle: index,
      sparsity: stats(done.map((c) => c.sparsity)).mean,
      n: done.length,
      accuracyMean: accuracy.mean,
      accuracyStd: accuracy.std,
      accuracyMin: accuracy.min,
      accuracyMax: accuracy.max,
      bestParticleMean: best.mean,
      bestParticleStd: best.std,
      bestParticleMin: best.min,
      bestParticleMax: best.max,
      lossMean: stats(done.map((c) => c.loss!)).mean,
    };
  });
}

it("gives exactly the statistics computed by hand from the experiments' cycles, per group and cycle", async () => {
  const response = await t.gql(GROUPED, { groupBy: ["method.name", "method.particles"], filter: { sweepId } });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const groups = response.data!.groupedFrontier;
  assert.deepEqual(groups.map((g: { key: unknown }) => g.key), [{ "method.name": "imp", "method.particles": 1 }, { "method.name": "swamp", "method.particles": 2 }]);
  for (const group of groups) {
    assert.equal(group.experimentIds.length, 3);
    // One experiment a query: every particle of several experiments is priced past the cost limit.
    const experiments = [];
    for (const id of group.experimentIds) {
      const detail = await t.gql(`query($id: ID!) { experiment(id: $id) { id cycles { index status sparsity accuracy loss particles { accuracy } } } }`, { id });
      assert.equal(detail.errors, undefined, JSON.stringify(detail.errors));
      experiments.push(detail.data!.experiment);
    }
    const expected = byHand(experiments);
    assert.deepEqual(group.points, expected);
    const fields = Object.keys(expected[0]!) as Array<keyof (typeof expected)[number]>;
    const { xN, xMean, xStd: _xStd, xMin: _xMin, xMax: _xMax, ...columns } = group.columns;
    assert.deepEqual(columns, Object.fromEntries(fields.map((field) => [field, expected.map((point) => point[field])])), "columns hold the same points");
    assert.deepEqual(xMean, columns.sparsity, "the default x-axis is sparsity, averaged as the points' sparsity is");
    assert.deepEqual(xN, columns.n);
  }
  const swamp = groups[1];
  assert.deepEqual(swamp.points.map((p: { n: number }) => p.n), [3, 3, 2], "an experiment that has not reached a cycle does not count there");
  assert.ok(swamp.points[0].accuracyStd > 0);
});

it("groups by every config path but seed, name and tags by default, keyed by the paths that differ", async () => {
  const response = await t.gql(GROUPED, {});
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const groups = response.data!.groupedFrontier;
  const keys = groups.map((g: { key: Record<string, unknown> }) => g.key);
  assert.equal(groups.length, 4);
  for (const key of [
    { "method.name": "imp", "method.particles": 1 },
    { "method.name": "swamp", "method.particles": 2 },
    { "method.name": "swamp", "method.particles": 3 },
    { "method.name": "imp-swa", "method.particles": 1 },
  ]) {
    assert.ok(keys.some((k: unknown) => JSON.stringify(k) === JSON.stringify(key)), `${JSON.stringify(key)} in ${JSON.stringify(keys)}`);
  }
  const lone = groups.find((g: { key: Record<string, unknown> }) => g.key["method.particles"] === 3);
  assert.equal(lone.points[0].n, 1);
  assert.equal(lone.points[0].accuracyStd, null, "one experiment: no sample std");
  const idle = groups.find((g: { key: Record<string, unknown> }) => g.key["method.name"] === "imp-swa");
  assert.deepEqual(idle.points, []);
  const limited = await t.gql(GROUPED, { limit: 2 });
  assert.deepEqual(limited.data!.groupedFrontier.map((g: { experimentIds: string[] }) => g.experimentIds), groups.slice(0, 2).map((g: { experimentIds: string[] }) => g.experimentIds));
});

it("takes the experiment filter, including config fields", async () => {
  const response = await t.gql(GROUPED, { groupBy: ["method.name"], filter: { config: [{ path: "seed", in: [0, 1] }, { path: "method.particles", equals: 2 }] } });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  assert.deepEqual(response.data!.groupedFrontier.map((g: { key: unknown; experimentIds: string[] }) => [g.key, g.experimentIds.length]), [[{ "method.name": "swamp" }, 2]]);
});

it("refuses bad grouping paths with the field path, never running them as SQL", async () => {
  for (const [path, reason] of [
    ["method.name'); DROP TABLE experiments; --", /dotted names/],
    ["a.b.c.d.e.f.g.h.i", /at most 8 parts/],
    ["method.nope", /not a config path/],
  ] as const) {
    const response = await t.gql(GROUPED, { groupBy: ["seed", path] });
    const error = response.errors![0]!;
    assert.equal(error.extensions?.code, "BAD_USER_INPUT");
    assert.equal((error.extensions!.problems as Array<{ path: string }>)[0]!.path, "groupBy.1");
    assert.match(error.message, reason);
  }
  const limit = await t.gql(GROUPED, { limit: 0 });
  assert.match(limit.errors![0]!.message, /limit: must be an integer/);
  const count = await t.gql(`{ experiments { totalCount } }`);
  assert.equal(count.data!.experiments.totalCount, 8);
});
