import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MetricPoint } from "../../schema/metrics.js";
import { startCycle } from "../../server/services/cycles.js";
import { createExperiment } from "../../server/services/experiments.js";
import { appendMetrics } from "../../server/services/metrics.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let experimentId: string;

const append = (points: MetricPoint[], id = experimentId) => inTransaction(t.server.services, (tx) => appendMetrics(tx, id, points));

/** A noisy decaying loss with one spike up at `spikeStep` and one dip down at `dipStep`. */
function lossSeries(count: number, spikeStep: number, dipStep: number, particle?: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let step = 0; step < count; step++) {
    const value = step === spikeStep ? 50 : step === dipStep ? -5 : 2 * Math.exp(-step / 5000) + 0.01 * Math.sin(step);
    points.push({ cycle: 0, ...(particle === undefined ? {} : { particle }), key: "train/loss", step, epoch: step / 100, value, time: 1_700_000_000_000 + step });
  }
  return points;
}

const METRICS = `query($id: ID!, $cycle: Int!, $particle: Int, $keys: [String!]!, $samples: Int) {
  metrics(experimentId: $id, cycle: $cycle, particle: $particle, keys: $keys, samples: $samples) { key cycle particle totalPoints sampled points { step epoch value time } }
}`;

before(async () => {
  t = await startTestServer({}, "metrics");
  const experiment = await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name: "metrics" }) }));
  experimentId = experiment.id;
  await inTransaction(t.server.services, (tx) => startCycle(tx, { experimentId, cycleIndex: 0, sparsity: 0, aliveWeights: 10, totalWeights: 10, particleSeeds: [1, 2] }));
});
after(async () => {
  await t.close();
});

describe("appendMetrics", () => {
  it("stores a batch in bulk and skips points sent again", async () => {
    const points = lossSeries(20_000, 7_777, 12_345, 0);
    const first = await append(points);
    assert.deepEqual(first, { received: 20_000, inserted: 20_000 });
    const again = await append(points.slice(5_000, 6_000));
    assert.deepEqual(again, { received: 1_000, inserted: 0 }, "a re-delivered batch is a no-op");
    const within = await append([
      { cycle: 0, particle: 1, key: "train/lr", step: 1, epoch: 0, value: 0.1, time: Date.now() },
      { cycle: 0, particle: 1, key: "train/lr", step: 1, epoch: 0, value: 0.2, time: Date.now() },
    ]);
    assert.equal(within.inserted, 1, "a step repeated within one batch is stored once");
    const stored = await t.server.dataSource.query(`SELECT s.point_count, (SELECT count(*)::int FROM metric_points p WHERE p.series_id = s.id) AS actual FROM metric_series s WHERE experiment_id = $1`, [experimentId]);
    for (const row of stored) assert.equal(row.point_count, row.actual, "point_count matches the rows");
  });

  it("keeps block summaries equal to the points, whatever the arrival order", async () => {
    const points = lossSeries(3_000, 100, 2_000, 1).map((p) => ({ ...p, key: "shuffled" }));
    const odd = points.filter((p) => p.step % 2 === 1);
    const even = points.filter((p) => p.step % 2 === 0);
    await append(odd.reverse());
    await append(even);
    const mismatches = await t.server.dataSource.query(
      `SELECT b.block FROM metric_blocks b JOIN metric_series s ON s.id = b.series_id
         JOIN LATERAL (SELECT count(*)::int AS n, min(ARRAY[value, step::float8]) AS lo, max(ARRAY[value, -step::float8]) AS hi
                         FROM metric_points p WHERE p.series_id = b.series_id AND p.step >> 6 = b.block) r ON true
        WHERE s.key = 'shuffled' AND (b.points <> r.n OR b.min_value <> r.lo[1] OR b.min_step <> r.lo[2] OR b.max_value <> r.hi[1] OR b.max_step <> -r.hi[2])`,
    );
    assert.deepEqual(mismatches, []);
  });

  it("refuses malformed points, naming each field, and stores none of the batch", async () => {
    const before = (await t.server.dataSource.query(`SELECT count(*)::int AS n FROM metric_points`))[0].n;
    const good: MetricPoint = { cycle: 0, key: "ok", step: 99_999, epoch: 1, value: 1, time: Date.now() };
    const bad = [
      good,
      { ...good, step: -1 },
      { ...good, step: 1.5 },
      { ...good, value: Number.NaN },
      { ...good, epoch: Number.POSITIVE_INFINITY },
      { ...good, key: "" },
      { ...good, cycle: -2 },
      { ...good, particle: 2.5 },
      { ...good, time: Number.NaN },
    ];
    await assert.rejects(append(bad), (error: Error & { problems?: Array<{ path: string }> }) => {
      assert.deepEqual(
        error.problems!.map((p) => p.path),
        ["points.1.step", "points.2.step", "points.3.value", "points.4.epoch", "points.5.key", "points.6.cycle", "points.7.particle", "points.8.time"],
      );
      return true;
    });
    assert.equal((await t.server.dataSource.query(`SELECT count(*)::int AS n FROM metric_points`))[0].n, before);
    await assert.rejects(append([good], "00000000-0000-4000-8000-000000000000"), /no experiment/);
  });
});

