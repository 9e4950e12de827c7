import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { configHash, requireExperimentConfig } from "../../schema/config.js";
import { registerArtifact } from "../../server/services/artifacts.js";
import { recordCycle, recordParticle, startCycle } from "../../server/services/cycles.js";
import { markExperimentStatus } from "../../server/services/experiments.js";
import { appendMetrics } from "../../server/services/metrics.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type GraphQLResponse, type TestServer } from "./support/test-server.js";
import { writeArtifact } from "../../transport/artifact-store.js";

const CREATE = `mutation($config: JSONObject!) { createExperiment(config: $config) { id name status configHash config tags owner method model dataset cyclesPlanned cyclesCompleted particlesPerCycle finalSparsity bestAccuracy createdAt } }`;
const PAGE = `query($filter: ExperimentFilter, $orderBy: ExperimentOrder, $first: Int, $after: String) {
  experiments(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount edges { cursor node { id name } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

let t: TestServer;

async function create(overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await t.gql(CREATE, { config: sampleConfig(overrides) });
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  return response.data!.createExperiment.id;
}

async function experimentCount(): Promise<number> {
  const rows = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM experiments`);
  return rows[0].n;
}

/** Pages through a list, running `between` after each page; returns every id seen, in order. */
async function pageThrough(variables: Record<string, unknown>, between: () => Promise<void> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null as string | null;
  for (let page = 0; page < 100; page++) {
    const response: GraphQLResponse = await t.gql(PAGE, { ...variables, after });
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    const connection = response.data!.experiments;
    seen.push(...connection.edges.map((edge: { node: { id: string } }) => edge.node.id));
    assert.deepEqual(connection.nodes.map((n: { id: string }) => n.id), connection.edges.map((e: { node: { id: string } }) => e.node.id));
    if (!connection.pageInfo.hasNextPage) return seen;
    after = connection.pageInfo.endCursor;
    await between();
  }
  throw new Error("pagination did not end");
}

before(async () => {
  t = await startTestServer({}, "experiments");
});
after(async () => {
  await t.close();
});

describe("createExperiment", () => {
  it("stores the filled config, its hash and the summary fields", async () => {
    const config = sampleConfig({ name: "create-check", tags: ["a", "b"] });
    const response = await t.gql(CREATE, { config });
    assert.equal(response.errors, undefined);
    const experiment = response.data!.createExperiment;
    const filled = requireExperimentConfig(config);
    assert.equal(experiment.name, "create-check");
    assert.equal(experiment.status, "QUEUED");
    assert.equal(experiment.configHash, configHash(filled));
    assert.deepEqual(experiment.config, JSON.parse(JSON.stringify(filled)));
    assert.equal(experiment.config.training.epochs, 10, "defaults are filled in");
    assert.deepEqual(experiment.tags, ["a", "b"]);
    assert.equal(experiment.owner, "first admin token");
    assert.deepEqual([experiment.method, experiment.model, experiment.dataset], ["swamp", "lenet-300-100", "synthetic"]);
    assert.equal(experiment.cyclesPlanned, 4);
    assert.equal(experiment.particlesPerCycle, 4);
    assert.equal(experiment.cyclesCompleted, 0);
    assert.equal(experiment.finalSparsity, 0);
    assert.equal(experiment.bestAccuracy, null);
    assert.ok(!Number.isNaN(Date.parse(experiment.createdAt)));
  });

  const invalid: Array<[string, Record<string, unknown>, string[]]> = [
    ["a name with spaces", { name: "has spaces" }, ["name"]],
    ["an unknown data set", { data: { name: "imagenet" } }, ["data.name"]],
    ["a missing model name", { model: {} }, ["model.name"]],
    ["a negative learning rate", { training: { lr: -0.1 } }, ["training.lr", "swa.lr"]],
    ["an unknown key", { surprise: true }, ["(root)"]],
    ["several particles for IMP", { method: { name: "imp", particles: 3 } }, ["method.particles"]],
    ["warm-up as long as training", { training: { epochs: 2, warmupEpochs: 2 } }, ["training.warmupEpochs"]],
    ["an SWA rate above the peak rate", { method: { name: "swamp" }, training: { lr: 0.05 }, swa: { lr: 0.1 } }, ["swa.lr"]],
    ["a training subset below the batch size", { data: { name: "synthetic", trainSubset: 10 }, training: { batchSize: 64 } }, ["data.trainSubset"]],
    ["unordered step milestones", { training: { stepMilestones: [0.75, 0.5] } }, ["training.stepMilestones"]],
    ["a pruning rate of 1", { pruning: { rate: 1 } }, ["pruning.rate"]],
    ["three problems at once", { name: "", data: { name: "x" }, training: { batchSize: 0 } }, ["name", "data.name", "training.batchSize"]],
  ];
  for (const [what, overrides, paths] of invalid) {
    it(`refuses ${what}, naming ${paths.join(", ")}, and stores nothing`, async () => {
      const countBefore = await experimentCount();
      const response = await t.gql(CREATE, { config: sampleConfig(overrides) });
      assert.equal(response.data, null);
      assert.equal(response.errors?.length, 1);
      const error = response.errors![0]!;
      assert.equal(error.extensions?.code, "BAD_USER_INPUT");
      const problemPaths = (error.extensions?.problems as Array<{ path: string; message: string }>).map((p) => p.path);
      for (const path of paths) {
        assert.ok(problemPaths.includes(path), `${path} in ${JSON.stringify(error.extensions?.problems)}`);
        assert.ok(error.message.includes(path), `message names ${path}: ${error.message}`);
      }
      assert.deepEqual(new Set(problemPaths), new Set(paths), JSON.stringify(error.extensions?.problems));
      assert.equal(await experimentCount(), countBefore);
    });
  }

  it("refuses a config that is not a JSON object", async () => {
    const response = await t.gql(CREATE, { config: [1, 2] });
    assert.equal(response.data, undefined);
    assert.match(response.errors![0]!.message, /JSONObject|object/i);
  });
});

