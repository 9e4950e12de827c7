/**
 * Analyses end to end on a real PostgreSQL and the embedded transport: a tiny experiment trained by
 * an in-process fleet worker, then analyses created through GraphQL, run as `analyze` tasks on the
 * same worker, followed by subscription, stored, downloadable, and deterministic given their seed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { createScratchDatabase, type ScratchDatabase } from "../../server/db/scratch-database.js";
import { startFleetServer, type RunningFleetServer } from "../../server/fleet-server.js";
import { createApiToken } from "../../server/services/tokens.js";
import { createEmbeddedTransport } from "../../transport/embedded/embedded-transport.js";
import type { Transport } from "../../transport/transport.js";
import { FleetWorker } from "../../worker/fleet/fleet-worker.js";
import { TEST_ADMIN_DATABASE_URL, collect, eventually } from "./support/test-server.js";
import { runSwamp } from "../helpers/cli.js";

let database: ScratchDatabase;
let home: string;
let transport: Transport;
let fleet: RunningFleetServer;
let worker: FleetWorker;
let token: string;
let experimentId: string;
const clients: Client[] = [];

const tinyConfig = {
  name: "analyses-tiny",
  seed: 3,
  data: { name: "synthetic", trainSubset: 256, testSubset: 128 },
  model: { name: "lenet-300-100" },
  method: { name: "swamp", particles: 2 },
  pruning: { rate: 0.2, cycles: 1 },
  training: { epochs: 2, rewindEpochs: 1, batchSize: 64, lr: 0.05, bnRecalibrationExamples: 128 },
  swa: { lr: 0.02, startFraction: 0.5 },
};

async function gql<T = any>(query: string, variables: Record<string, unknown> = {}, bearer: string | null = token): Promise<{ data: T | null | undefined; errors?: Array<{ message: string; extensions?: Record<string, any> }> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(fleet.server.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as never;
}

const CREATE = `mutation($experimentId: ID!, $kind: String!, $input: JSONObject, $others: [ID!]) {
  createAnalysis(experimentId: $experimentId, kind: $kind, input: $input, otherExperimentIds: $others) { id kind status input seed }
}`;
const ANALYSIS = `query($id: ID!) { analysis(id: $id) { id kind status progress result error seconds workerId } }`;

async function waitForAnalysis(id: string, timeoutMs = 120_000): Promise<{ status: string; result: any; error: string | null; progress: number }> {
  let last: any;
  await eventually(
    async () => {
      last = (await gql(ANALYSIS, { id })).data?.analysis;
      return last?.status === "SUCCEEDED" || last?.status === "FAILED";
    },
    timeoutMs,
    `analysis ${id} to finish`,
  );
  return last;
}

before(async () => {
  database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "analyses");
  home = mkdtempSync(join(tmpdir(), "swamp-analyses-"));
  transport = createEmbeddedTransport({ home });
  fleet = await startFleetServer({ transport, databaseUrl: database.url, port: 0, swampHome: home, log: () => undefined });
  token = (await createApiToken(fleet.server.dataSource.manager, { name: "analyses test", scopes: ["admin"] })).secret;
  worker = new FleetWorker({ transport, slots: 1, workerId: "analyses-worker" });
  await worker.start();
  const created = await gql(`mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`, { config: tinyConfig });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  experimentId = created.data.createExperiment.id;
  await eventually(async () => (await gql(`query($id: ID!) { experiment(id: $id) { status } }`, { id: experimentId })).data?.experiment.status === "COMPLETED", 180_000, "the experiment to complete");
});

after(async () => {
  for (const client of clients) await client.dispose();
  await worker?.stop();
  await fleet?.close();
  await transport?.close();
  await database?.drop();
  rmSync(home, { recursive: true, force: true });
});

test("bad requests are refused with the field named, and nothing is stored", async () => {
  const unknownKind = await gql(CREATE, { experimentId, kind: "landscape", input: { cycle: 1 } });
  assert.equal(unknownKind.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
  assert.equal(unknownKind.errors?.[0]?.extensions?.problems[0].path, "kind");
  const badPoints = await gql(CREATE, { experimentId, kind: "interpolate", input: { cycle: 1, points: 1 } });
  assert.equal(badPoints.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
  assert.deepEqual(badPoints.errors?.[0]?.extensions?.problems.map((p: { path: string }) => p.path), ["input.points"]);
  const unknownField = await gql(CREATE, { experimentId, kind: "flatness", input: { cycle: 1, probs: 10 } });
  assert.match(unknownField.errors?.[0]?.message ?? "", /input\.\(root\): unknown field\(s\) "probs"/);
  const notCompleted = await gql(CREATE, { experimentId, kind: "plane", input: { cycle: 4 } });
  assert.equal(notCompleted.errors?.[0]?.extensions?.code, "CONFLICT");
  assert.match(notCompleted.errors?.[0]?.message ?? "", /has not completed cycle 4 \(completed: 0, 1\)/);
  const tooManySources = await gql(CREATE, { experimentId, kind: "flatness", input: { cycle: 1 }, others: [experimentId] });
  assert.equal(tooManySources.errors?.[0]?.extensions?.problems[0].path, "experimentIds");
  const readOnly = await createApiToken(fleet.server.dataSource.manager, { name: "reader", scopes: ["read"] });
  const refused = await gql(CREATE, { experimentId, kind: "mask-overlap", input: { cycles: [0, 1] } }, readOnly.secret);
  assert.equal(refused.errors?.[0]?.extensions?.code, "FORBIDDEN");
  const stored = await gql(`query($id: ID!) { experiment(id: $id) { analyses { id } } }`, { id: experimentId });
  assert.deepEqual(stored.data.experiment.analyses, []);
});

test("mask overlap on request agrees with the mask-overlap task, which is stored, followed live and downloadable", async () => {
  const direct = await gql(`query($a: ID!) { maskOverlap(a: $a, cycleA: 0, cycleB: 1) { jaccard hamming aliveA aliveB total layers { layer jaccard total } } }`, { a: experimentId });
  assert.equal(direct.errors, undefined, JSON.stringify(direct.errors));
  const overlap = direct.data.maskOverlap;
  // Cycle 0 is dense; cycle 1 keeps 80% of it, so the Jaccard index is the fraction kept.
  assert.equal(overlap.aliveA, overlap.total);
  assert.ok(Math.abs(overlap.jaccard - overlap.aliveB / overlap.total) < 1e-12);
  assert.ok(Math.abs(overlap.aliveB / overlap.total - 0.8) < 0.01, `kept ${overlap.aliveB / overlap.total}`);
  assert.equal(overlap.hamming, overlap.total - overlap.aliveB);
  assert.equal(overlap.layers.reduce((sum: number, layer: { total: number }) => sum + layer.total, 0), overlap.total);

  const created = await gql(CREATE, { experimentId, kind: "mask-overlap", input: { cycles: [0, 1] } });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const id = created.data.createAnalysis.id as string;
  const client = createClient({ url: fleet.server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });
  clients.push(client);
  const updates = collect<{ analysisUpdated: { status: string; progress: number } }>(client, `subscription($id: ID!) { analysisUpdated(id: $id) { status progress } }`, { id }, 100, 120_000);
  const finished = await waitForAnalysis(id);
  assert.equal(finished.status, "SUCCEEDED", finished.error ?? "");
  const seen = (await updates.results).map((update) => update.analysisUpdated);
  assert.equal(seen.at(-1)!.status, "SUCCEEDED", "the subscription ends with the finished analysis");
  assert.equal(seen.at(-1)!.progress, 1);
  const { a: _a, b: _b, ...counts } = finished.result;
  assert.deepEqual(counts, { ...overlap, intersection: counts.intersection, union: counts.union, layers: counts.layers });
  assert.equal(finished.result.jaccard, overlap.jaccard);

  const json = await fetch(`${fleet.server.baseUrl}/export/analysis/${id}.json`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(json.status, 200);
  const downloaded = (await json.json()) as { kind: string; result: unknown };
  assert.equal(downloaded.kind, "mask-overlap");
  assert.deepEqual(downloaded.result, finished.result);
  const csv = await fetch(`${fleet.server.baseUrl}/export/analysis/${id}.csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(csv.status, 200);
  const lines = (await csv.text()).trim().split("\r\n");
  assert.equal(lines[0], "layer,jaccard,hamming,alive_a,alive_b,intersection,union,total");
  assert.equal(lines.length, 1 + overlap.layers.length + 1, "one row per layer and one for the whole model");
  const anonymous = await fetch(`${fleet.server.baseUrl}/export/analysis/${id}.json`);
  assert.equal(anonymous.status, 401);
  const missing = await fetch(`${fleet.server.baseUrl}/export/analysis/999999.json`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(missing.status, 404);
});

test("an interpolation runs on the worker, matches the stored models at its ends, and is deterministic given its seed", async () => {
  const input = { cycle: 1, pairs: "average", points: 3, trainExamples: 64, seed: 5 };
  const first = await gql(CREATE, { experimentId, kind: "interpolate", input });
  const second = await gql(CREATE, { experimentId, kind: "interpolate", input });
  assert.equal(first.errors, undefined, JSON.stringify(first.errors));
  assert.equal(first.data.createAnalysis.seed, 5);
  const [a, b] = [await waitForAnalysis(first.data.createAnalysis.id, 300_000), await waitForAnalysis(second.data.createAnalysis.id, 300_000)];
  assert.equal(a.status, "SUCCEEDED", a.error ?? "");
  assert.equal(b.status, "SUCCEEDED", b.error ?? "");
  assert.equal(a.result.pairs.length, 2, "each of the two particles against the average");
  assert.deepEqual(a.result, b.result);
  const accuracy: Array<{ accuracy: number }> = await fleet.server.dataSource.query(`SELECT accuracy FROM cycles WHERE experiment_id = $1 AND cycle_index = 1`, [experimentId]);
  // α = 1 is the averaged model, whose test accuracy the cycle recorded.
  assert.ok(Math.abs(a.result.pairs[0].testAccuracy.at(-1) - accuracy[0]!.accuracy) < 1e-6);
  const listed = await gql(`query($id: ID!) { experiment(id: $id) { analyses(kind: "interpolate") { id status } } }`, { id: experimentId });
  assert.deepEqual(
    listed.data.experiment.analyses.map((row: { id: string }) => row.id),
    [second.data.createAnalysis.id, first.data.createAnalysis.id],
  );
});

test("swamp analyze --server submits, follows and prints the result as the run-directory form does", async () => {
  const server = fleet.server.baseUrl;
  const overlap = await runSwamp(["analyze", "mask-overlap", "--server", server, "--experiment", experimentId, "--cycles", "0,1", "--json"], { SWAMP_TOKEN: token });
  assert.equal(overlap.code, 0, overlap.stderr);
  const printed = JSON.parse(overlap.stdout) as { jaccard: number; layers: unknown[] };
  const direct = await gql(`query($a: ID!) { maskOverlap(a: $a, cycleA: 0, cycleB: 1) { jaccard } }`, { a: experimentId });
  assert.equal(printed.jaccard, direct.data.maskOverlap.jaccard);

  const interpolation = await runSwamp(
    ["analyze", "interpolate", "--server", server, "--experiment", experimentId, "--cycle", "1", "--pairs", "average", "--points", "3", "--train-examples", "64", "--seed", "5", "--json", "--poll-ms", "100"],
    { SWAMP_TOKEN: token },
  );
  assert.equal(interpolation.code, 0, interpolation.stderr);
  const lines = interpolation.stdout.trim().split("\n").map((line) => JSON.parse(line));
  const stored = await gql(`query($id: ID!) { experiment(id: $id) { analyses(kind: "interpolate", first: 1) { input result } } }`, { id: experimentId });
  // The same input and seed as the earlier test's analyses: the same pairs, one JSON line each.
  assert.deepEqual(lines, stored.data.experiment.analyses[0].result.pairs);

  const bad = await runSwamp(["analyze", "interpolate", "--server", server, "--experiment", experimentId, "--cycle", "1", "--points", "1"], { SWAMP_TOKEN: token });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /input\.points/);
  const noToken = await runSwamp(["analyze", "plane", "--server", server, "--experiment", experimentId, "--cycle", "1"], { SWAMP_TOKEN: "" });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /token with write scope/);
});

test("an analysis the stored models cannot serve fails with the worker's reason, leaving the experiment alone", async () => {
  // Valid input (particle numbers are bounded only by the largest config), but this run has two particles.
  const created = await gql(CREATE, { experimentId, kind: "plane", input: { cycle: 1, models: ["particle:0", "particle:5", "average"], grid: 2, trainExamples: 16 } });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const failed = await waitForAnalysis(created.data.createAnalysis.id);
  assert.equal(failed.status, "FAILED");
  assert.match(failed.error ?? "", /particle 5/);
  const csv = await fetch(`${fleet.server.baseUrl}/export/analysis/${created.data.createAnalysis.id}.csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(csv.status, 409);
  const experiment = await gql(`query($id: ID!) { experiment(id: $id) { status error } }`, { id: experimentId });
  assert.deepEqual(experiment.data.experiment, { status: "COMPLETED", error: null });
});