describe("metrics query", () => {
  for (const samples of [50, 500]) {
    it(`downsamples 20,000 points to at most ${samples}, keeping first, last and the extremes (${samples === 50 ? "from block summaries" : "from points"})`, async () => {
      const response = await t.gql(METRICS, { id: experimentId, cycle: 0, particle: 0, keys: ["train/loss"], samples });
      assert.equal(response.errors, undefined, JSON.stringify(response.errors));
      const [series] = response.data!.metrics;
      assert.equal(series.totalPoints, 20_000);
      assert.equal(series.sampled, true);
      assert.equal(series.particle, 0);
      assert.ok(series.points.length <= samples && series.points.length >= samples * 0.8, `${series.points.length} points`);
      const steps = series.points.map((p: { step: number }) => p.step);
      assert.deepEqual(steps, [...steps].sort((a, b) => a - b), "in step order");
      assert.equal(steps[0], 0);
      assert.equal(steps.at(-1), 19_999);
      assert.ok(steps.includes(7_777), "the spike is kept");
      assert.ok(steps.includes(12_345), "the dip is kept");
      const spike = series.points.find((p: { step: number }) => p.step === 7_777);
      assert.deepEqual([spike.value, spike.epoch, spike.time], [50, 77.77, new Date(1_700_000_000_000 + 7_777).toISOString()]);
    });
  }

  it("returns short series whole, empty series empty, and the cycle-level series when particle is omitted", async () => {
    await append([0, 1, 2].map((step) => ({ cycle: 0, key: "test/accuracy", step, epoch: step, value: 0.5 + step / 10, time: Date.now() })));
    const response = await t.gql(METRICS, { id: experimentId, cycle: 0, keys: ["test/accuracy", "never/logged"] });
    const [accuracy, missing] = response.data!.metrics;
    assert.equal(accuracy.particle, null);
    assert.equal(accuracy.sampled, false);
    assert.deepEqual(accuracy.points.map((p: { value: number }) => p.value), [0.5, 0.6, 0.7]);
    assert.deepEqual([missing.key, missing.totalPoints, missing.points], ["never/logged", 0, []]);
  });

  it("refuses bad arguments", async () => {
    for (const [variables, pattern] of [
      [{ samples: 1 }, /samples: must be an integer from 2 to 10000/],
      [{ keys: [] }, /keys: name 1 to 50 keys/],
      [{ cycle: -1 }, /cycle: must be an integer/],
      [{ id: "nope" }, /experimentId: "nope" is not a valid id/],
    ] as const) {
      const response = await t.gql(METRICS, { id: experimentId, cycle: 0, keys: ["train/loss"], ...variables });
      assert.equal(response.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
      assert.match(response.errors![0]!.message, pattern);
    }
  });
});

describe("metricPoints scan and metricSeries", () => {
  it("pages through every point exactly once, in step order", async () => {
    const steps: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: { data?: any; errors?: unknown } = await t.gql(
        `query($id: ID!, $after: String) { metricPoints(experimentId: $id, cycle: 0, particle: 0, key: "train/loss", first: 7000, after: $after) { points { step } hasNextPage endCursor } }`,
        { id: experimentId, after },
      );
      assert.equal(response.errors, undefined);
      const pageData = response.data.metricPoints;
      steps.push(...pageData.points.map((p: { step: number }) => p.step));
      if (!pageData.hasNextPage) break;
      after = pageData.endCursor;
    }
    assert.equal(steps.length, 20_000);
    assert.ok(steps.every((step, i) => step === i));
    const bad = await t.gql(`query($id: ID!) { metricPoints(experimentId: $id, cycle: 0, key: "train/loss", after: "zzz") { hasNextPage } }`, { id: experimentId });
    assert.match(bad.errors![0]!.message, /after: is not a cursor returned by metricPoints/);
  });

  it("reads the first page when after is omitted (not only when it is null)", async () => {
    const response = await t.gql(`query($id: ID!) { metricPoints(experimentId: $id, cycle: 0, particle: 0, key: "train/loss", first: 3) { points { step } hasNextPage } }`, { id: experimentId });
    assert.equal(response.errors, undefined);
    assert.deepEqual(response.data!.metricPoints, { points: [{ step: 0 }, { step: 1 }, { step: 2 }], hasNextPage: true });
  });

  it("lists an experiment's series with their point counts", async () => {
    const response = await t.gql(`query($id: ID!) { experiment(id: $id) { metricSeries { cycle particle key pointCount } } }`, { id: experimentId });
    const series = response.data!.experiment.metricSeries;
    assert.deepEqual(series.find((s: { key: string }) => s.key === "test/accuracy"), { cycle: 0, particle: null, key: "test/accuracy", pointCount: 3 });
    assert.deepEqual(series.find((s: { key: string; particle: number }) => s.key === "train/loss" && s.particle === 0), { cycle: 0, particle: 0, key: "train/loss", pointCount: 20_000 });
  });
});
