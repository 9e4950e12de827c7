import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import type { ExperimentConfig } from "../../schema/config.js";
import { experimentStep, type MetricPoint } from "../../schema/metrics.js";
import { unpackFloats, unpackIntegers } from "../../schema/packed-columns.js";
import { requireExperiment } from "../../server/services/experiments.js";
import { existingMetricWindows } from "../../server/live/metric-windows.js";
import type { MetricColumnSeries } from "../../server/live/metric-window.js";
import { columnSerialisations } from "../../server/live/column-fast-path.js";
import { CLOSE_TOO_SLOW, slowSocketCutOffs } from "../../server/live/live-sockets.js";
import { InProcessPubSub } from "../../transport/live-feed/in-process-pubsub.js";
import { createExperiment } from "../../server/services/experiments.js";
import { appendMetrics, readMetricHistory } from "../../server/services/metrics.js";
import { inTransaction } from "../../server/services/transaction.js";
import { connectRaw, subscribeRaw, waitForMessage } from "./support/raw-websocket.js";
import { eventually, sampleConfig, startTestServer, type TestServer } from "./support/test-server.js";

const CLIENTS = 300;
const HISTORY_POINTS = 2_000;
const LIVE_BATCHES = 4;
const LIVE_POINTS = 50;
const SUBSCRIBE = `subscription($id: ID!, $keys: [String!]) {
  metricColumns(experimentId: $id, keys: $keys) { history historyComplete series { cycle particle key steps values } }
}`;
const SUBSCRIBE_EVERY_COLUMN = `subscription($id: ID!) {
  metricColumns(experimentId: $id) { history historyComplete series { cycle particle key steps globalSteps epochs values times } }
}`;
const SUBSCRIBE_PACKED = `subscription($id: ID!) {
  metricColumns(experimentId: $id) { history historyComplete series { cycle particle key packedSteps packedGlobalSteps packedEpochs packedValues packedTimes } }
}`;

/** A series as the list fields carry it, which the packed fields must reproduce. */
type PlainSeries = MetricColumnSeries;
type PackedSeries = Pick<PlainSeries, "cycle" | "particle" | "key"> & Record<"packedSteps" | "packedGlobalSteps" | "packedEpochs" | "packedValues" | "packedTimes", string>;

interface ColumnBatch<Series = PlainSeries> {
  history: boolean;
  historyComplete: boolean;
  series: Series[];
}

/** One point as a client sees it: [step, globalStep, epoch, value, time]. */
type Point = [number, number, number, number, number];

function unpacked(series: PackedSeries): PlainSeries {
  return {
    cycle: series.cycle,
    particle: series.particle,
    key: series.key,
    steps: unpackIntegers(series.packedSteps),
    globalSteps: unpackIntegers(series.packedGlobalSteps),
    epochs: unpackFloats(series.packedEpochs),
    values: unpackFloats(series.packedValues),
    times: unpackIntegers(series.packedTimes),
  };
}

let t: TestServer;

before(async () => {
  // Enough connections for one token to hold every client; the other limits are the defaults.
  t = await startTestServer({ webSocketLimits: { maxConnectionsPerToken: CLIENTS + 10, maxBufferedBytes: 1024 * 1024 } }, "live-metric-columns");
});
after(async () => {
  await t.close();
});

const windows = () => existingMetricWindows(t.server.pubsub)?.stats() ?? { windows: 0, members: 0, historyReads: 0, historyBuilds: 0, liveBatches: 0 };
const pubsubSubscribers = () => (t.server.pubsub as InProcessPubSub).subscriberCount();

async function experimentWithHistory(name: string, points: number): Promise<string> {
  const id = (await inTransaction(t.server.services, (tx) => createExperiment(tx, { config: sampleConfig({ name }) }))).id;
  await append(id, 0, points);
  return id;
}

function append(id: string, from: number, count: number): Promise<unknown> {
  const points: MetricPoint[] = [];
  for (let step = from; step < from + count; step++) {
    // Irregular times, so the packed times are not one run.
    const time = 1_700_000_000_000 + 3 * step + (step % 7);
    points.push({ cycle: 0, particle: 0, key: "train/loss", step, epoch: step / 100, value: 1 / (step + 1), time });
    points.push({ cycle: 0, particle: 1, key: "train/loss", step, epoch: step / 100, value: 2 / (step + 1), time });
  }
  return inTransaction(t.server.services, (tx) => appendMetrics(tx, id, points));
}

