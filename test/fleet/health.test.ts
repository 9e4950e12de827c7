/**
 * Liveness and readiness: /healthz answers while the process runs, whatever its dependencies do (so
 * Kubernetes restarts nothing on a database or NATS blip); /readyz says 503 and names what is
 * unavailable while PostgreSQL or NATS is, and 200 again once they are back.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { NatsServerProcess } from "../transport/support/nats-server-process.js";
import { waitFor } from "../transport/support/waiting.js";
import { startFleet, type Fleet } from "./support/fleet.js";

let nats: NatsServerProcess;
let fleet: Fleet;

before(async () => {
  nats = await NatsServerProcess.start();
  fleet = await startFleet({ label: "health", natsUrl: nats.url });
});

after(async () => {
  await fleet.close();
  await nats.dispose();
});

async function probe(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${fleet.server.server.baseUrl}${path}`);
  return { status: response.status, body: await response.text() };
}

test("ready with the database and NATS up; not ready, naming NATS, while NATS is down; alive throughout", async () => {
  assert.deepEqual(await probe("/healthz"), { status: 200, body: "ok\n" });
  assert.deepEqual(await probe("/readyz"), { status: 200, body: "ready\n" });
  await nats.kill();
  await waitFor("/readyz to report NATS unavailable", async () => (await probe("/readyz")).status === 503);
  assert.deepEqual(await probe("/readyz"), { status: 503, body: "not ready: nats unavailable\n" });
  assert.deepEqual(await probe("/healthz"), { status: 200, body: "ok\n" });
  await nats.restart();
  await waitFor("/readyz to be ready again", async () => (await probe("/readyz")).status === 200, 20_000);
});

test("not ready, naming the database, while PostgreSQL refuses it; alive throughout", async () => {
  // Ending the server's sessions and refusing new ones is what a database restart looks like to it.
  const name = fleet.database.name;
  await asAdmin(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
  try {
    await asAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    await waitFor("/readyz to report the database unavailable", async () => (await probe("/readyz")).status === 503);
    assert.deepEqual(await probe("/readyz"), { status: 503, body: "not ready: database unavailable\n" });
    assert.deepEqual(await probe("/healthz"), { status: 200, body: "ok\n" });
  } finally {
    await asAdmin(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS true`);
  }
  await waitFor("/readyz to be ready again", async () => (await probe("/readyz")).status === 200, 20_000);
});

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
