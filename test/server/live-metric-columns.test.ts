import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import type { MetricPoint } from "../../schema/metrics.js";
import { existingMetricWindows } from "../../server/live/metric-windows.js";
import { columnSerialisations } from "../../server/live/column-fast-path.js";
import { CLOSE_TOO_SLOW, slowSocketCutOffs } from "../../server/live/live-sockets.js";
import { InProcessPubSub } from "../../transport/live-feed/in-process-pubsub.js";
import { createExperiment } from "../../server/services/experiments.js";
import { appendMetrics } from "../../server/services/metrics.js";
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

interface ColumnBatch {
  history: boolean;
  historyComplete: boolean;
  series: Array<{ cycle: number; particle: number | null; key: string; steps: number[]; values: number[] }>;
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
    points.push({ cycle: 0, particle: 0, key: "train/loss", step, epoch: step / 100, value: 1 / (step + 1), time: 1_700_000_000_000 + step });
    points.push({ cycle: 0, particle: 1, key: "train/loss", step, epoch: step / 100, value: 2 / (step + 1), time: 1_700_000_000_000 + step });
  }
  return inTransaction(t.server.services, (tx) => appendMetrics(tx, id, points));
}

/** Subscribes and gathers each series' steps until `expected` points per series arrived; stays subscribed. */
function follow(client: Client, id: string, expected: number): Promise<Map<string, number[]>> {
  const steps = new Map<string, number[]>();
  let total = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${total} points within 60 s`)), 60_000);
    client.subscribe<{ metricColumns: ColumnBatch }>(
      { query: SUBSCRIBE, variables: { id } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(JSON.stringify(errors)));
          for (const series of data!.metricColumns.series) {
            const name = `${series.cycle}/${series.particle}/${series.key}`;
            const seen = steps.get(name) ?? [];
            seen.push(...series.steps);
            steps.set(name, seen);
            total += series.steps.length;
          }
          if (total >= expected * 2) {
            clearTimeout(timer);
            resolve(steps);
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => undefined,
      },
    );
  });
}

describe("metricColumns with hundreds of subscribers", () => {
  it("gives every client every point once, in order, from one history read, and stops all work when they leave", async () => {
    const id = await experimentWithHistory("crowd", HISTORY_POINTS);
    const serialisedBefore = columnSerialisations();
    const clients = Array.from({ length: CLIENTS }, () => t.wsClient());
    const expected = HISTORY_POINTS + LIVE_BATCHES * LIVE_POINTS;
    const received = Promise.all(clients.map((client) => follow(client, id, expected)));
    // Live batches land while the clients are still joining and replaying.
    for (let batch = 0; batch < LIVE_BATCHES; batch++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await append(id, HISTORY_POINTS + batch * LIVE_POINTS, LIVE_POINTS);
    }
    const everyClient = await received;
    const steps = Array.from({ length: expected }, (_, step) => step);
    for (const series of everyClient) {
      assert.deepEqual([...series.keys()].sort(), ["0/0/train/loss", "0/1/train/loss"]);
      for (const seen of series.values()) assert.deepEqual(seen, steps);
    }
    const stats = windows();
    assert.equal(stats.historyReads, 1, "one history read for every subscriber of the window");
    // Each batch is serialised once per state, not once per client.
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
    const plain = await waitForMessage(connection, (message) => message.id === "plain" && message.type === "next");
    const fragment = await waitForMessage(connection, (message) => message.id === "fragment" && message.type === "next");
    assert.equal(plain.payload.data.metricColumns.series[0].steps.length, 30);
    assert.deepEqual(fragment.payload.data.m, plain.payload.data.metricColumns);
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
