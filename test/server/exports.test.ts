import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { METRIC_KEYS, type MetricPoint } from "../../schema/metrics.js";
import { csvLine } from "../../server/http/csv.js";
import { recordCycle, recordParticle, startCycle } from "../../server/services/cycles.js";
import { appendMetrics } from "../../server/services/metrics.js";
import { createSweep } from "../../server/services/sweeps.js";
import { inTransaction } from "../../server/services/transaction.js";
import { sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

let t: TestServer;
let sweepId: string;
let experimentIds: string[];

before(async () => {
  t = await startTestServer({}, "exports");
  const base = sampleConfig({ name: "x", training: { epochs: 2, batchSize: 500 }, pruning: { cycles: 2 }, tags: [] });
  const created = await inTransaction(t.server.services, (tx) =>
    createSweep(tx, { name: "exp", base, grid: { "pruning.exclude": [[], ["fc1", "fc2"]], seed: [0, 1] } }),
  );
  sweepId = created.sweep.id;
  experimentIds = created.experimentIds;
  for (const [i, experimentId] of experimentIds.entries()) {
    for (let cycle = 0; cycle < 2; cycle++) {
      const sparsity = cycle * 0.2;
      await inTransaction(t.server.services, async (tx) => {
        await startCycle(tx, { experimentId, cycleIndex: cycle, sparsity, aliveWeights: 8, totalWeights: 10, particleSeeds: [0, 1] });
        for (const p of [0, 1]) await recordParticle(tx, { experimentId, cycleIndex: cycle, particleIndex: p, status: "completed", accuracy: 0.7 + i / 31 + p / 97 });
        await recordCycle(tx, { experimentId, cycleIndex: cycle, sparsity, aliveWeights: 8, totalWeights: 10, accuracy: 0.8 + i / 37 - cycle / 11, loss: 0.5 });
      });
    }
  }
  const points: MetricPoint[] = [];
  for (let step = 1; step <= 8; step++) points.push({ cycle: 1, particle: 0, key: METRIC_KEYS.trainLoss, step, epoch: step / 4, value: 1 / step, time: 1_700_000_000_000 + step });
  points.push({ cycle: 1, key: METRIC_KEYS.testAccuracy, step: 0, epoch: 2, value: 0.75, time: 1_700_000_000_100 });
  await inTransaction(t.server.services, (tx) => appendMetrics(tx, experimentIds[0]!, points));
});
after(async () => {
  await t.close();
});

const get = (path: string, token: string | null = t.adminToken) => fetch(`${t.server.baseUrl}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

/** A small RFC 4180 reader, enough to check the writer's quoting. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\r" && text[i + 1] === "\n") row.push(field), rows.push(row), (row = []), (field = ""), i++;
    else field += c;
  }
  return rows;
}

it("quotes CSV fields holding commas, quotes and line breaks", () => {
  assert.equal(csvLine(["a", 'say "hi"', "x,y", "two\nlines", null, 0.1, ["l", 1]]), 'a,"say ""hi""","x,y","two\nlines",,0.1,"[""l"",1]"\r\n');
  assert.deepEqual(parseCsv(csvLine(['say "hi"', "x,y", "two\nlines"])), [['say "hi"', "x,y", "two\nlines"]]);
});

it("exports the grouped frontier as JSON with exactly groupedFrontier's numbers, and as CSV with the same rows", async () => {
  const query = `?groupBy=pruning.exclude&sweepId=${sweepId}`;
  const json = await get(`/export/frontier.json${query}`);
  assert.equal(json.status, 200);
  assert.match(json.headers.get("content-type")!, /application\/json/);
  const rows = (await json.json()) as Array<Record<string, unknown>>;
  const graphql = await t.gql(`query($filter: ExperimentFilter) { groupedFrontier(groupBy: ["pruning.exclude"], filter: $filter) { key points { cycle sparsity n accuracyMean accuracyStd accuracyMin accuracyMax bestParticleMean bestParticleStd bestParticleMin bestParticleMax lossMean } } }`, { filter: { sweepId } });
  const expected = graphql.data!.groupedFrontier.flatMap((g: { key: Record<string, unknown>; points: Array<Record<string, number | null>> }) =>
    g.points.map((p) => ({
      "pruning.exclude": g.key["pruning.exclude"],
      cycle: p.cycle,
      sparsity: p.sparsity,
      n: p.n,
      accuracy_mean: p.accuracyMean,
      accuracy_std: p.accuracyStd,
      accuracy_min: p.accuracyMin,
      accuracy_max: p.accuracyMax,
      best_particle_mean: p.bestParticleMean,
      best_particle_std: p.bestParticleStd,
      best_particle_min: p.bestParticleMin,
      best_particle_max: p.bestParticleMax,
      loss_mean: p.lossMean,
    })),
  );
  assert.equal(rows.length, 4, "2 groups × 2 cycles");
  assert.deepEqual(rows, expected);

  const csv = await get(`/export/frontier.csv${query}`);
  assert.match(csv.headers.get("content-type")!, /text\/csv/);
  const table = parseCsv(await csv.text());
  assert.deepEqual(table[0], ["pruning.exclude", "cycle", "sparsity", "n", "accuracy_mean", "accuracy_std", "accuracy_min", "accuracy_max", "best_particle_mean", "best_particle_std", "best_particle_min", "best_particle_max", "loss_mean"]);
  assert.equal(table.length, 5);
  for (const [i, row] of rows.entries()) {
    assert.deepEqual(JSON.parse(table[i + 1]![0]!), row["pruning.exclude"], "list values as JSON, quoted");
    assert.deepEqual(table[i + 1]!.slice(1).map(Number), Object.values(row).slice(1).map(Number), "numbers round-trip exactly");
  }
});

it("takes the filter parameters, config=path:JSON included", async () => {
  const rows = (await (await get(`/export/frontier.json?groupBy=seed&config=seed:1&sweepId=${sweepId}`)).json()) as Array<Record<string, unknown>>;
  assert.deepEqual([...new Set(rows.map((r) => r.seed))], [1]);
  assert.equal(rows[0]!.n, 2);
  const none = (await (await get(`/export/frontier.json?groupBy=seed&tagsAny=nope`)).json()) as unknown[];
  assert.deepEqual(none, []);
});

it("exports metric points with the experiment-wide step, every point or downsampled", async () => {
  const id = experimentIds[0]!;
  const rows = (await (await get(`/export/metrics.json?experiment=${id}&key=${encodeURIComponent(METRIC_KEYS.trainLoss)}&key=${encodeURIComponent(METRIC_KEYS.testAccuracy)}`)).json()) as Array<Record<string, unknown>>;
  assert.equal(rows.length, 9);
  // 2,000 examples / 500 = 4 steps an epoch; 1 pretraining epoch, 2 epochs a cycle: cycle 1 starts after step 4 + 8.
  assert.deepEqual(rows.find((r) => r.key === METRIC_KEYS.testAccuracy), { experiment: id, key: METRIC_KEYS.testAccuracy, cycle: 1, particle: null, step: 20, value: 0.75, time: new Date(1_700_000_000_100).toISOString(), task_step: 0, epoch: 2 });
  const loss = rows.filter((r) => r.key === METRIC_KEYS.trainLoss);
  assert.deepEqual(loss.map((r) => r.step), [13, 14, 15, 16, 17, 18, 19, 20]);
  assert.deepEqual(loss.map((r) => r.particle), Array(8).fill(0));
  const csv = parseCsv(await (await get(`/export/metrics.csv?experiment=${id}&key=${encodeURIComponent(METRIC_KEYS.trainLoss)}&samples=4`)).text());
  assert.deepEqual(csv[0], ["experiment", "key", "cycle", "particle", "step", "value", "time", "task_step", "epoch"]);
  assert.ok(csv.length - 1 <= 4 && csv.length - 1 >= 2, `downsampled to at most 4 points, got ${csv.length - 1}`);
  assert.equal(csv[1]![4], "13", "the first point is kept");
  assert.equal(csv.at(-1)![4], "20", "the last point is kept");
});

it("authenticates like /graphql and reports bad input as JSON with the field", async () => {
  const anonymous = await get(`/export/frontier.csv`, null);
  assert.equal(anonymous.status, 401);
  assert.match(((await anonymous.json()) as { error: { message: string } }).error.message, /bearer token with read scope/);
  assert.equal((await get(`/export/metrics.json?experiment=${experimentIds[0]}`, "not-a-token")).status, 401);
  const reader = await t.token(["read"]);
  assert.equal((await get(`/export/frontier.json`, reader)).status, 200);
  const cases: Array<[string, number, string | null]> = [
    [`/export/frontier.csv?groupBy=method.nope`, 400, "groupBy.0"],
    [`/export/frontier.csv?config=seed:notjson`, 400, "config.0"],
    [`/export/frontier.csv?statuses=sleeping`, 400, "statuses.0"],
    [`/export/metrics.csv`, 400, "experiment"],
    [`/export/metrics.csv?experiment=x`, 400, "experiment"],
    [`/export/metrics.csv?experiment=${experimentIds[0]}&samples=1`, 400, "samples"],
    [`/export/metrics.json?experiment=00000000-0000-4000-8000-000000000000`, 404, null],
  ];
  for (const [path, status, field] of cases) {
    const response = await get(path);
    assert.equal(response.status, status, path);
    const body = (await response.json()) as { error: { message: string; field: string | null } };
    assert.equal(body.error.field, field, `${path}: ${body.error.message}`);
  }
});
