/**
 * NATS users by role, on a nats-server of the test's own configured as deploy/nats-server.conf:
 * a server connected as the server user and a `swamp worker` connected as the worker user train an
 * experiment to the end, and the worker's credentials cannot delete streams, delete or purge the
 * artifact bucket, read the results stream, delete queued tasks or publish on the live feed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { fleetNames } from "../../schema/subjects.js";
import { topicRoutingKey } from "../../schema/subjects.js";
import { connectToNats } from "../../transport/nats/connection.js";
import { createNatsTransport } from "../../transport/nats/nats-transport.js";
import { renderDeployNatsConfig, renderNatsAuthorization } from "../../transport/nats/roles.js";
import { CaptureLogger } from "../transport/support/capture-logger.js";
import { freePort, NATS_SERVER_BINARY, NatsServerProcess } from "../transport/support/nats-server-process.js";
import { startFleet, startWorkerProcess, tinyConfig, type Fleet, type WorkerProcess } from "./support/fleet.js";

const DEPLOY = resolve(__dirname, "../../../deploy");
const names = fleetNames("");
const SERVER = { user: "swamp-server", password: "server-secret" };
const WORKER = { user: "swamp-worker", password: "worker-secret" };

test("deploy/nats-server.conf and its copy in deploy/kubernetes.yaml are the rendering of transport/nats/roles.ts", () => {
  const expected = renderDeployNatsConfig(names);
  assert.equal(readFileSync(join(DEPLOY, "nats-server.conf"), "utf8"), expected, "regenerate: npx tsc -p . && node dist/server/tools/print-nats-config.js");
  const indented = expected
    .split("\n")
    .map((line) => (line === "" ? line : `    ${line}`))
    .join("\n");
  assert.ok(readFileSync(join(DEPLOY, "kubernetes.yaml"), "utf8").includes(`  nats-server.conf: |\n${indented}`), "copy deploy/nats-server.conf into the swamp-nats ConfigMap");
  const compose = readFileSync(join(DEPLOY, "docker-compose.yml"), "utf8");
  assert.match(compose, /\.\/nats-server\.conf:\/etc\/nats\/nats-server\.conf/);
  assert.match(compose, /NATS_USER: swamp-worker/);
});

test("nats-server starts from deploy/nats-server.conf and takes both users' passwords from its environment", async () => {
  const dir = mkdtempSync(join(tmpdir(), "swamp-nats-deploy-"));
  const [port, monitorPort] = [await freePort(), await freePort()];
  // The deployed file as is, but on free loopback ports and a temporary store.
  const config = readFileSync(join(DEPLOY, "nats-server.conf"), "utf8")
    .replace(/^port: 4222$/m, `port: ${port}`)
    .replace(/^http_port: 8222$/m, `http_port: ${monitorPort}`)
    .replace('store_dir: "/data"', `store_dir: ${JSON.stringify(join(dir, "store"))}`);
  writeFileSync(join(dir, "nats-server.conf"), config);
  const child = spawn(NATS_SERVER_BINARY, ["-c", join(dir, "nats-server.conf"), "-a", "127.0.0.1"], {
    env: { ...process.env, SWAMP_NATS_SERVER_PASSWORD: SERVER.password, SWAMP_NATS_WORKER_PASSWORD: WORKER.password },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const url = `nats://127.0.0.1:${port}`;
    const logger = new CaptureLogger();
    for (const credentials of [SERVER, WORKER]) {
      const connection = await connectToNats({ url, ...credentials, waitForServerMs: 10_000 }, logger);
      await connection.close();
    }
    await assert.rejects(connectToNats({ url, user: WORKER.user, password: SERVER.password }, logger), { name: "NatsAuthError" });
  } finally {
    child.kill();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("NATS users by role", () => {
  let nats: NatsServerProcess;
  let fleet: Fleet;
  let worker: WorkerProcess;
  let asWorker: NatsConnection;
  let workerJsm: JetStreamManager;
  const logger = new CaptureLogger();

  before(async () => {
    const configFile = join(tmpdir(), `swamp-nats-roles-${process.pid}.conf`);
    writeFileSync(
      configFile,
      renderNatsAuthorization(names, [
        { role: "server", user: SERVER.user, password: JSON.stringify(SERVER.password) },
        { role: "worker", user: WORKER.user, password: JSON.stringify(WORKER.password) },
      ]),
    );
    nats = await NatsServerProcess.start(["-c", configFile]);
    rmSync(configFile);
    // Before any server ran, the fleet's streams do not exist, and a worker may not create them.
    await assert.rejects(
      createNatsTransport({ url: nats.url, ...WORKER, logger }),
      (error: Error) => error.name === "NatsConfigurationError" && /stream SWAMP_TASKS does not exist, and this NATS user may not create it: start the swamp server/.test(error.message),
    );
    fleet = await startFleet({ label: "roles", natsUrl: nats.url, natsAuth: SERVER, namespace: "" });
    worker = startWorkerProcess(fleet, "roles-worker", { NATS_USER: WORKER.user, NATS_PASSWORD: WORKER.password, SWAMP_NATS_NAMESPACE: "" });
    asWorker = await connectToNats({ url: nats.url, ...WORKER }, logger);
    workerJsm = await jetstreamManager(asWorker);
  });

  after(async () => {
    await worker?.kill("SIGTERM");
    await asWorker?.close();
    await fleet?.close();
    await nats?.dispose();
  });

  test("a worker connected as the worker user trains an experiment to the end for a server connected as the server user", async () => {
    const id = await fleet.submit(tinyConfig({ name: "fleet-roles" }));
    assert.equal(await fleet.waitForStatus(id, ["completed", "failed"]), "completed", (await fleet.experiment(id)).error ?? "");
    const points = (await fleet.server.server.dataSource.query(`SELECT coalesce(sum(point_count), 0)::int AS n FROM metric_series WHERE experiment_id = $1`, [id])) as Array<{ n: number }>;
    assert.ok(points[0]!.n > 0, "the worker's metric batches were stored");
    const workers = await fleet.gql<{ workers: Array<{ id: string }> }>(`{ workers { id } }`);
    assert.ok(workers.data?.workers.some((w) => w.id === "roles-worker"), "the worker's heartbeats were recorded");
    assert.doesNotMatch(worker.stderr(), /Permissions Violation/);
  });

  const refused = async (what: string, attempt: () => Promise<unknown>) => {
    await assert.rejects(attempt(), /Permissions Violation/, `${what} must be refused`);
  };

  test("the worker user cannot delete or purge streams or the artifact bucket", async () => {
    for (const stream of [names.tasksStream, names.resultsStream, names.exhaustedStream]) {
      await refused(`deleting ${stream}`, () => workerJsm.streams.delete(stream));
      await refused(`purging ${stream}`, () => workerJsm.streams.purge(stream));
    }
    await refused("purging the artifact bucket", () => workerJsm.streams.purge(`OBJ_${names.artifactsBucket}`));
    await refused("destroying the artifact bucket", async () => (await new Objm(asWorker).open(names.artifactsBucket)).destroy());
    await refused("deleting a queued task", () => workerJsm.streams.deleteMessage(names.tasksStream, 1));
    await refused("creating a stream", () => workerJsm.streams.add({ name: "ROGUE", subjects: ["rogue.>"] }));
    const serverJsm = await jetstreamManager(fleet.transport.connection);
    for (const stream of [names.tasksStream, names.resultsStream, names.exhaustedStream, `OBJ_${names.artifactsBucket}`]) {
      assert.equal((await serverJsm.streams.info(stream)).config.name, stream, `${stream} is still there`);
    }
  });

  test("the worker user cannot read the results stream", async () => {
    await refused("pulling from the results consumer", () => asWorker.request(`$JS.API.CONSUMER.MSG.NEXT.${names.resultsStream}.${names.resultsConsumer}`, "1", { timeout: 2_000 }));
    await refused("adding a consumer on the results stream", () => workerJsm.consumers.add(names.resultsStream, { durable_name: "rogue" }));
    await refused("reading a stored result", () => workerJsm.streams.getMessage(names.resultsStream, { seq: 1 }));
    await refused("reading a stored result through JetStream", async () => (await jetstream(asWorker).consumers.get(names.resultsStream)).next({ expires: 1_000 }));
  });

  test("the worker user cannot publish on the live feed or to the cancel subject", async () => {
    const experimentId = "00000000-0000-4000-8000-000000000000";
    const seen: string[] = [];
    const note = (_error: Error | null, message: { subject: string }) => void seen.push(message.subject);
    const liveFeed = fleet.transport.connection.subscribe(topicRoutingKey("experiment-updated", experimentId), { callback: note });
    const cancels = fleet.transport.connection.subscribe(names.cancelSubject, { callback: note });
    const sentinel = fleet.transport.connection.subscribe(names.heartbeatSubject, { callback: note });
    await fleet.transport.connection.flush();
    asWorker.publish(topicRoutingKey("experiment-updated", experimentId), JSON.stringify({ experimentId, status: "completed", updatedAt: new Date().toISOString() }));
    asWorker.publish(names.cancelSubject, JSON.stringify({ experimentId, time: Date.now() }));
    // One connection's messages arrive in order: once the sentinel is in, the others would be too.
    asWorker.publish(names.heartbeatSubject, "sentinel");
    const deadline = Date.now() + 10_000;
    while (!seen.includes(names.heartbeatSubject) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    liveFeed.unsubscribe();
    cancels.unsubscribe();
    sentinel.unsubscribe();
    assert.deepEqual(seen, [names.heartbeatSubject]);
  });
});
