/**
 * `swamp server` with NATS_URL and some `swamp worker`s (the README's commands) make a fleet: the
 * server runs the coordinator, so an experiment created over GraphQL is trained by the workers.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { fleetNames } from "../../schema/subjects.js";
import { createScratchDatabase } from "../../server/db/scratch-database.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { deleteFleetResources } from "../../transport/nats/fleet-resources.js";
import { tempDir } from "../helpers/cli.js";
import { TEST_ADMIN_DATABASE_URL } from "../server/support/test-server.js";
import { CaptureLogger } from "../transport/support/capture-logger.js";
import { NATS_TEST_URL, uniqueNamespace } from "../transport/support/implementations.js";
import { sleep } from "../transport/support/waiting.js";
import { startWorkerProcess, tinyConfig } from "./support/fleet.js";
import { startServerProcess } from "./support/server-process.js";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test("swamp server with NATS_URL coordinates: an experiment created over GraphQL is trained by a swamp worker to COMPLETED", async () => {
  const namespace = uniqueNamespace();
  cleanups.push(async () => {
    const admin = await connectToNats({ url: NATS_TEST_URL }, new CaptureLogger());
    await deleteFleetResources(admin, await jetstreamManager(admin), fleetNames(namespace)).catch(() => undefined);
    await admin.close();
  });
  const database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "server_fleet");
  cleanups.push(() => database.drop());
  const home = tempDir("server-fleet");
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const adminToken = "fleet-test-admin-token-0123456789";
  const server = await startServerProcess(
    { NATS_URL: NATS_TEST_URL, SWAMP_NATS_NAMESPACE: namespace, DATABASE_URL: database.url, SWAMP_HOME: home, SWAMP_ADMIN_TOKEN: adminToken },
    cleanups,
  );
  assert.match(server.output(), /^tasks: coordinator on NATS at /m);
  const worker = startWorkerProcess({ namespace, natsUrl: NATS_TEST_URL }, "server-fleet-worker");
  cleanups.push(() => worker.kill("SIGKILL"));

  const created = await server.gql<{ createExperiment: { id: string } }>(
    `mutation($config: JSONObject!) { createExperiment(config: $config) { id } }`,
    { config: tinyConfig({ name: "server-fleet", seed: 11 }) },
    adminToken,
  );
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const id = created.data!.createExperiment.id;
  let status = "";
  for (let waited = 0; waited < 120_000 && !["COMPLETED", "FAILED", "CANCELLED"].includes(status); waited += 250) {
    const read = await server.gql<{ experiment: { status: string; error: string | null } }>(`query($id: ID!) { experiment(id: $id) { status error } }`, { id }, adminToken);
    status = read.data?.experiment.status ?? "";
    if (status === "FAILED") assert.fail(`the experiment failed: ${read.data!.experiment.error}`);
    await sleep(250);
  }
  assert.equal(status, "COMPLETED", `${server.output()}\nworker:\n${worker.stderr()}`);

  await worker.kill("SIGTERM");
  server.child.kill("SIGTERM");
  const exit = await server.done;
  assert.equal(exit.code, 0, server.output());
  assert.match(server.output(), /SIGTERM: shutting down[\s\S]*\nstopped\n/);
});
