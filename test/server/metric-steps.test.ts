import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { METRIC_KEYS, type MetricPoint } from "../../schema/metrics.js";
import { createExperiment } from "../../server/services/experiments.js";
import { appendMetrics } from "../../server/services/metrics.js";
import { inTransaction } from "../../server/services/transaction.js";
import { collect, sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let id: string;

// 2,000 synthetic training examples in batches of 500: 4 steps an epoch; 1 pretraining epoch, 2 per cycle.
const config = sampleConfig({ name: "steps", training: { epochs: 2, batchSize: 500, rewindEpochs: 1 }, pruning: { cycles: 1 } });

before(async () => {
  t = await startTestServer({}, "metricsteps");
  id = (await inTransaction(t.server.services, (tx) => createExperiment(tx, { config }))).id;
  const points: MetricPoint[] = [{ cycle: 0, key: METRIC_KEYS.pretrainLoss, step: 1, epoch: 1, value: 2, time: 1 }];
  for (const cycle of [0, 1]) {
    for (const particle of [0, 1]) for (let step = 1; step <= 8; step++) points.push({ cycle, particle, key: METRIC_KEYS.trainLoss, step, epoch: step / 4, value: 1 / step, time: 2 });
    points.push({ cycle, key: METRIC_KEYS.testAccuracy, step: 0, epoch: 2, value: 0.9, time: 3 });
  }
  await inTransaction(t.server.services, (tx) => appendMetrics(tx, id, points));
});
after(async () => {
  await t.close();
});

it("maps each point onto one cycle-major axis: pretraining, then each cycle's particles, then its averaged model", async () => {
  const read = async (cycle: number, particle: number | null, key: string) => {
    const response = await t.gql(`query($id: ID!, $cycle: Int!, $particle: Int, $key: String!) {
      metrics(experimentId: $id, cycle: $cycle, particle: $particle, keys: [$key]) { points { step globalStep } }
      metricPoints(experimentId: $id, cycle: $cycle, particle: $particle, key: $key) { points { step globalStep } } }`, { id, cycle, particle, key });
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    assert.deepEqual(response.data!.metricPoints.points, response.data!.metrics[0].points, "metrics and metricPoints agree");
    return response.data!.metrics[0].points as Array<{ step: number; globalStep: number }>;
  };
  assert.deepEqual(await read(0, null, METRIC_KEYS.pretrainLoss), [{ step: 1, globalStep: 4 }]);
  const cycle0 = await read(0, 1, METRIC_KEYS.trainLoss);
  assert.deepEqual(cycle0.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8], "the stored per-task step is unchanged");
  assert.deepEqual(cycle0.map((p) => p.globalStep), [5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(await read(0, null, METRIC_KEYS.testAccuracy), [{ step: 0, globalStep: 12 }]);
  assert.deepEqual((await read(1, 0, METRIC_KEYS.trainLoss)).map((p) => p.globalStep), [13, 14, 15, 16, 17, 18, 19, 20]);
  assert.deepEqual(await read(1, null, METRIC_KEYS.testAccuracy), [{ step: 0, globalStep: 20 }]);
});

it("the metrics subscription carries the same global steps, monotone along the run for each particle", async () => {
  const { results } = collect<{ metrics: { history: boolean; points: Array<{ cycle: number; particle: number | null; key: string; step: number; globalStep: number }> } }>(
    t.wsClient(),
    `subscription($id: ID!) { metrics(experimentId: $id) { history points { cycle particle key step globalStep } } }`,
    { id },
    1,
  );
  const [batch] = await results;
  // In run order: pretraining, then per cycle particle 0's training, then the averaged model's evaluation.
  const phase = (p: { key: string; particle: number | null }) => (p.key === METRIC_KEYS.pretrainLoss ? -1 : p.particle === null ? 1 : 0);
  const particle0 = batch!.metrics.points.filter((p) => p.particle === 0 || p.particle === null).sort((a, b) => a.cycle - b.cycle || phase(a) - phase(b) || a.step - b.step);
  assert.equal(particle0.length, 1 + 2 * (8 + 1));
  const steps = particle0.map((p) => p.globalStep);
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
  assert.equal(particle0.find((p) => p.key === METRIC_KEYS.pretrainLoss)!.globalStep, 4);
  assert.equal(particle0.find((p) => p.cycle === 1 && p.particle === 0 && p.step === 1)!.globalStep, 13);
});
