import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { recordCycle, startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { createSweep } from "../../server/services/sweeps.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let sweepId: string;

const NAMES = `query($filter: ExperimentFilter) { experiments(filter: $filter, first: 100, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { name } totalCount } }`;

async function names(filter: Record<string, unknown>): Promise<string[]> {
  const response = await t.gql(NAMES, { filter });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  assert.equal(response.data!.experiments.totalCount, response.data!.experiments.nodes.length);
  return response.data!.experiments.nodes.map((n: { name: string }) => n.name);
}

before(async () => {
  t = await startTestServer({}, "filters");
  const created = await inTransaction(t.server.services, (tx) =>
    createSweep(tx, { name: "s", base: sampleConfig({ tags: ["a"] }), grid: { "training.lr": [0.1, 0.05], "method.particles": [2, 4] }, owner: "alice" }),
  );
  sweepId = created.sweep.id;
  await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: "other", tags: ["b"] }), owner: "bob" }));
  // s-0 reaches sparsity 0.2 with accuracy 0.9; s-1 stays dense at 0.7.
  for (const [id, cycles, accuracy] of [[created.experimentIds[0]!, 2, 0.9], [created.experimentIds[1]!, 1, 0.7]] as const) {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const sparsity = cycle === 0 ? 0 : 0.2;
      await inTransaction(t.server.services, async (tx) => {
        await startCycle(tx, { experimentId: id, cycleIndex: cycle, sparsity, aliveWeights: 10, totalWeights: 10, particleSeeds: [] });
        await recordCycle(tx, { experimentId: id, cycleIndex: cycle, sparsity, aliveWeights: 10, totalWeights: 10, accuracy, loss: 0.1 });
      });
    }
  }
});
after(async () => {
  await t.close();
});

it("filters on config fields (compared as JSON), sweep, owner and any of several tags", async () => {
  assert.deepEqual(await names({ config: [{ path: "training.lr", equals: 0.05 }] }), ["s-2", "s-3"]);
  assert.deepEqual(await names({ config: [{ path: "method.particles", in: [4, 1] }, { path: "training.lr", equals: 0.1 }] }), ["s-1", "other"]);
  assert.deepEqual(await names({ config: [{ path: "method.particles", equals: "4" }] }), [], 'the string "4" is not the number 4');
  assert.deepEqual(await names({ config: [{ path: "method", equals: { name: "swamp", particles: 2 } }] }), ["s-0", "s-2"]);
  assert.deepEqual(await names({ sweepId }), ["s-0", "s-1", "s-2", "s-3"]);
  assert.deepEqual(await names({ owner: "bob" }), ["other"]);
  assert.deepEqual(await names({ tagsAny: ["b", "zzz"] }), ["other"]);
  assert.deepEqual(await names({ tagsAny: ["a", "b"] }), ["s-0", "s-1", "s-2", "s-3", "other"]);
});

it("filters on best accuracy and latest sparsity ranges, in experiments and frontier alike", async () => {
  assert.deepEqual(await names({ accuracyMin: 0.8 }), ["s-0"]);
  assert.deepEqual(await names({ accuracyMax: 0.8 }), ["s-1"], "experiments without a completed cycle have no accuracy to compare");
  assert.deepEqual(await names({ sparsityMin: 0.1 }), ["s-0"]);
  assert.deepEqual(await names({ sparsityMax: 0.1, sweepId }), ["s-1", "s-2", "s-3"]);
  const frontier = await t.gql(`query($filter: ExperimentFilter) { frontier(filter: $filter) { name } }`, { filter: { accuracyMin: 0.5, sparsityMax: 0.1 } });
  assert.deepEqual(frontier.data!.frontier.map((f: { name: string }) => f.name), ["s-1"]);
});

it("refuses malformed conditions with the field path", async () => {
  for (const [filter, path, reason] of [
    [{ config: [{ path: "training.lr" }] }, "filter.config.0", /exactly one of equals or in/],
    [{ config: [{ path: "seed", equals: 1 }, { path: "seed", equals: 1, in: [1] }] }, "filter.config.1", /exactly one of equals or in/],
    [{ config: [{ path: "training lr", equals: 1 }] }, "filter.config.0.path", /dotted names/],
    [{ config: [{ path: "training.nope", equals: 1 }] }, "filter.config.0.path", /not a config path/],
    [{ sweepId: "x" }, "filter.sweepId", /not a valid id/],
  ] as const) {
    const response = await t.gql(NAMES, { filter });
    const error = response.errors?.[0];
    assert.equal(error?.extensions?.code, "BAD_USER_INPUT", JSON.stringify(response));
    assert.equal((error!.extensions!.problems as Array<{ path: string }>)[0]!.path, path);
    assert.match(error!.message, reason);
  }
});