describe("experiment(id)", () => {
  it("returns cycles, particles and artifacts recorded through the service layer", async () => {
    const id = await create({ name: "detail" });
    await inTransaction(t.server.services, async (tx) => {
      await startCycle(tx, { experimentId: id, cycleIndex: 0, sparsity: 0, aliveWeights: 100, totalWeights: 100, layers: [{ name: "dense1", alive: 100, total: 100 }], particleSeeds: [11, 12] });
      await recordParticle(tx, { experimentId: id, cycleIndex: 0, particleIndex: 0, status: "completed", accuracy: 0.8, loss: 0.5, workerId: "w1" });
      await recordParticle(tx, { experimentId: id, cycleIndex: 0, particleIndex: 1, status: "completed", accuracy: 0.82, loss: 0.45 });
      const weights = await registerArtifact(tx, { experimentId: id, cycleIndex: 0, kind: "weights", format: "tfjs-layers-weights", sizeBytes: 3, sha256: "a".repeat(64), location: "file:///nonexistent/a" });
      await recordCycle(tx, { experimentId: id, cycleIndex: 0, sparsity: 0, aliveWeights: 100, totalWeights: 100, accuracy: 0.85, loss: 0.4, weightsArtifactId: weights.id, mask: new Uint8Array([0xff, 0x0f]), timings: { train: 1200 } });
    });
    const response = await t.gql(
      `query($id: ID!) { experiment(id: $id) { id status cyclesCompleted bestAccuracy finalSparsity
          cycles { index status sparsity aliveWeights totalWeights accuracy loss timings maskBase64 layers { name alive total }
                   weightsArtifact { id kind sizeBytes } particles { index seed status accuracy loss workerId } }
          artifacts { id kind format sha256 downloadUrl } } }`,
      { id },
    );
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    const experiment = response.data!.experiment;
    assert.equal(experiment.status, "RUNNING", "starting a cycle starts the experiment");
    assert.equal(experiment.cyclesCompleted, 1);
    assert.equal(experiment.bestAccuracy, 0.85);
    const cycle = experiment.cycles[0];
    assert.equal(cycle.status, "COMPLETED");
    assert.equal(cycle.accuracy, 0.85);
    assert.deepEqual(cycle.timings, { train: 1200 });
    assert.equal(cycle.maskBase64, Buffer.from([0xff, 0x0f]).toString("base64"));
    assert.deepEqual(cycle.layers, [{ name: "dense1", alive: 100, total: 100 }]);
    assert.deepEqual(
      cycle.particles.map((p: { index: number; seed: number; accuracy: number }) => [p.index, p.seed, p.accuracy]),
      [[0, 11, 0.8], [1, 12, 0.82]],
    );
    assert.equal(cycle.particles[0].workerId, "w1");
    assert.equal(cycle.weightsArtifact.kind, "WEIGHTS");
    assert.equal(experiment.artifacts.length, 1);
    assert.equal(experiment.artifacts[0].downloadUrl, `${t.server.baseUrl}/artifacts/${experiment.artifacts[0].id}`);
  });

  it("is null for an unknown id and a clear error for a malformed one", async () => {
    const missing = await t.gql(`{ experiment(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    assert.equal(missing.errors, undefined);
    assert.equal(missing.data!.experiment, null);
    const malformed = await t.gql(`{ experiment(id: "42; DROP TABLE experiments") { id } }`);
    assert.equal(malformed.errors![0]!.extensions?.code, "BAD_USER_INPUT");
    assert.match(malformed.errors![0]!.message, /not a valid id/);
  });
});

describe("experiments(filter, orderBy, first, after)", () => {
  let ids: Record<string, string>;
  before(async () => {
    ids = {
      alpha: await create({ name: "filter-alpha", tags: ["grid", "lr-0.1"], method: { name: "swamp" } }),
      beta: await create({ name: "filter-beta", tags: ["grid"], method: { name: "imp" }, model: { name: "conv-2" } }),
      gamma: await create({ name: "filter-GAMMA", tags: ["other"], method: { name: "imp-swa" }, data: { name: "mnist" } }),
    };
    await inTransaction(t.server.services, async (tx) => {
      for (const [key, accuracy, sparsity] of [["alpha", 0.9, 0.2], ["beta", 0.7, 0.5]] as const) {
        await startCycle(tx, { experimentId: ids[key]!, cycleIndex: 0, sparsity, aliveWeights: 50, totalWeights: 100, particleSeeds: [1] });
        await recordCycle(tx, { experimentId: ids[key]!, cycleIndex: 0, sparsity, aliveWeights: 50, totalWeights: 100, accuracy, loss: 1 });
      }
      await markExperimentStatus(tx, ids.beta!, "completed");
    });
  });

  const names = async (variables: Record<string, unknown>) => {
    const response = await t.gql(PAGE, { first: 100, ...variables });
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    return response.data!.experiments.edges.map((e: { node: { name: string } }) => e.node.name).filter((n: string) => n.startsWith("filter-"));
  };

  it("filters by status, tags, method, model, data set, name and created range", async () => {
    assert.deepEqual(await names({ filter: { statuses: ["COMPLETED"] } }), ["filter-beta"]);
    assert.deepEqual((await names({ filter: { tags: ["grid"] } })).sort(), ["filter-alpha", "filter-beta"]);
    assert.deepEqual(await names({ filter: { tags: ["grid", "lr-0.1"] } }), ["filter-alpha"]);
    assert.deepEqual(await names({ filter: { methods: ["imp-swa"] } }), ["filter-GAMMA"]);
    assert.deepEqual(await names({ filter: { models: ["conv-2"] } }), ["filter-beta"]);
    assert.deepEqual(await names({ filter: { datasets: ["mnist"] } }), ["filter-GAMMA"]);
    assert.deepEqual(await names({ filter: { nameContains: "gamma" } }), ["filter-GAMMA"]);
    assert.deepEqual(await names({ filter: { nameContains: "%" } }), [], "LIKE wildcards are matched literally");
    const future = new Date(Date.now() + 3600_000).toISOString();
    assert.deepEqual(await names({ filter: { createdAfter: future } }), []);
    assert.equal((await names({ filter: { createdBefore: future } })).length, 3);
    const counted = await t.gql(PAGE, { filter: { tags: ["grid"] }, first: 1 });
    assert.equal(counted.data!.experiments.totalCount, 2);
    assert.equal(counted.data!.experiments.edges.length, 1);
  });

  it("orders by created time, final sparsity and best accuracy (missing accuracies last)", async () => {
    const filter = { nameContains: "filter-" };
    assert.deepEqual(await names({ filter, orderBy: { field: "CREATED_AT", direction: "ASC" } }), ["filter-alpha", "filter-beta", "filter-GAMMA"]);
    assert.deepEqual(await names({ filter }), ["filter-GAMMA", "filter-beta", "filter-alpha"], "newest first by default");
    assert.deepEqual(await names({ filter, orderBy: { field: "FINAL_SPARSITY", direction: "DESC" } }), ["filter-beta", "filter-alpha", "filter-GAMMA"]);
    assert.deepEqual(await names({ filter, orderBy: { field: "BEST_ACCURACY", direction: "DESC" } }), ["filter-alpha", "filter-beta", "filter-GAMMA"]);
    assert.deepEqual(await names({ filter, orderBy: { field: "BEST_ACCURACY", direction: "ASC" } }), ["filter-GAMMA", "filter-beta", "filter-alpha"]);
  });

  it("refuses a page size out of range and a foreign or forged cursor", async () => {
    for (const first of [0, 501]) {
      const response = await t.gql(PAGE, { first });
      assert.equal(response.errors![0]!.extensions?.code, "BAD_USER_INPUT");
      assert.match(response.errors![0]!.message, /first/);
    }
    const page = await t.gql(PAGE, { first: 1 });
    const cursor = page.data!.experiments.pageInfo.endCursor;
    const foreign = await t.gql(PAGE, { first: 1, after: cursor, orderBy: { field: "BEST_ACCURACY", direction: "DESC" } });
    assert.match(foreign.errors![0]!.message, /after: belongs to a list ordered by createdAt:desc/);
    const forged = await t.gql(PAGE, { first: 1, after: Buffer.from(JSON.stringify({ o: "createdAt:desc", v: "1; DROP TABLE x", id: "x" })).toString("base64url") });
    assert.equal(forged.errors![0]!.extensions?.code, "BAD_USER_INPUT");
    const garbage = await t.gql(PAGE, { first: 1, after: "not-a-cursor" });
    assert.match(garbage.errors![0]!.message, /after: is not a cursor/);
  });
});

describe("pagination while rows are inserted", () => {
  const orders = [
    { field: "CREATED_AT", direction: "DESC" },
    { field: "CREATED_AT", direction: "ASC" },
    { field: "BEST_ACCURACY", direction: "DESC" },
    { field: "FINAL_SPARSITY", direction: "ASC" },
  ];
  for (const orderBy of orders) {
    it(`has no gap or duplicate ordered by ${orderBy.field} ${orderBy.direction}`, async () => {
      const tag = `page-${orderBy.field}-${orderBy.direction}`;
      const original: string[] = [];
      for (let i = 0; i < 23; i++) original.push(await create({ name: `${tag}-${i}`, tags: [tag] }));
      // Ties in the sort value (all sparsities 0, all accuracies missing) exercise the id tie-break.
      let inserted = 0;
      const seen = await pageThrough({ filter: { tags: [tag] }, orderBy, first: 5 }, async () => {
        for (let i = 0; i < 3; i++) await create({ name: `${tag}-late-${inserted++}`, tags: [tag] });
      });
      assert.equal(new Set(seen).size, seen.length, "no row appears twice");
      for (const id of original) assert.ok(seen.includes(id), `row ${id} present before paging began was not skipped`);
      assert.ok(inserted >= 12);
    });
  }
});

describe("cancel, retry, setTags, delete", () => {
  it("cancels a queued experiment and refuses to cancel it again", async () => {
    const id = await create({ name: "cancel-me" });
    const cancelled = await t.gql(`mutation($id: ID!) { cancelExperiment(id: $id) { status finishedAt } }`, { id });
    assert.equal(cancelled.data!.cancelExperiment.status, "CANCELLED");
    assert.ok(cancelled.data!.cancelExperiment.finishedAt);
    const again = await t.gql(`mutation($id: ID!) { cancelExperiment(id: $id) { status } }`, { id });
    assert.equal(again.errors![0]!.extensions?.code, "CONFLICT");
    assert.match(again.errors![0]!.message, /is cancelled; only queued or running experiments can become cancelled/);
  });

  it("retries a cancelled or failed experiment, clearing its error, and refuses a queued one", async () => {
    const id = await create({ name: "retry-me" });
    const refused = await t.gql(`mutation($id: ID!) { retryExperiment(id: $id) { status } }`, { id });
    assert.equal(refused.errors![0]!.extensions?.code, "CONFLICT");
    await inTransaction(t.server.services, (tx) => markExperimentStatus(tx, id, "failed", { error: "particle 2 failed 5 times" }));
    const failed = await t.gql(`query($id: ID!) { experiment(id: $id) { status error finishedAt } }`, { id });
    assert.deepEqual([failed.data!.experiment.status, failed.data!.experiment.error], ["FAILED", "particle 2 failed 5 times"]);
    const retried = await t.gql(`mutation($id: ID!) { retryExperiment(id: $id) { status error finishedAt } }`, { id });
    assert.deepEqual(retried.data!.retryExperiment, { status: "QUEUED", error: null, finishedAt: null });
  });

  it("replaces tags (trimmed, without duplicates) and validates each", async () => {
    const id = await create({ name: "tag-me" });
    const set = await t.gql(`mutation($id: ID!, $tags: [String!]!) { setTags(id: $id, tags: $tags) { tags } }`, { id, tags: [" new ", "new", "second"] });
    assert.deepEqual(set.data!.setTags.tags, ["new", "second"]);
    const bad = await t.gql(`mutation($id: ID!, $tags: [String!]!) { setTags(id: $id, tags: $tags) { tags } }`, { id, tags: ["ok", "  ", "x".repeat(101)] });
    assert.equal(bad.errors![0]!.extensions?.code, "BAD_USER_INPUT");
    assert.deepEqual(bad.errors![0]!.extensions?.problems.map((p: { path: string }) => p.path), ["tags.1", "tags.2"]);
    const stored = await t.gql(`query($id: ID!) { experiment(id: $id) { tags } }`, { id });
    assert.deepEqual(stored.data!.experiment.tags, ["new", "second"], "a refused change changes nothing");
    const missing = await t.gql(`mutation { setTags(id: "00000000-0000-4000-8000-000000000000", tags: []) { tags } }`);
    assert.equal(missing.errors![0]!.extensions?.code, "NOT_FOUND");
  });

  it("deletes an experiment with its cycles, particles, metrics and artifacts", async () => {
    const id = await create({ name: "delete-me" });
    const bytes = await writeArtifact(t.server.artifactStore, Buffer.from("weights"));
    await inTransaction(t.server.services, async (tx) => {
      await startCycle(tx, { experimentId: id, cycleIndex: 0, sparsity: 0, aliveWeights: 1, totalWeights: 1, particleSeeds: [1, 2] });
      await registerArtifact(tx, { experimentId: id, kind: "weights", format: "raw", sizeBytes: bytes.sizeBytes, sha256: bytes.sha256, location: bytes.location });
    });
    await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, [{ cycle: 0, particle: 0, key: "train/loss", step: 1, epoch: 0.1, value: 2.5, time: Date.now() }]));
    assert.equal((await t.server.dataSource.query(`SELECT count(*)::int AS n FROM metric_blocks`))[0].n > 0, true);
    const deleted = await t.gql(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id });
    assert.equal(deleted.data!.deleteExperiment, id);
    for (const table of ["experiments", "cycles", "particles", "artifacts", "metric_series"]) {
      const column = table === "experiments" ? "id" : "experiment_id";
      const rows = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]);
      assert.equal(rows[0].n, 0, `${table} emptied`);
    }
    for (const table of ["metric_points", "metric_blocks"]) {
      const orphans = await t.server.dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE series_id NOT IN (SELECT id FROM metric_series)`);
      assert.equal(orphans[0].n, 0, `${table} removed with their series`);
    }
    await assert.rejects(t.server.artifactStore.read(bytes.location), /missing/);
    const again = await t.gql(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id });
    assert.equal(again.errors![0]!.extensions?.code, "NOT_FOUND");
  });
});
