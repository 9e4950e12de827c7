import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
const announced: string[] = [];

const CREATE = `mutation($name: String!, $base: JSONObject!, $grid: JSONObject!, $tags: [String!]) {
  createSweep(name: $name, base: $base, grid: $grid, tags: $tags) { id name base grid owner tags size experimentIds counts { queued running completed failed cancelled total } }
}`;
const EXPERIMENTS = `query($filter: ExperimentFilter) { experiments(filter: $filter, first: 100) { nodes { id name method seed: config sweepId tags notes } } }`;

before(async () => {
  t = await startTestServer({ hooks: { experimentCreated: (id) => void announced.push(id) } }, "sweeps");
});
after(async () => {
  await t.close();
});

const base = sampleConfig({ name: "base", pruning: { cycles: 1 }, tags: ["base"] });
const grid = { method: [{ name: "imp" }, { name: "swamp", particles: 2 }], seed: [0, 1, 2] };

it("creates one experiment per grid point, in grid order, each with the sweep's id and tags, and hands each to the coordinator", async () => {
  const writer = await t.token(["read", "write"], "sweeper");
  const response = await t.gql(CREATE, { name: "imp-vs-swamp", base, grid, tags: ["cmp"] }, writer);
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  const sweep = response.data!.createSweep;
  assert.equal(sweep.size, 6);
  assert.equal(sweep.owner, "sweeper");
  assert.deepEqual(sweep.tags, ["cmp"]);
  assert.deepEqual(sweep.grid, grid);
  assert.deepEqual(sweep.counts, { queued: 6, running: 0, completed: 0, failed: 0, cancelled: 0, total: 6 });
  assert.equal(sweep.experimentIds.length, 6);
  assert.deepEqual(announced, sweep.experimentIds, "every experiment is announced, as createExperiment does");
  const listed = await t.gql(EXPERIMENTS, { filter: { ids: sweep.experimentIds } });
  const byId = new Map(listed.data!.experiments.nodes.map((n: { id: string }) => [n.id, n]));
  const ordered = sweep.experimentIds.map((id: string) => byId.get(id) as { name: string; method: string; seed: { seed: number }; sweepId: string; tags: string[]; notes: string });
  assert.deepEqual(ordered.map((e: { name: string; method: string; seed: { seed: number } }) => [e.name, e.method, e.seed.seed]), [
    ["imp-vs-swamp-0", "imp", 0],
    ["imp-vs-swamp-1", "imp", 1],
    ["imp-vs-swamp-2", "imp", 2],
    ["imp-vs-swamp-3", "swamp", 0],
    ["imp-vs-swamp-4", "swamp", 1],
    ["imp-vs-swamp-5", "swamp", 2],
  ]);
  for (const e of ordered) {
    assert.equal(e.sweepId, sweep.id);
    assert.deepEqual(e.tags, ["base", "cmp"]);
    assert.equal(e.notes, "");
  }
  const one = await t.gql(`query($id: ID!) { sweep(id: $id) { id name size experimentIds counts { total } } }`, { id: sweep.id });
  assert.deepEqual(one.data!.sweep, { id: sweep.id, name: "imp-vs-swamp", size: 6, experimentIds: sweep.experimentIds, counts: { total: 6 } });
});

it("stores nothing when one grid point is invalid, and names the point and field path", async () => {
  const before = await t.gql(`{ experiments { nodes { id } } sweeps { totalCount } }`);
  const response = await t.gql(CREATE, { name: "broken", base, grid: { "training.batchSize": [128, 0], seed: [0, 1] } });
  const error = response.errors![0]!;
  assert.equal(error.extensions?.code, "BAD_USER_INPUT");
  const paths = (error.extensions!.problems as Array<{ path: string }>).map((p) => p.path);
  assert.deepEqual(paths, ["points.2.training.batchSize", "points.3.training.batchSize"]);
  assert.match(error.message, /points\.2\.training\.batchSize: .*grid point 2 \{"training\.batchSize":0,"seed":0\}/);
  const afterwards = await t.gql(`{ experiments { nodes { id } } sweeps { totalCount } }`);
  assert.deepEqual(afterwards.data, before.data, "all or nothing");
});

it("refuses bad grids with field paths, oversize sweeps, and callers without write scope", async () => {
  const bad = await t.gql(CREATE, { name: "bad", base, grid: { "training.nope": [1], seed: [] } });
  assert.deepEqual((bad.errors![0]!.extensions!.problems as Array<{ path: string }>).map((p) => p.path), ["grid.training.nope", "grid.seed"]);
  const big = await t.gql(CREATE, { name: "big", base, grid: { seed: Array.from({ length: 1001 }, (_, i) => i) } });
  assert.match(big.errors![0]!.message, /grid: expands to 1001 experiments; at most 1000/);
  const reader = await t.token(["read"]);
  const refused = await t.gql(CREATE, { name: "ro", base, grid: { seed: [0] } }, reader);
  assert.equal(refused.errors![0]!.extensions?.code, "FORBIDDEN");
});

it("lists sweeps newest first, a page at a time, with progress counts", async () => {
  const second = await t.gql(CREATE, { name: "seeds", base, grid: { seed: [5, 6] } });
  const secondId = second.data!.createSweep.id;
  const experimentId = second.data!.createSweep.experimentIds[0];
  await t.gql(`mutation($id: ID!) { cancelExperiment(id: $id) { id } }`, { id: experimentId });
  const page1 = await t.gql(`{ sweeps(first: 1) { totalCount edges { cursor node { id counts { queued cancelled total } } } pageInfo { hasNextPage endCursor } } }`);
  const connection = page1.data!.sweeps;
  assert.equal(connection.totalCount, 2);
  assert.equal(connection.edges[0].node.id, secondId);
  assert.deepEqual(connection.edges[0].node.counts, { queued: 1, cancelled: 1, total: 2 });
  assert.equal(connection.pageInfo.hasNextPage, true);
  const page2 = await t.gql(`query($after: String) { sweeps(first: 1, after: $after) { edges { node { name } } pageInfo { hasNextPage } } }`, { after: connection.pageInfo.endCursor });
  assert.deepEqual(page2.data!.sweeps.edges.map((e: { node: { name: string } }) => e.node.name), ["imp-vs-swamp"]);
  assert.equal(page2.data!.sweeps.pageInfo.hasNextPage, false);
  const missing = await t.gql(`{ sweep(id: "00000000-0000-4000-8000-000000000000") { id } }`);
  assert.equal(missing.data!.sweep, null);
});

it("keeps notes on an experiment (setNotes), bounded in length", async () => {
  const id = (await t.gql(`{ experiments(first: 1) { nodes { id } } }`)).data!.experiments.nodes[0].id;
  const set = await t.gql(`mutation($id: ID!, $notes: String!) { setNotes(id: $id, notes: $notes) { id notes } }`, { id, notes: "lr too high?\nrerun with 0.05" });
  assert.deepEqual(set.data!.setNotes, { id, notes: "lr too high?\nrerun with 0.05" });
  const long = await t.gql(`mutation($id: ID!, $notes: String!) { setNotes(id: $id, notes: $notes) { id } }`, { id, notes: "x".repeat(10_001) });
  assert.match(long.errors![0]!.message, /notes: must be at most 10000 characters/);
  const read = await t.gql(`query($id: ID!) { experiment(id: $id) { notes } }`, { id });
  assert.equal(read.data!.experiment.notes, "lr too high?\nrerun with 0.05");
});
