/**
 * The NATS-backed live feed: events published by one server replica reach the subscribers of
 * another, large point batches travel in parts, and subscriptions are released.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { MetricPoint } from "../../schema/metrics.js";
import { startFleetServer, type RunningFleetServer } from "../../server/fleet-server.js";
import { NatsPubSub } from "../../transport/nats/nats-pubsub.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { createNatsTransport } from "../../transport/nats/nats-transport.js";
import type { NatsTransport } from "../../transport/nats/nats-transport.js";
import { collect } from "../server/support/test-server.js";
import { CaptureLogger } from "../transport/support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "../transport/support/implementations.js";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, tinyConfig, type Fleet } from "./support/fleet.js";

describe("NatsPubSub", () => {
  const connections: Array<Awaited<ReturnType<typeof connectToNats>>> = [];
  const pubsubs: NatsPubSub[] = [];
  const open = async (namespace: string) => {
    const connection = await connectToNats({ url: NATS_TEST_URL }, new CaptureLogger());
    connections.push(connection);
    const pubsub = new NatsPubSub(connection, { namespace, log: () => undefined });
    pubsubs.push(pubsub);
    return pubsub;
  };
  after(async () => {
    for (const pubsub of pubsubs) await pubsub.close();
    for (const connection of connections) await connection.close();
  });

  test("an event published on one connection reaches subscribers on another of the same namespace only", async () => {
    const namespace = uniqueNamespace();
    const [a, b, other] = [await open(namespace), await open(namespace), await open(uniqueNamespace())];
    const experimentId = randomUUID();
    const onB = await b.subscribe("cycle-completed", experimentId);
    const onOther = await other.subscribe("cycle-completed", experimentId);
    await a.publish("cycle-completed", experimentId, { experimentId, cycleIndex: 3 });
    assert.deepEqual(await onB.next(), { value: { experimentId, cycleIndex: 3 }, done: false });
    const nothing = await Promise.race([onOther.next().then(() => "event"), new Promise((resolve) => setTimeout(() => resolve("nothing"), 300))]);
    assert.equal(nothing, "nothing", "another namespace is another deployment");
    await onB.return();
    await onOther.return();
    assert.equal(b.sharedSubscriptionCount(), 0, "the NATS subscription is released with its last subscriber");
  });

  test("a batch of points larger than a NATS message arrives whole, in parts, in order", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [await open(namespace), await open(namespace)];
    const experimentId = randomUUID();
    const points: MetricPoint[] = Array.from({ length: 30_000 }, (_, step) => ({ cycle: 1, particle: 2, key: "train/loss-with-a-long-name", step, epoch: step / 100, value: Math.sin(step), time: 1_700_000_000_000 + step }));
    const subscription = await b.subscribe("metrics-appended", experimentId);
    await a.publish("metrics-appended", experimentId, { experimentId, points });
    const received: MetricPoint[] = [];
    let parts = 0;
    while (received.length < points.length) {
      const step = await subscription.next();
      assert.equal(step.done, false);
      received.push(...step.value!.points);
      parts++;
    }
    assert.ok(parts > 1, "the batch was split");
    assert.deepEqual(received, points);
    await subscription.return();
  });
});

describe("two server replicas over one database and one NATS namespace", () => {
  let fleet: Fleet;
  let replicaTransport: NatsTransport;
  let replica: RunningFleetServer;
  const home = mkdtempSync(join(tmpdir(), "swamp-replica-"));
  before(async () => {
    fleet = await startFleet({ label: "replicas" });
    replicaTransport = await createNatsTransport({ url: NATS_TEST_URL, namespace: fleet.namespace, logger: new CaptureLogger(), pullExpiresMs: 1_000 });
    replica = await startFleetServer({ transport: replicaTransport, databaseUrl: fleet.database.url, port: 0, swampHome: home, log: () => undefined, coordinator: { resumeSettleMs: 0 } });
  });
  after(async () => {
    await replica.close();
    await replicaTransport.close();
    await fleet.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("a subscriber of one replica sees the changes made through the other", async () => {
    const id = await fleet.submit(tinyConfig({ name: "fleet-replicas" }));
    const client = createClient({ url: replica.server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${fleet.adminToken}` }, retryAttempts: 0, lazy: true });
    try {
      const updates = collect<{ experimentUpdated: { tags: string[] } }>(client, `subscription($id: ID!) { experimentUpdated(id: $id) { tags } }`, { id }, 2);
      await waitFor("the replica to hold a live subscription", () => (replica.pubsub as NatsPubSub).sharedSubscriptionCount() === 1, 5_000);
      const tagged = await fleet.gql(`mutation($id: ID!) { setTags(id: $id, tags: ["seen-elsewhere"]) { id } }`, { id });
      assert.equal(tagged.errors, undefined);
      const received = await updates.results;
      assert.deepEqual(received[1]!.experimentUpdated.tags, ["seen-elsewhere"]);
    } finally {
      await client.dispose();
    }
  });
});
