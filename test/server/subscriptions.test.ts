import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MetricPoint } from "../../schema/metrics.js";
import { InProcessPubSub } from "../../transport/live-feed/in-process-pubsub.js";
import { recordCycle, startCycle } from "../../server/services/cycles.js";
import { createExperiment, markExperimentStatus } from "../../server/services/experiments.js";
import { appendMetrics } from "../../server/services/metrics.js";
import { inTransaction } from "../../server/services/transaction.js";
import { collect, eventually, sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;

async function newExperiment(name: string): Promise<string> {
  return (await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name }) }))).id;
}

const subscribers = () => (t.server.pubsub as InProcessPubSub).subscriberCount();

before(async () => {
  t = await startTestServer({}, "subscriptions");
});
after(async () => {
  await t.close();
});

describe("experimentUpdated", () => {
  it("sends the experiment now, then on every change, and ends when it is deleted", async () => {
    const id = await newExperiment("watched");
    const client = t.wsClient();
    const { results } = collect<{ experimentUpdated: { status: string; tags: string[] } }>(client, `subscription($id: ID!) { experimentUpdated(id: $id) { status tags } }`, { id }, 10);
    await eventually(() => subscribers() > 0, 5_000, "the subscription to register");
    await inTransaction(t.server.services, (tx) => markExperimentStatus(tx, id, "running"));
    const tagged = await t.gql(`mutation($id: ID!) { setTags(id: $id, tags: ["live"]) { id } }`, { id });
    assert.equal(tagged.errors, undefined);
    const deleted = await t.gql(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id });
    assert.equal(deleted.errors, undefined);
    const updates = await results; // completes when the experiment is deleted
    assert.deepEqual(
      updates.map((u) => [u.experimentUpdated.status, u.experimentUpdated.tags]),
      [["QUEUED", ["baseline"]], ["RUNNING", ["baseline"]], ["RUNNING", ["live"]]],
    );
    await eventually(() => subscribers() === 0, 5_000, "the PubSub subscription to be released");
  });

  it("fails clearly for an unknown experiment", async () => {
    const { results } = collect(t.wsClient(), `subscription { experimentUpdated(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, 1);
    await assert.rejects(results, /no experiment with id/);
  });

  it("releases its PubSub subscription as soon as the client unsubscribes", async () => {
    const id = await newExperiment("unsubscribed");
    const before = subscribers();
    const { results, stop } = collect(t.wsClient(), `subscription($id: ID!) { experimentUpdated(id: $id) { id } }`, { id }, 2);
    await eventually(() => subscribers() === before + 1, 5_000, "the subscription to register");
    stop();
    await eventually(() => subscribers() === before, 5_000, "the subscription to be released without any further event");
    await results.catch(() => undefined);
  });
});

describe("cycleCompleted", () => {
  it("sends each cycle as its aggregate is recorded", async () => {
    const id = await newExperiment("cycles");
    const { results } = collect<{ cycleCompleted: { index: number; accuracy: number; sparsity: number } }>(
      t.wsClient(),
      `subscription($id: ID!) { cycleCompleted(experimentId: $id) { index accuracy sparsity } }`,
      { id },
      2,
    );
    await eventually(() => subscribers() > 0, 5_000, "the subscription to register");
    for (const cycle of [0, 1]) {
      await inTransaction(t.server.services, async (tx) => {
        await startCycle(tx, { experimentId: id, cycleIndex: cycle, sparsity: cycle * 0.2, aliveWeights: 10 - cycle * 2, totalWeights: 10, particleSeeds: [1] });
        await recordCycle(tx, { experimentId: id, cycleIndex: cycle, sparsity: cycle * 0.2, aliveWeights: 10 - cycle * 2, totalWeights: 10, accuracy: 0.9 - cycle / 10, loss: 0.2 });
        // Recording the same aggregate again (a re-delivered result) must not send it twice.
        await recordCycle(tx, { experimentId: id, cycleIndex: cycle, sparsity: cycle * 0.2, aliveWeights: 10 - cycle * 2, totalWeights: 10, accuracy: 0.9 - cycle / 10, loss: 0.2 });
      });
    }
    const cycles = await results;
    assert.deepEqual(cycles.map((c) => c.cycleCompleted), [{ index: 0, accuracy: 0.9, sparsity: 0 }, { index: 1, accuracy: 0.8, sparsity: 0.2 }]);
  });
});

describe("metrics", () => {
  const SUBSCRIBE = `subscription($id: ID!, $particle: Int, $keys: [String!]) { metrics(experimentId: $id, particle: $particle, keys: $keys) { history points { cycle particle key step value } } }`;
  type Batch = { metrics: { history: boolean; points: Array<{ cycle: number; particle: number | null; key: string; step: number; value: number }> } };

  it("sends the stored history, then live points, with no gap and no duplicate while points keep arriving", async () => {
    const id = await newExperiment("live-metrics");
    const total = 400;
    const keys = ["train/loss", "train/lr"];
    let written = 0;
    const writer = (async () => {
      while (written < total) {
        const batch: MetricPoint[] = [];
        for (let i = 0; i < 10; i++, written++) for (const key of keys) batch.push({ cycle: 0, particle: 0, key, step: written, epoch: written / 100, value: written, time: Date.now() });
        await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, batch));
        // Re-sending a batch (a redelivered task) must not reach subscribers twice.
        if (written % 50 === 0) await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, batch));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await eventually(() => written >= total / 4, 10_000, "some history to be written");
    const seen = new Map<string, number[]>();
    let historyBatches = 0;
    let liveBatches = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`saw ${JSON.stringify([...seen].map(([k, v]) => [k, v.length]))}`)), 20_000);
      const stop = t.wsClient().subscribe<Batch>(
        { query: SUBSCRIBE, variables: { id } },
        {
          next: (value) => {
            if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
            const batch = value.data!.metrics;
            if (batch.history) {
              assert.equal(liveBatches, 0, "history comes before any live batch");
              historyBatches++;
            } else liveBatches++;
            for (const point of batch.points) {
              const steps = seen.get(point.key) ?? [];
              steps.push(point.step);
              seen.set(point.key, steps);
            }
            if (keys.every((key) => (seen.get(key)?.length ?? 0) >= total)) {
              clearTimeout(timer);
              stop();
              resolve();
            }
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await writer;
    assert.ok(historyBatches >= 1 && liveBatches >= 1, `history ${historyBatches}, live ${liveBatches}`);
    for (const key of keys) {
      const steps = seen.get(key)!;
      assert.equal(steps.length, total, `${key}: no duplicate`);
      assert.deepEqual([...steps].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i), `${key}: no gap`);
    }
  });

  it("filters by particle and keys, live and in history", async () => {
    const id = await newExperiment("filtered-metrics");
    const point = (particle: number | undefined, key: string, step: number): MetricPoint => ({ cycle: 0, ...(particle === undefined ? {} : { particle }), key, step, epoch: 0, value: step, time: Date.now() });
    await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, [point(0, "a", 0), point(1, "a", 0), point(1, "b", 0), point(undefined, "a", 0)]));
    const { results } = collect<Batch>(t.wsClient(), SUBSCRIBE, { id, particle: 1, keys: ["a"] }, 2);
    await eventually(() => subscribers() > 0, 5_000, "the subscription to register");
    await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, [point(0, "a", 1), point(1, "b", 1), point(1, "a", 1)]));
    const [history, live] = (await results).map((b) => b.metrics);
    assert.deepEqual(history!.points.map((p) => [p.particle, p.key, p.step]), [[1, "a", 0]]);
    assert.equal(history!.history, true);
    assert.deepEqual(live!.points.map((p) => [p.particle, p.key, p.step]), [[1, "a", 1]]);
    assert.equal(live!.history, false);
  });
});