/** Each series' points as stored, with the step on the experiment's one axis, in step order. */
async function storedPoints(id: string): Promise<Map<string, Point[]>> {
  const manager = t.server.dataSource.manager;
  const config = (await requireExperiment(manager, id)).config as unknown as ExperimentConfig;
  const stored = new Map<string, Point[]>();
  for await (const page of readMetricHistory(manager, id, {})) {
    for (const point of page) {
      const name = `${point.cycle}/${point.particle ?? null}/${point.key}`;
      if (!stored.has(name)) stored.set(name, []);
      stored.get(name)!.push([point.step, experimentStep(config, point), point.epoch, point.value, point.time]);
    }
  }
  return stored;
}

/**
 * Subscribes (to every column, plain or packed) and gathers each series' points until `expected`
 * points per series arrived; stays subscribed.
 */
function follow(client: Client, id: string, expected: number, packed: boolean): Promise<Map<string, Point[]>> {
  const points = new Map<string, Point[]>();
  let total = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${total} points within 60 s`)), 60_000);
    client.subscribe<{ metricColumns: ColumnBatch<PlainSeries | PackedSeries> }>(
      { query: packed ? SUBSCRIBE_PACKED : SUBSCRIBE_EVERY_COLUMN, variables: { id } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(JSON.stringify(errors)));
          for (const received of data!.metricColumns.series) {
            const series = packed ? unpacked(received as PackedSeries) : (received as PlainSeries);
            const name = `${series.cycle}/${series.particle}/${series.key}`;
            const seen = points.get(name) ?? [];
            for (let n = 0; n < series.steps.length; n++) seen.push([series.steps[n]!, series.globalSteps[n]!, series.epochs[n]!, series.values[n]!, series.times[n]!]);
            points.set(name, seen);
            total += series.steps.length;
          }
          if (total >= expected * 2) {
            clearTimeout(timer);
            resolve(points);
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => undefined,
      },
    );
  });
}

describe("metricColumns with hundreds of subscribers", () => {
  it("gives every client every point once, in order, plain or packed, from one history read, and stops all work when they leave", async () => {
    const id = await experimentWithHistory("crowd", HISTORY_POINTS);
    const serialisedBefore = columnSerialisations();
    const clients = Array.from({ length: CLIENTS }, () => t.wsClient());
    const expected = HISTORY_POINTS + LIVE_BATCHES * LIVE_POINTS;
    // Half the clients select the lists, half the packed columns (as the dashboard does).
    const received = Promise.all(clients.map((client, n) => follow(client, id, expected, n % 2 === 1)));
    // Live batches land while the clients are still joining and replaying.
    for (let batch = 0; batch < LIVE_BATCHES; batch++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await append(id, HISTORY_POINTS + batch * LIVE_POINTS, LIVE_POINTS);
    }
    const everyClient = await received;
    const stored = await storedPoints(id);
    assert.deepEqual([...stored.keys()].sort(), ["0/0/train/loss", "0/1/train/loss"]);
    for (const points of stored.values()) assert.deepEqual(points.map(([step]) => step), Array.from({ length: expected }, (_, step) => step));
    for (const [n, series] of everyClient.entries()) {
      assert.deepEqual([...series.keys()].sort(), [...stored.keys()].sort(), `client ${n}`);
      // Every field of every point, bit for bit, once and in order.
      for (const [name, seen] of series) assert.deepEqual(seen, stored.get(name), `client ${n} (${n % 2 === 1 ? "packed" : "lists"}), ${name}`);
    }
    const stats = windows();
    assert.equal(stats.historyReads, 1, "one history read for every subscriber of the window");
    // Each batch is serialised once per state and selection (two here), not once per client.
    assert.ok(columnSerialisations() - serialisedBefore < CLIENTS, `${columnSerialisations() - serialisedBefore} serialisations for ${CLIENTS} clients`);

    await Promise.all(clients.map((client) => client.dispose()));
    await eventually(() => windows().members === 0 && windows().windows === 0 && pubsubSubscribers() === 0, 10_000, "every member and the window to be released");
    const built = windows().liveBatches;
    await append(id, expected, LIVE_POINTS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(windows().liveBatches, built, "nothing is built for clients that left");
    assert.equal(windows().historyReads, 1);
  });

  it("cuts off a client that stops reading, with a clear reason, and releases its work", async () => {
    const id = await experimentWithHistory("slow", HISTORY_POINTS);
    const connection = await connectRaw(t.server.wsUrl, { token: t.adminToken });
    assert.equal(connection.kind, "open");
    if (connection.kind !== "open") return;
    connection.socket.pause();
    for (let n = 0; n < 40; n++) subscribeRaw(connection.socket, String(n), SUBSCRIBE, { id });
    const cutOffsBefore = slowSocketCutOffs();
    // The history alone may fill the socket; live batches pile on until the server gives up on it.
    for (let batch = 0; batch < 40 && slowSocketCutOffs() === cutOffsBefore; batch++) {
      await append(id, HISTORY_POINTS + batch * 500, 500);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(slowSocketCutOffs(), cutOffsBefore + 1, "the slow client is cut off");
    await eventually(() => windows().members === 0, 20_000, "the slow client's subscriptions to be dropped");
    connection.socket.resume();
    const closed = await connection.closed;
    assert.equal(closed.code, CLOSE_TOO_SLOW);
    assert.match(closed.reason, /^too slow: \d+ bytes buffered \(limit 1048576\)$/);
    await eventually(() => windows().windows === 0 && pubsubSubscribers() === 0, 10_000, "the window to close");
  });

  it("serves a selection with aliases and fragments through GraphQL execution, with the same points", async () => {
    const id = await experimentWithHistory("fragments", 30);
    const connection = await connectRaw(t.server.wsUrl, { token: t.adminToken });
    if (connection.kind !== "open") throw new Error(`not connected: ${JSON.stringify(connection)}`);
    subscribeRaw(connection.socket, "plain", SUBSCRIBE, { id });
    subscribeRaw(
      connection.socket,
      "fragment",
      `subscription($id: ID!) { m: metricColumns(experimentId: $id) { history historyComplete series { ...Columns } } } fragment Columns on MetricColumns { cycle particle key steps values }`,
      { id },
    );
    subscribeRaw(connection.socket, "packed", SUBSCRIBE_PACKED, { id });
    subscribeRaw(
      connection.socket,
      "packed-fragment",
      `subscription($id: ID!) { metricColumns(experimentId: $id) { history historyComplete series { ...Packed } } } fragment Packed on MetricColumns { cycle particle key packedSteps packedGlobalSteps packedEpochs packedValues packedTimes }`,
      { id },
    );
    const plain = await waitForMessage(connection, (message) => message.id === "plain" && message.type === "next");
    const fragment = await waitForMessage(connection, (message) => message.id === "fragment" && message.type === "next");
    assert.equal(plain.payload.data.metricColumns.series[0].steps.length, 30);
    assert.deepEqual(fragment.payload.data.m, plain.payload.data.metricColumns);
    // Packed columns through GraphQL execution (the field resolvers) are the fast path's, and decode to the lists.
    const packed = await waitForMessage(connection, (message) => message.id === "packed" && message.type === "next");
    const packedFragment = await waitForMessage(connection, (message) => message.id === "packed-fragment" && message.type === "next");
    assert.deepEqual(packedFragment.payload.data, packed.payload.data);
    const packedSeries = (packed.payload.data.metricColumns as ColumnBatch<PackedSeries>).series.map(unpacked);
    assert.deepEqual(
      packedSeries.map((series) => ({ cycle: series.cycle, particle: series.particle, key: series.key, steps: series.steps, values: series.values })),
      plain.payload.data.metricColumns.series,
    );
    connection.socket.close();
    await eventually(() => windows().windows === 0, 10_000, "the window to close");
  });

  it("refuses a token's subscription past the per-connection limit cleanly, the others still served", async () => {
    const id = await experimentWithHistory("many-charts", 10);
    const connection = await connectRaw(t.server.wsUrl, { token: t.adminToken });
    if (connection.kind !== "open") throw new Error(`not connected: ${JSON.stringify(connection)}`);
    for (let n = 0; n < 51; n++) subscribeRaw(connection.socket, String(n), SUBSCRIBE, { id });
    const refusal = await waitForMessage(connection, (message) => message.type === "error");
    assert.equal(refusal.id, "50");
    assert.equal(refusal.payload[0].extensions.code, "TOO_MANY_SUBSCRIPTIONS");
    assert.match(refusal.payload[0].message, /at most 50 operations at a time on one connection/);
    for (let n = 0; n < 50; n++) await waitForMessage(connection, (message) => message.id === String(n) && message.type === "next" && message.payload.data.metricColumns.historyComplete === true);
    assert.equal(connection.socket.readyState, connection.socket.OPEN);
    // Unsubscribing one ends its member at once; the connection and the others stay.
    const members = windows().members;
    connection.socket.send(JSON.stringify({ id: "0", type: "complete" }));
    await eventually(() => windows().members === members - 1, 5_000, "the unsubscribed member to leave");
    connection.socket.close();
    await eventually(() => windows().windows === 0, 10_000, "the window to close");
  });
});
